"""``vouch check``: k distinct trusted signers agree on every artifact's digest.

For each evidence line: parse the envelope, verify each signature against the policy's keys (an
unknown key, a bad signature, a revoked or expired OpenPGP key, or a key outside its validity
window is a rejection with a reason), parse the statement, and require it to be a vouch (one of
vouch's own predicates, naming the source commit; see ``vouch.intoto``) whose subjects are
exactly the artifacts checked. One line counts for one signer: a line that verifies for two is
rejected, and so is a statement whose role the policy does not grant its signer. A trusted
signer who signed another digest for a file name is a conflict, which fails the check even when
the threshold is met; so do accepted statements that name different source commits.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from securesystemslib.exceptions import UnverifiedSignatureError, VerificationError
from securesystemslib.signer import Signature

from vouch.digests import file_sha256
from vouch.dist import is_plain_filename
from vouch.errors import UsageError
from vouch.host import utcnow
from vouch.intoto import StatementError, Vouch, load_json, parse_statement, read_vouch
from vouch.policy.model import Policy, TrustedSigner
from vouch.sign import openpgp
from vouch.sign.envelope import EnvelopeError, parse_envelope
from vouch.sign.evidence import EvidenceLine, read_evidence

# a verifier for evidence lines that are not DSSE envelopes (Sigstore bundles): returns the
# trusted signer names and the payload, or raises ValueError with the reason
BundleVerifier = Callable[[dict[str, Any], Policy], tuple[set[str], bytes]]


@dataclass
class Rejection:
    source: str
    reason: str
    signer: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"evidence": self.source, "signer": self.signer, "reason": self.reason}


@dataclass(frozen=True)
class Acceptance:
    """An evidence line that counted: whose vouch it is, in which role, from which FILE:LINE."""

    source: str
    signer: str
    role: str | None

    def to_json(self) -> dict[str, Any]:
        return {"evidence": self.source, "signer": self.signer, "role": self.role}


@dataclass
class ArtifactCheck:
    filename: str
    sha256: str
    vouched_by: set[str] = field(default_factory=set)
    conflicts: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.missing and not self.conflicts

    def to_json(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "sha256": self.sha256,
            "passed": self.passed,
            "vouched_by": sorted(self.vouched_by),
            "missing": self.missing,
            "conflicts": self.conflicts,
        }


@dataclass
class CheckReport:
    artifacts: list[ArtifactCheck]
    rejected: list[Rejection]
    commits: set[str]
    policy: Policy
    inputs: list[tuple[str, str]]  # (evidence file#line, sha256 of the line)
    problems: list[str] = field(default_factory=list)
    accepted: list[Acceptance] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.artifacts) and all(a.passed for a in self.artifacts) and not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "threshold": self.policy.threshold,
            "require": self.policy.require,
            "commits": sorted(self.commits),
            "problems": self.problems,
            "artifacts": [a.to_json() for a in self.artifacts],
            "rejected": [r.to_json() for r in self.rejected],
            "accepted": [a.to_json() for a in self.accepted],
        }


def _holds(signer: TrustedSigner, signature: Signature) -> bool:
    if signer.ssh_key is not None and signer.ssh_key.keyid == signature.keyid:
        return True
    if signer.openpgp_key is None:
        return False
    listed = signer.openpgp_validity.fingerprints if signer.openpgp_validity is not None else frozenset()
    return signature.keyid in openpgp.key_ids(signer.openpgp_key) | listed


def _verify_signature(signer: TrustedSigner, signature: Signature, pae: bytes) -> bool:
    if signer.ssh_key is not None and signer.ssh_key.keyid == signature.keyid:
        try:
            signer.ssh_key.verify_signature(signature, pae)
        except (UnverifiedSignatureError, VerificationError):
            return False
        return True
    return signer.openpgp_key is not None and openpgp.verify(signer.openpgp_key, signature, pae)


def _key_problem(signer: TrustedSigner, signature: Signature, now: datetime.datetime) -> str | None:
    """Why ``signer``'s OpenPGP key (or the subkey that signed) does not count now, or None."""
    if signer.openpgp_key is None or signer.openpgp_validity is None:
        return None
    if signer.ssh_key is not None and signer.ssh_key.keyid == signature.keyid:
        return None
    problem = signer.openpgp_validity.problem(signer.openpgp_key.keyid, signature.keyid, now)
    if problem is None and signature.keyid not in openpgp.key_ids(signer.openpgp_key):
        problem = f"the OpenPGP subkey {signature.keyid.upper()} cannot be verified (no readable binding)"
    return problem


