"""``vouch check``: k distinct trusted signers agree on every artifact's digest.

For each evidence line: parse the envelope, verify each signature against the policy's keys (an
unknown key, a bad signature or a key outside its validity window is a rejection with a reason),
parse the statement, and require its subjects to be exactly the artifacts checked. A trusted
signer who signed another digest for a file name is a conflict, which fails the check even when
the threshold is met; so do accepted statements that name different source commits.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from securesystemslib.exceptions import UnverifiedSignatureError, VerificationError
from securesystemslib.signer import Signature

from vouch.digests import file_sha256
from vouch.errors import CheckError, UsageError
from vouch.policy.model import Policy, TrustedSigner
from vouch.sign import openpgp
from vouch.sign.envelope import EnvelopeError, parse_envelope
from vouch.sign.statement import Statement, StatementError, parse_statement

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
        }


def _verify_signature(signer: TrustedSigner, signature: Signature, pae: bytes) -> bool | None:
    """True/False when ``signer`` holds the signature's key, None when the key is not theirs."""
    if signer.ssh_key is not None and signer.ssh_key.keyid == signature.keyid:
        try:
            signer.ssh_key.verify_signature(signature, pae)
        except (UnverifiedSignatureError, VerificationError):
            return False
        return True
    if signer.openpgp_key is not None and signature.keyid.lower() in openpgp.key_ids(signer.openpgp_key):
        return openpgp.verify(signer.openpgp_key, signature, pae)
    return None


def _signers_of(document: Any, source: str, policy: Policy, now: datetime.datetime,
                rejected: list[Rejection]) -> tuple[set[str], bytes]:  # fmt: skip
    envelope = parse_envelope(document)
    pae = envelope.pae()
    names: set[str] = set()
    for signature in envelope.signatures.values():
        holders = [(s, _verify_signature(s, signature, pae)) for s in policy.signers]
        holders = [(s, ok) for s, ok in holders if ok is not None]
        if not holders:
            rejected.append(Rejection(source, f"signature by unknown key {signature.keyid}"))
        for signer, ok in holders:
            if not ok:
                rejected.append(
                    Rejection(source, "bad signature (payload or signature altered)", signer.name)
                )
            elif not signer.valid_at(now):
                rejected.append(
                    Rejection(source, f"{signer.name}'s key is not valid at {now:%Y-%m-%d}", signer.name)
                )
            else:
                names.add(signer.name)
    return names, envelope.payload


def read_evidence(paths: Sequence[Path]) -> list[tuple[str, str]]:
    """(location, line) for every non-blank line of every evidence file."""
    lines: list[tuple[str, str]] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError(f"evidence file {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CheckError(f"cannot read {path}: {exc}") from exc
        lines.extend((f"{path}:{n}", line) for n, line in enumerate(text.splitlines(), 1) if line.strip())
    return lines


def check(
    artifacts: Sequence[Path],
    evidence: Sequence[Path],
    policy: Policy,
    *,
    now: datetime.datetime | None = None,
    bundle_verifier: BundleVerifier | None = None,
) -> CheckReport:
    now = now or datetime.datetime.now(datetime.UTC)
    results = []
    for path in artifacts:
        if not path.is_file():
            raise UsageError(f"artifact {path} does not exist")
        results.append(ArtifactCheck(path.name, file_sha256(path)))
    by_name = {a.filename: a for a in results}
    if len(by_name) != len(results):
        raise UsageError("two artifacts have the same file name")
    report = CheckReport(results, [], set(), policy, [])
    for source, line in read_evidence(evidence):
        report.inputs.append((source, hashlib.sha256(line.encode()).hexdigest()))
        _accept_line(source, line, report, by_name, now=now, bundle_verifier=bundle_verifier)
    _conclude(report, policy)
    return report


def _accept_line(
    source: str,
    line: str,
    report: CheckReport,
    by_name: dict[str, ArtifactCheck],
    *,
    now: datetime.datetime,
    bundle_verifier: BundleVerifier | None,
) -> None:  # fmt: skip
    policy = report.policy
    try:
        document = json.loads(line)
        if isinstance(document, dict) and "mediaType" in document:
            if bundle_verifier is None:
                raise EnvelopeError("Sigstore bundles need the sigstore verifier")
            names, payload = bundle_verifier(document, policy)
            for signer in policy.signers:
                if signer.name in names and not signer.valid_at(now):
                    names.discard(signer.name)
                    report.rejected.append(
                        Rejection(source, f"{signer.name}'s key is not valid at {now:%Y-%m-%d}", signer.name)
                    )
        else:
            names, payload = _signers_of(document, source, policy, now, report.rejected)
        if not names:
            report.rejected.append(Rejection(source, "no trusted signer's valid signature"))
            return
        statement = parse_statement(payload)
    except (ValueError, EnvelopeError, StatementError) as exc:
        report.rejected.append(Rejection(source, f"malformed: {exc}"))
        return
    _apply(statement, names, source, report, by_name)


def _apply(statement: Statement, names: set[str], source: str, report: CheckReport,
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
        report.rejected.append(Rejection(source, f"subjects differ from the artifacts: {what}", signers))
        return
    if any(by_name[n].sha256 != d for n, d in statement.subjects.items()):
        report.rejected.append(Rejection(source, "digest conflict (see the artifact)", signers))
        return
    if statement.commit is not None:
        report.commits.add(statement.commit)
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
