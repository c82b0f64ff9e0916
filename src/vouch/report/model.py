"""The evidence page as data: every section with its status and reason, nothing rendered yet.

Pure frozen dataclasses, built from what the library returns (``vouch.report.sections``) and
rendered by ``vouch.report.render`` to HTML or printed as JSON. Every string here may come from
an archive, a statement or an index: the renderer escapes all of them.

A section is ``passed`` only when what it shows was positively verified, ``failed`` when it was
verified and found wanting, ``not checked`` (with the reason) otherwise. The page passes only when
no section failed, the quorum passed, and every section that was given an input passed; a
section without an input (no rebuild, no provenance yet) is named as not checked.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

FORMAT_VERSION = 1


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_CHECKED = "not checked"


def combine(statuses: list[Status]) -> Status:
    """Failed if any failed; else not checked if any was not checked (or there is none); else passed."""
    if Status.FAILED in statuses:
        return Status.FAILED
    if not statuses or Status.NOT_CHECKED in statuses:
        return Status.NOT_CHECKED
    return Status.PASSED


@dataclass(frozen=True)
class Outcome:
    """A status and the one-line reason a person reads next to it."""

    status: Status
    reason: str


@dataclass(frozen=True)
class ReleaseInfo:
    outcome: Outcome
    name: str
    version: str
    commits: tuple[tuple[str, str], ...]  # (commit, where it was read)
    tag: str | None
    source_date_epoch: int | None
    source_date: str | None  # SOURCE_DATE_EPOCH as an ISO date, UTC
    repository: str | None


@dataclass(frozen=True)
class Artifact:
    filename: str
    size: int | None  # None: the bytes were not read (a download refused or cut short)
    sha256: str
    mismatches: tuple[str, ...] = ()  # inputs that name another sha256 for this file
    unchecked: tuple[str, ...] = ()  # why its bytes could not be read (a download cut short)


@dataclass(frozen=True)
class ArtifactsSection:
    outcome: Outcome
    artifacts: tuple[Artifact, ...]


@dataclass(frozen=True)
class Key:
    kind: str  # ssh-ed25519, openpgp, sigstore
    fingerprint: str


@dataclass(frozen=True)
class Voucher:
    signer: str
    role: str | None
    roles: tuple[str, ...]
    keys: tuple[Key, ...]
    evidence: str  # FILE:LINE


@dataclass(frozen=True)
class QuorumArtifact:
    filename: str
    sha256: str
    passed: bool
    vouched_by: tuple[str, ...]
    missing: tuple[str, ...]
    conflicts: tuple[str, ...]


@dataclass(frozen=True)
class RejectedLine:
    evidence: str
    signer: str | None
    reason: str


@dataclass(frozen=True)
class QuorumSection:
    outcome: Outcome
    policy: str | None = None
    threshold: int = 0
    require: tuple[tuple[str, int], ...] = ()
    signers: int = 0
    vouchers: tuple[Voucher, ...] = ()
    silent: tuple[str, ...] = ()  # trusted signers with no accepted line
    artifacts: tuple[QuorumArtifact, ...] = ()
    rejected: tuple[RejectedLine, ...] = ()
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "del", "hunk", "head", "same"
    text: str


@dataclass(frozen=True)
class MemberDifference:
    member: str
    aspects: tuple[str, ...]
    diff: tuple[DiffLine, ...] = ()
    details: str = ""  # the other details, as compact JSON


@dataclass(frozen=True)
class NormalisationView:
    aspect: str
    members: tuple[str, ...]
    detail: str = ""


@dataclass(frozen=True)
class RebuiltArtifact:
    filename: str
    verdict: str
    outcome: Outcome
    expected_sha256: str | None
    rebuilt_sha256: str | None
    normalisations: tuple[NormalisationView, ...] = ()
    differences: tuple[MemberDifference, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class RebuildRun:
    source: str  # the --rebuild-json file
    verdict: str
    recipe: tuple[tuple[str, str], ...]
    artifacts: tuple[RebuiltArtifact, ...]
    warnings: tuple[str, ...] = ()
    commit: str | None = None  # what the recipe names, when it is a build record's
    repository: str | None = None
    source_date_epoch: int | None = None


@dataclass(frozen=True)
class RebuildsSection:
    outcome: Outcome
    runs: tuple[RebuildRun, ...] = ()
    problems: tuple[str, ...] = ()  # inputs that could not be read


@dataclass(frozen=True)
class ProvenanceFile:
    filename: str
    sha256: str
    outcome: Outcome
    publisher: str
    verified: tuple[str, ...]  # what was verified: attestation, predicate, signing identity
    claims: tuple[str, ...]  # what is only a claim of the index
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProvenanceSection:
    outcome: Outcome
    sources: tuple[str, ...] = ()
    trust_root: str = ""
    files: tuple[ProvenanceFile, ...] = ()
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChecksumLine:
    filename: str
    outcome: Outcome
    checked: tuple[str, ...]


@dataclass(frozen=True)
class ChecksumsSection:
    outcome: Outcome
    path: str | None = None
    signer: str | None = None  # the policy signer whose key it is, or the keyring file
    fingerprint: str | None = None
    signing_key: str | None = None
    signed_at: str | None = None
    digest: str | None = None
    tag: str | None = None  # "The TAG tag points to commit SHA", as the signed text says
    commit: str | None = None
    lines: tuple[ChecksumLine, ...] = ()


@dataclass(frozen=True)
class BaselineCheck:
    id: str
    status: str  # pass, fail, unknown (the doctor's own words)
    detail: str
    fix: str


@dataclass(frozen=True)
class BaselineSection:
    outcome: Outcome
    evidence: str | None = None  # FILE:LINE of the statement shown
    signer: str | None = None
    time: str | None = None
    checks: tuple[BaselineCheck, ...] = ()
    rejected: tuple[RejectedLine, ...] = ()


@dataclass(frozen=True)
class Page:
    outcome: Outcome
    generated: str
    release: ReleaseInfo
    artifacts: ArtifactsSection
    quorum: QuorumSection
    rebuilds: RebuildsSection
    provenance: ProvenanceSection
    checksums: ChecksumsSection
    baseline: BaselineSection
    origin: str | None = None  # `vouch report pypi:...`: the index the files were downloaded from

    def sections(self) -> list[tuple[str, str, Outcome]]:
        """(anchor, title, outcome) of every section, in page order."""
        return [
            ("release", "Release", self.release.outcome),
            ("artifacts", "Artifacts", self.artifacts.outcome),
            ("quorum", "Quorum of signers", self.quorum.outcome),
            ("rebuilds", "Rebuilds", self.rebuilds.outcome),
            ("provenance", "Provenance", self.provenance.outcome),
            ("checksums", "Checksum file", self.checksums.outcome),
            ("baseline", "Releaser's machine", self.baseline.outcome),
        ]

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"version": FORMAT_VERSION, **dataclasses.asdict(self)}
        document["passed"] = self.outcome.status is Status.PASSED
        return document


def overall(sections: list[tuple[str, str, Outcome]], given: set[str]) -> Outcome:
    """The page's outcome from its sections' (anchor, title, outcome); ``given``: the anchors of
    sections that had an input (their "not checked" blocks a pass; the quorum's always does)."""
    failed = [f"{title}: {o.reason}" for _, title, o in sections if o.status is Status.FAILED]
    if failed:
        return Outcome(Status.FAILED, "; ".join(failed))
    blocking = [
        f"{title}: {o.reason}"
        for anchor, title, o in sections
        if o.status is Status.NOT_CHECKED and (anchor in given or anchor == "quorum")
    ]
    if blocking:
        return Outcome(Status.NOT_CHECKED, "; ".join(blocking))
    passed = [title for _, title, o in sections if o.status is Status.PASSED]
    unchecked = [title for _, title, o in sections if o.status is Status.NOT_CHECKED]
    reason = "passed: " + ", ".join(passed)
    if unchecked:
        reason += "; not checked (no input given): " + ", ".join(unchecked)
    return Outcome(Status.PASSED, reason)