def shown_keyid(keyid: str) -> str:
    """A key id as vouch shows it: OpenPGP fingerprints and key ids in upper case, others as they are."""
    return (
        keyid.upper()
        if len(keyid) in (16, 40, 64) and all(c in "0123456789abcdefABCDEF" for c in keyid)
        else keyid
    )


def signed_by(signer: TrustedSigner, line: str) -> bool:
    """Whether the evidence ``line`` holds a good signature by ``signer``'s SSH or OpenPGP key,
    or is a Sigstore bundle and ``signer`` has a Sigstore identity (the check verifies it)."""
    try:
        document = load_json(line)
        if isinstance(document, dict) and "mediaType" in document:
            return signer.sigstore_identity is not None
        envelope = parse_envelope(document)
    except (ValueError, EnvelopeError):
        return False
    pae = envelope.pae()
    return any(
        _holds(signer, signature) and _verify_signature(signer, signature, pae)
        for signature in envelope.signatures.values()
    )


def _not_valid(signer: TrustedSigner, now: datetime.datetime) -> str:
    reason = f"{signer.name}'s key is not valid at {now:%Y-%m-%d}"
    if signer.valid_before is not None and now >= signer.valid_before:
        reason += f" (only before {signer.valid_before:%Y-%m-%d %H:%M}Z; this line is not kept-evidence)"
    return reason


def counts_at(signer: TrustedSigner, now: datetime.datetime, line_sha256: str) -> bool:
    """Whether ``signer``'s key counts now: inside its validity window, or a key rotated out
    whose policy entry kept this evidence line (signed before the rotation)."""
    return signer.valid_at(now) or line_sha256 in signer.kept_evidence


def _signers_of(document: Any, source: str, policy: Policy, now: datetime.datetime,
                rejected: list[Rejection], *, line_sha256: str = "") -> tuple[set[str], bytes]:  # fmt: skip
    envelope = parse_envelope(document)
    pae = envelope.pae()
    names: set[str] = set()
    for signature in envelope.signatures.values():
        holders = [s for s in policy.signers if _holds(s, signature)]
        if not holders:
            rejected.append(
                Rejection(source, f"signature by unknown key {shown_keyid(signature.keyid[:100])}")
            )
        for signer in holders:
            problem = _key_problem(signer, signature, now)
            if problem is not None:
                rejected.append(Rejection(source, f"{signer.name}: {problem}", signer.name))
            elif not _verify_signature(signer, signature, pae):
                rejected.append(
                    Rejection(source, "bad signature (payload or signature altered)", signer.name)
                )
            elif not counts_at(signer, now, line_sha256):
                rejected.append(Rejection(source, _not_valid(signer, now), signer.name))
            else:
                names.add(signer.name)
    return names, envelope.payload


def verify_envelope(
    document: Any, source: str, policy: Policy, now: datetime.datetime
) -> tuple[set[str], bytes, list[Rejection]]:
    """The trusted signers whose valid signatures a DSSE envelope carries, its payload, and every
    signature that did not count (with the reason); raises ``EnvelopeError`` on a malformed one."""
    rejected: list[Rejection] = []
    names, payload = _signers_of(document, source, policy, now, rejected)
    return names, payload, rejected


def check(
    artifacts: Sequence[Path],
    evidence: Sequence[Path],
    policy: Policy,
    *,
    now: datetime.datetime | None = None,
    bundle_verifier: BundleVerifier | None = None,
    lines: Sequence[EvidenceLine] = (),
) -> CheckReport:
    """``lines``: evidence from elsewhere than ``evidence`` files (git notes), read the same way."""
    now = now or utcnow()
    results = []
    for path in artifacts:
        if not path.is_file():
            raise UsageError(f"artifact {path} does not exist")
        if not is_plain_filename(path.name):
            raise UsageError(f"artifact {path}: its name is not one a statement can name")
        results.append(ArtifactCheck(path.name, file_sha256(path)))
    by_name = {a.filename: a for a in results}
    if len(by_name) != len(results):
        raise UsageError("two artifacts have the same file name")
    report = CheckReport(results, [], set(), policy, [])
    for line in [*read_evidence(evidence), *lines]:
        report.inputs.append((line.source, line.sha256))
        if line.text is None:
            report.rejected.append(Rejection(line.source, f"unreadable: {line.problem}"))
            continue
        _accept_line(line.source, line.text, report, by_name, now=now, bundle_verifier=bundle_verifier,
                     commit=line.commit, line_sha256=line.sha256)  # fmt: skip
    _conclude(report, policy)
    return report


