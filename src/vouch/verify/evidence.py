"""The verify policy (``vouch verify --policy FILE``), and vouch evidence checked k-of-n per release.

```toml
[projects.django]
accept = ["no provenance"]                     # states accepted for this project's files:
                                               #   "no provenance", "provenance lost", "not checked";
                                               #   "equivalent": a --rebuild equivalent, not bit-identical
accept-identities = ["github:org/repo/release.yml"]   # a publisher change to these is verified
evidence-policy = "django/vouch.toml"           # the project's vouch policy (signers, threshold)
evidence = ["django/Django-5.1.4.intoto.jsonl"] # its evidence files (paths relative to this file)
```

Unknown keys, unknown states and accepting "failed" or "drift" are refused (exit 2): the policy can
accept a missing check, never a failed one; a publisher change is accepted by naming the new
publisher. Where evidence is given, every file of the release that the index serves is
downloaded (its sha256 checked against the index) and checked exactly as ``vouch check`` checks
artifacts (``vouch.policy.check.check``): a statement must name all of them, ``threshold``
distinct trusted signers must agree. The evidence check runs where the files are (the client),
since the policy and evidence are the client's files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.version import Version

from vouch.digests import file_sha256
from vouch.errors import ProjectConfigError, UsageError, VerificationError, VouchError
from vouch.index.simple import SimpleIndex, files_of_release
from vouch.policy.model import Policy
from vouch.trust import Trust
from vouch.untrusted import DocumentError, load_toml, read_regular_file
from vouch.verify.continuity import Judgement
from vouch.verify.model import Outcome, State

ACCEPTABLE = frozenset({State.NONE, State.LOST, State.UNCHECKED})
EQUIVALENT = "equivalent"  # a rebuild's verdict (``vouch verify --rebuild``), accepted like a state
_KEYS = {"accept", "accept-identities", "evidence-policy", "evidence"}


@dataclass(frozen=True)
class ProjectPolicy:
    accept: frozenset[State] = frozenset()
    identities: frozenset[str] = frozenset()
    evidence_policy: Path | None = None
    evidence: tuple[Path, ...] = ()
    accept_equivalent: bool = False  # a wheel only equivalent to its rebuild stays as it was


@dataclass(frozen=True)
class VerifyPolicy:
    path: Path | None = None
    projects: dict[str, ProjectPolicy] = field(default_factory=dict)

    def project(self, name: str) -> ProjectPolicy:
        return self.projects.get(name, ProjectPolicy())


def load_verify_policy(path: Path | None) -> VerifyPolicy:
    if path is None:
        return VerifyPolicy()
    from packaging.utils import canonicalize_name  # noqa: PLC0415

    try:
        document = load_toml(read_regular_file(path, "the verify policy"), str(path))
    except FileNotFoundError:
        raise UsageError(f"the verify policy {path} does not exist") from None
    except DocumentError as exc:
        raise ProjectConfigError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    if set(document) - {"projects"} or not isinstance(document.get("projects", {}), dict):
        raise ProjectConfigError(f"{path}: a verify policy holds one [projects.NAME] table per project")
    projects: dict[str, ProjectPolicy] = {}
    for name, table in document.get("projects", {}).items():
        if not isinstance(table, dict):
            raise ProjectConfigError(f"{path}: projects.{name} is not a table")
        projects[canonicalize_name(name)] = _project(table, f"{path}: projects.{name}", path.parent)
    return VerifyPolicy(path, projects)


def _project(table: dict[str, Any], where: str, base: Path) -> ProjectPolicy:
    if unknown := set(table) - _KEYS:
        raise ProjectConfigError(f"{where}: unknown keys {sorted(unknown)}")
    accept = _strings(table, "accept", where)
    try:
        states = frozenset(State(value) for value in accept if value != EQUIVALENT)
    except ValueError:
        raise ProjectConfigError(f"{where}: accept {accept} names an unknown state",
                                 hint=f"states: {', '.join(State)}, or {EQUIVALENT}") from None  # fmt: skip
    if refused := states - ACCEPTABLE:
        raise ProjectConfigError(f"{where}: {', '.join(sorted(refused))} cannot be accepted",
                                 hint="accept a new publisher with accept-identities")  # fmt: skip
    identities = _strings(table, "accept-identities", where)
    from vouch.provenance.publisher import parse_publisher  # noqa: PLC0415

    for spec in identities:
        parse_publisher(spec)
    evidence = tuple(base / value for value in _strings(table, "evidence", where))
    policy = table.get("evidence-policy")
    if (policy is None) != (not evidence) or (policy is not None and not isinstance(policy, str)):
        raise ProjectConfigError(f"{where}: give both evidence-policy (a path) and evidence (paths)")
    return ProjectPolicy(states, frozenset(identities), base / policy if policy else None, evidence,
                         accept_equivalent=EQUIVALENT in accept)  # fmt: skip


def _strings(table: dict[str, Any], key: str, where: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ProjectConfigError(f"{where}: {key} must be a list of strings")
    return value


def evidence_inputs(project: ProjectPolicy) -> dict[str, Any]:
    """What determines an evidence check: the policy's and the evidence files' digests."""
    assert project.evidence_policy is not None  # noqa: S101 - only asked for projects with evidence
    try:
        return {"policy": file_sha256(project.evidence_policy),
                "evidence": [file_sha256(path) for path in project.evidence]}  # fmt: skip
    except OSError as exc:
        raise UsageError(f"cannot read the evidence of the verify policy: {exc}") from exc


def check_release_evidence(index: SimpleIndex, project: str, version: str, policy: ProjectPolicy,
                           trust: Trust) -> dict[str, Outcome]:  # fmt: skip
    """sha256 -> the k-of-n outcome, for every file of the release that the index serves."""
    from vouch.policy.check import check  # noqa: PLC0415 - loads the signer backends
    from vouch.policy.model import load_policy  # noqa: PLC0415

    assert policy.evidence_policy is not None  # noqa: S101
    vouch_policy = load_policy(policy.evidence_policy)
    files = files_of_release(index.project_files(project), project, Version(version))
    if not files:
        return {}
    try:
        paths = [index.download(file) for file in files]
    except VerificationError as exc:
        return {file.sha256: Outcome(State.FAILED, str(exc)) for file in files}
    except VouchError as exc:
        return {file.sha256: Outcome(State.UNCHECKED, str(exc)) for file in files}
    report = check(paths, list(policy.evidence), vouch_policy, bundle_verifier=_bundles(trust))
    outcomes = {}
    for artifact in report.artifacts:
        signers = ", ".join(sorted(artifact.vouched_by)) or "nobody"
        said = f"vouched by {signers} (threshold {vouch_policy.threshold})"
        if artifact.passed and not report.problems:
            outcomes[artifact.sha256] = Outcome(State.VERIFIED, said)
        else:
            why = [*artifact.missing, *artifact.conflicts, *report.problems]
            outcomes[artifact.sha256] = Outcome(State.FAILED, f"evidence: {said}; {'; '.join(why)}")
    return outcomes


def _bundles(trust: Trust) -> Any:
    def verify(document: dict[str, Any], policy: Policy) -> tuple[set[str], bytes]:
        from vouch.policy.sigstore import sigstore_bundle_verifier  # noqa: PLC0415

        return sigstore_bundle_verifier(document, policy, trust)

    return verify


def with_evidence(judgement: Judgement, evidence: Outcome) -> Judgement:
    """The file's state once its release's evidence is checked: failed evidence fails the file; a
    release without provenance that its release managers vouched for is verified by that."""
    reasons = (*judgement.reasons, evidence.reason or "")
    if evidence.state is State.FAILED:
        return Judgement(State.FAILED, reasons, judgement.identity, judgement.earlier)
    if evidence.state is State.UNCHECKED:
        if judgement.state is State.VERIFIED:
            return Judgement(State.UNCHECKED, reasons, judgement.identity, judgement.earlier)
        return Judgement(judgement.state, reasons, judgement.identity, judgement.earlier)
    if judgement.state is State.NONE:
        return Judgement(State.VERIFIED, (f"evidence: {evidence.reason}",), None, judgement.earlier)
    return Judgement(judgement.state, (*judgement.reasons, f"evidence: {evidence.reason}"),
                     judgement.identity, judgement.earlier)  # fmt: skip
