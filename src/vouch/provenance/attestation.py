"""One attestation verified against one identity, under the command's Sigstore ``Trust``.

pypi-attestations' own ``Attestation.verify`` builds a verifier of its own at every call and cannot
be given a root, so the DSSE envelope is verified here by the ``Trust``'s sigstore ``Verifier``
(the one root that check, publish and provenance share), and the statement is checked the way
pypi-attestations checks it: one subject, its name parsed (not string-compared), its sha256, a
known predicate type.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
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
from sigstore.verify.policy import VerificationPolicy

from vouch.errors import VerificationError
from vouch.provenance.report import one_line
from vouch.trust import Trust

IN_TOTO_PAYLOAD = "application/vnd.in-toto+json"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"
_BUILD_CONFIG_URI = "1.3.6.1.4.1.57264.1.18"
SigstoreIdentity = Publisher | VerificationPolicy


@dataclass(frozen=True)
class Verified:
    """An attestation that verified: its predicate type and the identity in its certificate."""

    predicate_type: str
    signer: str


def verify_attestation(
    trust: Trust, attestation: Attestation, identity: SigstoreIdentity, dist: Distribution
) -> Verified:
    """Verify ``attestation`` for ``dist`` against ``identity``; VerificationError says why not.

    A root that cannot be loaded is a CheckError (from ``Trust``), never a verdict."""
    verifier = trust.verifier()
    try:
        payload_type, payload = verifier.verify_dsse(attestation.to_bundle(), _policy(identity))
        predicate_type = check_statement(payload_type, payload, dist)
    except (AttestationError, SigstoreError, ValueError, x509.ExtensionNotFound) as exc:
        raise VerificationError(_reason(trust, exc, attestation)) from exc
    return Verified(predicate_type, _signer(attestation))


def _reason(trust: Trust, exc: Exception, attestation: Attestation) -> str:
    reason = one_line(exc).removeprefix("Verification failed: ")
    if "Build Config URI" in reason and (wanted := re.search(r"expected Trusted Publisher \((.*)\)", reason)):
        uri = _claims(attestation).get(_BUILD_CONFIG_URI, "(none)")
        reason = f"Certificate's Build Config URI {uri} does not match the expected workflow ({wanted[1]})"
    if "certificate chain" in reason and trust.pinned is None:
        other = "production, drop --staging" if trust.staging else "staging, pass --staging"
        reason += f" (the certificate does not chain to this root; if it was made with Sigstore {other})"
    return reason


def _policy(identity: SigstoreIdentity) -> VerificationPolicy:
    # pypi-attestations turns a publisher into a sigstore policy with this (private) method and has
    # no public one; these are the policies that Attestation.verify applies. PRIVATE API: checked
    # against pypi-attestations 0.0.26-0.0.30, capped <0.0.31 in pyproject.toml (a test checks it).
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
