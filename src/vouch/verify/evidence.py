"""The verify policy (``vouch verify --policy FILE``), and vouch evidence checked k-of-n per release.

```toml
[projects.django]
accept = ["no provenance"]                     # states accepted for this project's files:
                                               #   "no provenance", "provenance lost", "not checked";
                                               #   "equivalent": a --rebuild equivalent, not bit-identical
accept-identities = ["github:org/repo/release.yml"]   # a publisher change to these is verified
evidence-policy = "django/vouch.toml"           # the project's vouch policy (signers, threshold)
evidence = ["django/Django-5.1.4.intoto.jsonl"] # its evidence files (paths relative to this file)
                                               # or https URLs, for both keys (``sources``)
```

Unknown keys, unknown states and accepting "failed" or "drift" are refused (exit 2): the policy can
accept a missing check, never a failed one; a publisher change is accepted by naming the new
publisher. Where evidence is given, every file of the release that the index serves is
downloaded (its sha256 checked against the index) and checked exactly as ``vouch check`` checks
artifacts (``vouch.policy.check.check``): a statement must name all of them, ``threshold``
distinct trusted signers must agree. The evidence check runs where the files are (the client),
since the policy and evidence are the client's files.

The policy and evidence are read once per release checked, from disk or over https (``sources``),
and the result is stored under the sha256 of the bytes read: evidence that changes at the same URL
is checked again. A policy or evidence file that a URL does not serve (or serves too large, or not
as a policy) makes the release's files "not checked" with the reason, never verified; a local file
that cannot be read or parsed is a configuration error (exit 2), as before.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.version import Version

from vouch.errors import ProjectConfigError, UsageError, VerificationError, VouchError
from vouch.index.simple import SimpleIndex, files_of_release
from vouch.policy.model import MAX_POLICY_BYTES, Policy, parse_policy
from vouch.trust import Trust
from vouch.untrusted import DocumentError, load_toml
from vouch.verify.continuity import Judgement
from vouch.verify.model import Outcome, State
from vouch.verify.sources import MAX_LOCAL_EVIDENCE_BYTES, Fetched, Reader, Source, parse_source, read_local

ACCEPTABLE = frozenset({State.NONE, State.LOST, State.UNCHECKED})
EQUIVALENT = "equivalent"  # a rebuild's verdict (``vouch verify --rebuild``), accepted like a state
_KEYS = {"accept", "accept-identities", "evidence-policy", "evidence"}


@dataclass(frozen=True)
class ProjectPolicy:
    accept: frozenset[State] = frozenset()
    identities: frozenset[str] = frozenset()
    evidence_policy: Source | None = None
    evidence: tuple[Source, ...] = ()
    accept_equivalent: bool = False  # a wheel only equivalent to its rebuild stays as it was


@dataclass(frozen=True)
class VerifyPolicy:
    path: Path | None = None
    projects: dict[str, ProjectPolicy] = field(default_factory=dict)

    def project(self, name: str) -> ProjectPolicy:
        return self.projects.get(name, ProjectPolicy())


def load_verify_policy(path: Path | None, *, unsafe_http_loopback: bool = False) -> VerifyPolicy:
    """The verify policy at ``path`` (none: every project's defaults). ``unsafe_http_loopback``: its
    evidence URLs may be plain http to a loopback address (the tests' seam; https otherwise)."""
    if path is None:
        return VerifyPolicy()
    from packaging.utils import canonicalize_name  # noqa: PLC0415

    try:
        document = load_toml(read_local(path, "the verify policy"), str(path))
    except DocumentError as exc:
        raise ProjectConfigError(str(exc)) from None
    if set(document) - {"projects"} or not isinstance(document.get("projects", {}), dict):
        raise ProjectConfigError(f"{path}: a verify policy holds one [projects.NAME] table per project")
    projects: dict[str, ProjectPolicy] = {}
    for name, table in document.get("projects", {}).items():
        if not isinstance(table, dict):
            raise ProjectConfigError(f"{path}: projects.{name} is not a table")
        where = f"{path}: projects.{name}"
        projects[canonicalize_name(name)] = _project(table, where, path.parent, unsafe_http_loopback)
    return VerifyPolicy(path, projects)


def _project(table: dict[str, Any], where: str, base: Path, unsafe_http_loopback: bool) -> ProjectPolicy:
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
    http = unsafe_http_loopback
    evidence = tuple(parse_source(value, base, f"{where}: evidence", unsafe_http_loopback=http)
                     for value in _strings(table, "evidence", where))  # fmt: skip
    policy = table.get("evidence-policy")
    if (policy is None) != (not evidence) or (policy is not None and not isinstance(policy, str)):
        raise ProjectConfigError(f"{where}: give both evidence-policy and evidence (paths or https URLs)")
    source = None if policy is None else parse_source(policy, base, f"{where}: evidence-policy",
                                                      unsafe_http_loopback=http)  # fmt: skip
    return ProjectPolicy(states, frozenset(identities), source, evidence,
                         accept_equivalent=EQUIVALENT in accept)  # fmt: skip


def _strings(table: dict[str, Any], key: str, where: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ProjectConfigError(f"{where}: {key} must be a list of strings")
    return value


@dataclass(frozen=True)
class Evidence:
    """A project's vouch policy and evidence files as read for one run: what its check is keyed by."""

    policy: Fetched
    files: tuple[Fetched, ...]

    def inputs(self) -> dict[str, Any]:
        """What determines an evidence check: the digests of the bytes read (never a URL)."""
        return {"policy": self.policy.sha256, "evidence": [f.sha256 for f in self.files]}


def read_project_evidence(project: ProjectPolicy, reader: Reader) -> Evidence:
    """The project's policy and evidence files, each read once. A URL that does not serve one is a
    NetworkError (the caller makes the release "not checked"); a bad local path is exit 2."""
    assert project.evidence_policy is not None  # noqa: S101 - only asked for projects with evidence
    policy = reader.read(project.evidence_policy, "the evidence policy", max_bytes=MAX_POLICY_BYTES)
    files = tuple(reader.read(source, "the evidence file", local_max_bytes=MAX_LOCAL_EVIDENCE_BYTES)
                  for source in project.evidence)  # fmt: skip
    return Evidence(policy, files)


def parse_evidence_policy(fetched: Fetched) -> Policy:
    """The vouch policy from the bytes read. A local file is read relative to its folder (key files
    beside it); one from a URL is parsed in an empty folder, so it cannot name a file on this machine,
    and its messages name the URL without credentials."""
    source = fetched.source
    if source.path is not None:
        return _policy(fetched, source.path)
    with tempfile.TemporaryDirectory(prefix="vouch-evidence-policy-") as empty:
        stand_in = Path(empty) / ("pyproject.toml" if source.name == "pyproject.toml" else "vouch.toml")
        try:
            return _policy(fetched, stand_in)
        except UsageError as exc:  # a bad policy, a bad key in it: said of the URL, not the stand-in
            raise ProjectConfigError(str(exc).replace(str(stand_in), source.shown)) from None


def _policy(fetched: Fetched, path: Path) -> Policy:
    try:
        document = load_toml(fetched.data, fetched.source.shown, max_bytes=MAX_POLICY_BYTES)
    except DocumentError as exc:
        raise ProjectConfigError(str(exc)) from None
    table: Any = document
    if path.name == "pyproject.toml":
        tool = document.get("tool", {})
        table = tool.get("vouch") if isinstance(tool, dict) else None
        if not isinstance(table, dict):
            raise ProjectConfigError(f"{fetched.source.shown} has no [tool.vouch] table")
    signers = table.get("signers")
    if fetched.source.url is not None and isinstance(signers, list) and any(
        isinstance(entry, dict) and "openpgp-key-file" in entry for entry in signers
    ):
        raise ProjectConfigError(f"{fetched.source.shown}: a policy read from a URL cannot name key files "
                                 "(openpgp-key-file); give the policy as a path")  # fmt: skip
    return parse_policy(table, path, fetched.sha256)


def check_release_evidence(index: SimpleIndex, project: str, version: str, evidence: Evidence,
                           trust: Trust) -> dict[str, Outcome]:  # fmt: skip
    """sha256 -> the k-of-n outcome, for every file of the release that the index serves."""
    from vouch.policy.check import check  # noqa: PLC0415 - loads the signer backends
    from vouch.sign.evidence import read_evidence_stream  # noqa: PLC0415

    files = files_of_release(index.project_files(project), project, Version(version))
    if not files:
        return {}
    remote = evidence.policy.source.url is not None
    try:
        vouch_policy = parse_evidence_policy(evidence.policy)
    except ProjectConfigError as exc:
        if not remote:
            raise
        return {file.sha256: Outcome(State.UNCHECKED, f"evidence: {exc}") for file in files}
    try:
        paths = [index.download(file) for file in files]
    except VerificationError as exc:
        return {file.sha256: Outcome(State.FAILED, str(exc)) for file in files}
    except VouchError as exc:
        return {file.sha256: Outcome(State.UNCHECKED, str(exc)) for file in files}
    lines = [line for fetched in evidence.files
             for line in read_evidence_stream(io.BytesIO(fetched.data), fetched.source.shown)]  # fmt: skip
    report = check(paths, [], vouch_policy, bundle_verifier=_bundles(trust), lines=lines)
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
        # the evidence that would settle a release without provenance could not be read: not checked
        if judgement.state in {State.VERIFIED, State.NONE}:
            return Judgement(State.UNCHECKED, reasons, judgement.identity, judgement.earlier)
        return Judgement(judgement.state, reasons, judgement.identity, judgement.earlier)
    if judgement.state is State.NONE:
        return Judgement(State.VERIFIED, (f"evidence: {evidence.reason}",), None, judgement.earlier)
    return Judgement(judgement.state, (*judgement.reasons, f"evidence: {evidence.reason}"),
                     judgement.identity, judgement.earlier)  # fmt: skip