def _bundle_signers(document: dict[str, Any], source: str, report: CheckReport, *, now: datetime.datetime,
                    verifier: BundleVerifier, line_sha256: str) -> tuple[set[str], bytes]:  # fmt: skip
    """The signers a Sigstore bundle counts for: only policy entries that count now are tried (a
    rotated-out identity shares its signer's name); the others only to name why not."""
    policy = report.policy
    counting = tuple(s for s in policy.signers if counts_at(s, now, line_sha256))
    try:
        return verifier(document, dataclasses.replace(policy, signers=counting))
    except ValueError:
        if len(counting) == len(policy.signers):
            raise
    names, payload = verifier(document, policy)
    for name in sorted(names):
        report.rejected.append(Rejection(source, f"{name}'s key is not valid at {now:%Y-%m-%d}", name))
    return set(), payload


def _accept_line(
    source: str,
    line: str,
    report: CheckReport,
    by_name: dict[str, ArtifactCheck],
    *,
    now: datetime.datetime,
    bundle_verifier: BundleVerifier | None,
    commit: str | None = None,
    line_sha256: str = "",
) -> None:  # fmt: skip
    policy = report.policy
    try:
        document = load_json(line)
        if isinstance(document, dict) and "mediaType" in document:
            if bundle_verifier is None:
                raise EnvelopeError("Sigstore bundles need the sigstore verifier")
            names, payload = _bundle_signers(
                document, source, report, now=now, verifier=bundle_verifier, line_sha256=line_sha256
            )
        else:
            names, payload = _signers_of(
                document, source, policy, now, report.rejected, line_sha256=line_sha256
            )
        if not names:
            report.rejected.append(Rejection(source, "no trusted signer's valid signature"))
            return
        statement = parse_statement(payload)
    except (ValueError, EnvelopeError, StatementError) as exc:
        report.rejected.append(Rejection(source, f"malformed: {exc}"))
        return
    signers = ", ".join(sorted(names))
    if len(names) > 1:
        reason = f"one evidence line counts for one signer, and this one verifies for {signers}"
        report.rejected.append(Rejection(source, reason, signers))
        return
    try:
        vouch = read_vouch(statement)
    except StatementError as exc:
        report.rejected.append(Rejection(source, f"not a vouch: {exc}", signers))
        return
    (name,) = names
    if commit is not None and vouch.commit != commit:
        reason = f"signed over commit {vouch.commit[:64]}, but it is in the note of commit {commit}"
        report.rejected.append(Rejection(source, reason, name))
        return
    granted = next(s.roles for s in policy.signers if s.name == name)
    if vouch.role is not None and vouch.role not in granted:
        reason = f"signed as {vouch.role!r}, a role the policy does not grant {name}"
        report.rejected.append(Rejection(source, reason, name))
        return
    _apply(vouch, names, source, report, by_name)


def _apply(statement: Vouch, names: set[str], source: str, report: CheckReport,
           by_name: dict[str, ArtifactCheck]) -> None:  # fmt: skip
    signers = ", ".join(sorted(names))
    for filename, digest in statement.subjects.items():
        artifact = by_name.get(filename)
        if artifact is not None and artifact.sha256 != digest:
            artifact.conflicts.append(f"{signers} signed sha256 {digest} for {filename} ({source})")
    extra = sorted(set(statement.subjects) - set(by_name))
    missing = sorted(set(by_name) - set(statement.subjects))
    if extra or missing:
        what = (f"names other files {extra}" if extra else "") + (
            f"{'; ' if extra else ''}does not name {missing}" if missing else ""
        )
        if extra and not missing:
            files = ", ".join(sorted(statement.subjects))
            what += f"; it vouches for the whole release: pass all its files to vouch check ({files})"
        report.rejected.append(Rejection(source, f"subjects differ from the artifacts: {what}", signers))
        return
    if any(by_name[n].sha256 != d for n, d in statement.subjects.items()):
        report.rejected.append(Rejection(source, "digest conflict (see the artifact)", signers))
        return
    report.commits.add(statement.commit)
    report.accepted.extend(Acceptance(source, name, statement.role) for name in sorted(names))
    for artifact in by_name.values():
        artifact.vouched_by |= names


def _conclude(report: CheckReport, policy: Policy) -> None:
    if len(report.commits) > 1:
        report.problems.append(f"the accepted statements name different commits: {sorted(report.commits)}")
    roles = {s.name: set(s.roles) for s in policy.signers}
    for artifact in report.artifacts:
        count = len(artifact.vouched_by)
        if count < policy.threshold:
            artifact.missing.append(
                f"{policy.threshold - count} more trusted signer(s) (have {count} of {policy.threshold})"
            )
        for role, minimum in policy.require.items():
            have = sum(role in roles[name] for name in artifact.vouched_by)
            if have < minimum:
                artifact.missing.append(f"role {role}: {minimum - have} more (have {have} of {minimum})")
