"""Check one distribution's PEP 740 attestations, or its provenance object, against the expected publisher.

Every attestation must verify; none is skipped. A provenance object (what an index serves)
also carries, per bundle, the publisher the index claims: it must agree with the certificate
(it is verified against it as a second identity), and its environment, which no certificate
holds, is compared with the expected one and reported as a claim.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError
from pypi_attestations import Attestation, AttestationError, Distribution, Provenance, Publisher
from sigstore.errors import Error as SigstoreError
from sigstore.models import Bundle

from vouch.errors import UsageError, VerificationError
from vouch.provenance.attestation import SigstoreIdentity, verify_attestation
from vouch.provenance.publisher import ExpectedPublisher, claimed_environment, describe_claim
from vouch.provenance.report import AttestationCheck, FileReport, ProvenanceReport, Status, one_line
from vouch.trust import Trust

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle"
_CLAIM = "a claim by the index: the environment is not in the Sigstore certificate"


def _not_a_dist(filename: str) -> UsageError:
    return UsageError(
        f"{filename[:200]!r} is not an sdist or wheel name (NAME-VERSION.tar.gz, NAME-VERSION-TAGS.whl)",
        hint="pass the file under the name the index serves it by (PEP 740 attests the file name too)",
    )


def named_distribution(filename: str, sha256: str) -> Distribution:
    """What an index says about a file, without its bytes: ``--filename NAME --sha256 HEX``."""
    if not _SHA256.match(sha256.lower()):
        raise UsageError(f"--sha256 {sha256!r} is not 64 hexadecimal digits")
    try:
        return Distribution(name=filename, digest=sha256.lower())
    except ValidationError as exc:
        raise _not_a_dist(filename) from exc


def local_distribution(path: Path) -> Distribution:
    try:
        return Distribution.from_file(path)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    except ValidationError as exc:
        raise _not_a_dist(path.name) from exc


def load_attestation(data: bytes) -> Attestation:
    """A PEP 740 attestation, or a Sigstore bundle (as ``actions/attest`` writes) converted to one."""
    try:
        document = json.loads(data)
        if isinstance(document, dict) and str(document.get("mediaType", "")).startswith(_BUNDLE_MEDIA_TYPE):
            return Attestation.from_bundle(Bundle.from_json(data))
        return Attestation.model_validate_json(data)
    except (AttestationError, SigstoreError, ValueError) as exc:
        raise ValueError(f"not a PEP 740 attestation or Sigstore bundle: {one_line(exc)}") from exc


def load_provenance(data: bytes) -> Provenance:
    try:
        return Provenance.model_validate_json(data)
    except ValueError as exc:
        raise ValueError(f"not a PEP 740 provenance object: {one_line(exc)}") from exc


def check_attestations(
    attestations: Sequence[tuple[str, Attestation]],
    dist: Distribution,
    expected: ExpectedPublisher,
    trust: Trust,
    *,
    unsafe_ignore_environment: bool = False,
) -> FileReport:
    """Attestations given as files: each must verify; they carry no publisher claim, so a publisher
    that demands an environment fails (the environment cannot be checked), unless
    ``unsafe_ignore_environment``."""
    checks = tuple(_check(source, att, expected.identity, dist, trust) for source, att in attestations)
    notes: tuple[str, ...] = ()
    reasons: list[str] = []
    if expected.environment is not None:
        unchecked = (f"environment {expected.environment!r}: not checked: it is not in the Sigstore "
                     "certificate, and an attestation file carries no publisher claim")  # fmt: skip
        if unsafe_ignore_environment:
            notes = (f"{unchecked} (ignored: --unsafe-ignore-environment)",)
        else:
            reasons.append(f"{unchecked}; verify the index's provenance (--provenance FILE), or accept "
                           "the risk with --unsafe-ignore-environment")  # fmt: skip
    return _file_report(dist, checks, reasons, notes=notes, source=", ".join(s for s, _ in attestations))


def check_provenance(
    provenance: Provenance,
    dist: Distribution,
    expected: ExpectedPublisher,
    trust: Trust,
    *,
    source: str,
    yanked: bool = False,
) -> FileReport:
    """A provenance object: every attestation of every bundle, and each bundle's publisher claim."""
    checks: list[AttestationCheck] = []
    reasons: list[str] = []
    notes: list[str] = []
    claims = tuple(describe_claim(bundle.publisher) for bundle in provenance.attestation_bundles)
    for number, (bundle, claim) in enumerate(zip(provenance.attestation_bundles, claims, strict=True), 1):
        if not bundle.attestations:
            reasons.append(f"bundle {number} ({claim}) holds no attestations")
        for index, attestation in enumerate(bundle.attestations, 1):
            check = _check(
                f"bundle {number} attestation {index}", attestation, expected.identity, dist, trust
            )
            checks.append(check)
            if not check.verified:
                continue
            against_claim = _check(check.source, attestation, bundle.publisher, dist, trust)
            if not against_claim.verified:
                reasons.append(f"the index's publisher claim {claim} disagrees with the certificate "
                               f"({check.signer}): {against_claim.reason}")  # fmt: skip
        problem, note = _environment(expected, bundle.publisher)
        reasons.extend([problem] if problem else [])
        notes.extend([note] if note else [])
    if not provenance.attestation_bundles:
        reasons.append("the provenance holds no attestation bundles")
    return _file_report(dist, tuple(checks), reasons, notes=tuple(notes), source=source, claims=claims,
                        yanked=yanked)  # fmt: skip


