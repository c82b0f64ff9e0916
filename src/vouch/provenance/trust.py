"""The Sigstore trust root that attestation certificates must chain to, and one attestation's check.

Production and staging are sigstore's own roots (bundled with sigstore-python, or its TUF cache
when sigstore has refreshed it), used offline: a PEP 740 attestation carries its Rekor entry with
the integrated time and inclusion proof, so no service is contacted. ``--trusted-root FILE`` pins
a ``trusted_root.json`` instead. pypi-attestations cannot be given a root, so with a pinned one the
DSSE envelope is verified by sigstore's ``Verifier`` and the statement is checked here the way
pypi-attestations checks it: one subject, its name parsed (not string-compared), its sha256, a
known predicate type.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from packaging.utils import parse_sdist_filename, parse_wheel_filename
from pypi_attestations import (
    Attestation,
    AttestationError,
    AttestationType,
    Distribution,
    Publisher,
)
from sigstore.errors import Error as SigstoreError
from sigstore.models import TrustedRoot
from sigstore.verify import Verifier
from sigstore.verify.policy import VerificationPolicy

from vouch.errors import CheckError, UsageError, VerificationError
from vouch.provenance.report import one_line

IN_TOTO_PAYLOAD = "application/vnd.in-toto+json"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"
_BUILD_CONFIG_URI = "1.3.6.1.4.1.57264.1.18"
SigstoreIdentity = Publisher | VerificationPolicy


@dataclass(frozen=True)
class Verified:
    """An attestation that verified: its predicate type and the identity in its certificate."""

    predicate_type: str
    signer: str


class TrustRoot:
    """Sigstore production or staging (offline), or a pinned ``trusted_root.json``."""

    def __init__(self, *, staging: bool = False, pinned: Path | None = None) -> None:
        if staging and pinned is not None:
            raise UsageError("--staging and --trusted-root exclude each other: give the root to use")
        self.staging = staging
        self.pinned = pinned
        self._verifier = _pinned_verifier(pinned) if pinned is not None else None

    @property
    def name(self) -> str:
        if self.pinned is not None:
            return f"pinned trusted root {self.pinned}"
        return f"Sigstore {'staging' if self.staging else 'production'} (sigstore's root, offline)"

    def verify(self, attestation: Attestation, identity: SigstoreIdentity, dist: Distribution) -> Verified:
        """Verify ``attestation`` for ``dist`` against ``identity``; VerificationError says why not."""
        try:
            with _quiet_offline_notice():
                if self._verifier is None:
                    predicate_type, _ = attestation.verify(identity, dist, staging=self.staging, offline=True)
                else:
                    predicate_type = _verify_pinned(self._verifier, attestation, identity, dist)
        except OSError as exc:  # sigstore copies its bundled root into its cache folder
            raise CheckError(f"cannot read sigstore's trust root: {exc}") from exc
        except (AttestationError, SigstoreError, ValueError, x509.ExtensionNotFound) as exc:
            raise VerificationError(self._reason(exc, attestation)) from exc
        return Verified(predicate_type, _signer(attestation))

    def _reason(self, exc: Exception, attestation: Attestation) -> str:
        reason = one_line(exc).removeprefix("Verification failed: ")
        if "Build Config URI" in reason and (
            wanted := re.search(r"expected Trusted Publisher \((.*)\)", reason)
        ):
            uri = _claims(attestation).get(_BUILD_CONFIG_URI, "(none)")
            reason = (
                f"Certificate's Build Config URI {uri} does not match the expected workflow ({wanted[1]})"
            )
        if "certificate chain" in reason and self.pinned is None:
            other = "production, drop --staging" if self.staging else "staging, pass --staging"
            reason += f" (the certificate does not chain to this root; if it was made with Sigstore {other})"
        return reason


def _verify_pinned(
    verifier: Verifier, attestation: Attestation, identity: SigstoreIdentity, dist: Distribution
) -> str:
    payload_type, payload = verifier.verify_dsse(attestation.to_bundle(), _policy(identity))
    return check_statement(payload_type, payload, dist)


def _policy(identity: SigstoreIdentity) -> VerificationPolicy:
    # pypi-attestations turns a publisher into a sigstore policy with this (private) method and has
    # no public one; these are the policies that Attestation.verify applies.
    as_policy = getattr(identity, "_as_policy", None)
    if as_policy is None:
        return identity  # type: ignore[return-value]  # not a publisher: a sigstore policy already
    policy: VerificationPolicy = as_policy()
    return policy


def check_statement(payload_type: str, payload: bytes, dist: Distribution) -> str:
    """The checks pypi-attestations makes on a verified DSSE payload; returns the predicate type."""
    if payload_type != IN_TOTO_PAYLOAD:
        raise ValueError(f"expected JSON envelope, got {payload_type}")
    try:
        statement: Any = json.loads(payload)
    except ValueError as exc:
        raise ValueError(f"invalid statement: {exc}") from exc
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_V1:
        raise ValueError("invalid statement: not an in-toto Statement v1")
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or len(subjects) != 1 or not isinstance(subjects[0], dict):
        raise ValueError("too many subjects in statement (must be exactly one)")
    name, digest = subjects[0].get("name"), subjects[0].get("digest")
    if not isinstance(name, str) or not name:
        raise ValueError("invalid subject: missing name")
    if _parsed_name(name) != _parsed_name(dist.name):
        raise ValueError(f"subject does not match distribution name: {name} != {dist.name}")
    if not isinstance(digest, dict) or digest.get("sha256") != dist.digest:
        raise ValueError("subject does not match distribution digest")
    predicate_type = statement.get("predicateType")
    if predicate_type not in {kind.value for kind in AttestationType}:
        raise ValueError(f"unknown attestation type: {predicate_type}")
    return str(predicate_type)


def _parsed_name(filename: str) -> tuple[object, ...]:
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)
        if filename.endswith((".tar.gz", ".zip")):
            return parse_sdist_filename(filename)
    except ValueError as exc:
        raise ValueError(f"invalid subject: {exc}") from exc
    raise ValueError(f"invalid subject: unknown distribution format: {filename}")


def _pinned_verifier(path: Path) -> Verifier:
    try:
        return Verifier(trusted_root=TrustedRoot.from_file(str(path)))
    except OSError as exc:
        raise UsageError(f"cannot read the trusted root {path}: {exc.strerror}") from exc
    except (SigstoreError, ValueError) as exc:
        raise UsageError(f"{path} is not a Sigstore trusted_root.json: {one_line(exc)}") from exc


def _claims(attestation: Attestation) -> dict[str, str]:
    try:
        return attestation.certificate_claims
    except ValueError:
        return {}


def _signer(attestation: Attestation) -> str:
    """The certificate's subject alternative name: a workflow URI at a ref, or an email."""
    cert = x509.load_der_x509_certificate(attestation.verification_material.certificate)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    values = [*names.get_values_for_type(x509.UniformResourceIdentifier)]
    values += names.get_values_for_type(x509.RFC822Name)
    return values[0] if values else "(no subject alternative name)"


class _DropOfflineNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("TUF repository is loaded in offline mode")


@contextmanager
def _quiet_offline_notice() -> Iterator[None]:
    """sigstore logs that it runs offline at every verification; vouch says so once, in its report."""
    logger = logging.getLogger("sigstore._internal.tuf")
    notice = _DropOfflineNotice()
    logger.addFilter(notice)
    try:
        yield
    finally:
        logger.removeFilter(notice)