def verify_local(
    dist: Distribution,
    expected: ExpectedPublisher,
    trust: Trust,
    *,
    attestation_files: Sequence[Path] = (),
    provenance_file: Path | None = None,
    unsafe_ignore_environment: bool = False,
) -> ProvenanceReport:
    """``vouch provenance verify``: a local file (or a name and digest), its attestations or provenance.

    ``unsafe_ignore_environment``: attestation files, which carry no publisher claim, may pass a
    publisher that demands an environment (which then is not checked at all)."""
    if bool(attestation_files) == (provenance_file is not None):
        raise UsageError("give --attestation FILE (one or more) or --provenance FILE")
    try:
        if provenance_file is not None:
            source = str(provenance_file)
            file = check_provenance(
                load_provenance(_read(provenance_file)), dist, expected, trust, source=source
            )
        else:
            loaded = [(str(path), load_attestation(_read(path))) for path in attestation_files]
            file = check_attestations(
                loaded, dist, expected, trust, unsafe_ignore_environment=unsafe_ignore_environment
            )
    except ValueError as exc:  # a malformed attestation or provenance is a failure, not an error
        file = FileReport(dist.name, dist.digest, Status.FAILED, (str(exc),))
    return ProvenanceReport(dist.name, expected.to_json(), trust.name, (file,))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc


def _check(
    source: str, attestation: Attestation, identity: SigstoreIdentity, dist: Distribution, trust: Trust
) -> AttestationCheck:
    try:
        verified = verify_attestation(trust, attestation, identity, dist)
    except VerificationError as exc:
        return AttestationCheck(source, reason=str(exc))
    return AttestationCheck(source, verified.predicate_type, verified.signer)


def _environment(expected: ExpectedPublisher, claim: Publisher) -> tuple[str | None, str | None]:
    """(a problem, a note) from comparing the expected environment with the index's claim."""
    claimed = claimed_environment(claim)
    if expected.environment is None:
        if claimed is None:
            return None, None
        return None, f"environment {claimed!r}: claimed by the index, not required ({_CLAIM})"
    if claimed == expected.environment:
        return None, f"environment {claimed!r}: matches the index's publisher claim ({_CLAIM})"
    said = repr(claimed) if claimed else "none"
    return (
        f"environment: the index's publisher claim says {said}, expected {expected.environment!r} ({_CLAIM})",
        None,
    )


def _file_report(
    dist: Distribution,
    checks: tuple[AttestationCheck, ...],
    reasons: list[str],
    *,
    notes: tuple[str, ...],
    source: str,
    claims: tuple[str, ...] = (),
    yanked: bool = False,
) -> FileReport:
    if not checks and not reasons:
        reasons = ["no attestation to verify"]
    failed = bool(reasons) or not all(check.verified for check in checks)
    status = Status.FAILED if failed else Status.VERIFIED
    return FileReport(dist.name, dist.digest, status, tuple(reasons), source, checks, claims, notes, yanked)
