"""Gather a release's evidence into the page: the I/O around the pure sections.

The quorum is checked here (``vouch.policy.check``), the checksum file verified here
(``vouch.release.signed_checksums``) against the key given or the policy's OpenPGP signers, the
doctor statement's signature verified against the policy's signers; rebuild and provenance
reports are read (bounded, hostile JSON) and shown as they say, each named by its file. A section
whose input cannot be read or checked is ``not checked`` with the reason, never skipped silently:
the page always shows everything that could be checked.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vouch.digests import file_sha256
from vouch.dist import one_release
from vouch.errors import UsageError, VouchError
from vouch.policy.check import BundleVerifier, check
from vouch.policy.model import Policy, load_policy, openpgp_key_material
from vouch.release.clearsign import ExpectedKey, expected_key, normalize_fingerprint
from vouch.release.signed_checksums import verify_checksums
from vouch.report.baseline import baseline_section
from vouch.report.model import (
    Artifact,
    ArtifactsSection,
    BaselineSection,
    ChecksumsSection,
    Outcome,
    Page,
    ProvenanceFile,
    ProvenanceSection,
    QuorumSection,
    RebuildRun,
    RebuildsSection,
    ReleaseInfo,
    Status,
    overall,
)
from vouch.report.sections import (
    artifacts_outcome,
    checksums_section,
    named_digests,
    provenance_files,
    provenance_outcome,
    quorum_section,
    rebuild_run,
    rebuilds_outcome,
)
from vouch.sign.evidence import default_evidence
from vouch.untrusted import DocumentError, load_json, read_regular_file

MAX_REPORT_BYTES = 64 << 20  # one rebuild or provenance report


@dataclass(frozen=True)
class ReportInputs:
    """What ``vouch report`` shows: the artifacts and every piece of evidence about them."""

    artifacts: tuple[Path, ...]
    evidence: tuple[Path, ...] = ()  # default: NAME-VERSION.intoto.jsonl beside the artifacts
    policy: Path | None = None  # default: vouch.toml or pyproject.toml here
    rebuild_json: tuple[Path, ...] = ()
    provenance_json: tuple[Path, ...] = ()
    checksums: Path | None = None
    checksums_keyring: Path | None = None  # default: the policy's OpenPGP signers' keys
    doctor_evidence: Path | None = None
    accept_equivalent: bool = False


def _read_json(path: Path, what: str) -> object:
    return load_json(read_regular_file(path, what, max_bytes=MAX_REPORT_BYTES), f"{what} {path}")


def _artifacts(paths: Sequence[Path]) -> list[Artifact]:
    found = []
    for path in paths:
        if not path.is_file():
            raise UsageError(f"artifact {path} does not exist")
        found.append(Artifact(path.name, path.stat().st_size, file_sha256(path)))
    if len({a.filename for a in found}) != len(found):
        raise UsageError("two artifacts have the same file name")
    return found


def quorum_of(inputs: ReportInputs, now: datetime.datetime,
              verifier: BundleVerifier | None) -> tuple[QuorumSection, Policy | None, set[str]]:  # fmt: skip
    try:
        policy = load_policy(inputs.policy)
    except VouchError as exc:
        return QuorumSection(Outcome(Status.NOT_CHECKED, f"no policy: {exc}")), None, set()
    names = [p.name for p in inputs.artifacts]
    evidence = list(inputs.evidence) or [default_evidence(inputs.artifacts[0].parent, names)]
    try:
        report = check(list(inputs.artifacts), evidence, policy, now=now, bundle_verifier=verifier)
    except VouchError as exc:
        return QuorumSection(Outcome(Status.NOT_CHECKED, str(exc)), policy.path.as_posix()), policy, set()
    return quorum_section(report, policy), policy, set(report.commits)


def _rebuilds(inputs: ReportInputs, artifacts: Sequence[str]) -> RebuildsSection:
    runs: list[RebuildRun] = []
    problems = []
    for path in inputs.rebuild_json:
        try:
            runs.append(rebuild_run(_read_json(path, "rebuild report"), str(path),
                                    accept_equivalent=inputs.accept_equivalent))  # fmt: skip
        except (VouchError, DocumentError, ValueError) as exc:
            problems.append(f"cannot read {path}: {exc}")
    return RebuildsSection(rebuilds_outcome(runs, problems, artifacts), tuple(runs), tuple(problems))


def _provenance(inputs: ReportInputs, artifacts: Sequence[str]) -> ProvenanceSection:
    files: list[ProvenanceFile] = []
    roots = []
    problems = []
    for path in inputs.provenance_json:
        try:
            root, found = provenance_files(_read_json(path, "provenance report"), str(path))
        except (VouchError, DocumentError, ValueError) as exc:
            problems.append(f"cannot read {path}: {exc}")
            continue
        roots.append(root)
        files += found
    outcome = provenance_outcome(files, problems, artifacts, bool(inputs.provenance_json))
    return ProvenanceSection(outcome, tuple(str(p) for p in inputs.provenance_json),
                             ", ".join(dict.fromkeys(roots)), tuple(files), tuple(problems))  # fmt: skip


def _checksum_keys(inputs: ReportInputs, policy: Policy | None) -> list[tuple[str, ExpectedKey]]:
    """(who, key) for every key the checksum file may be signed with."""
    if inputs.checksums_keyring is not None:
        key = expected_key(keyring=inputs.checksums_keyring, fingerprint=None)
        names = [s.name for s in (policy.signers if policy else ()) if s.openpgp_key is not None
                 and normalize_fingerprint(s.openpgp_key.keyid) == key.fingerprint]  # fmt: skip
        return [(names[0] if names else f"the key in {inputs.checksums_keyring}", key)]
    keys = []
    for signer in policy.signers if policy else ():
        material = openpgp_key_material(policy, signer.name) if policy else None
        if signer.openpgp_key is not None and material is not None:
            fingerprint = normalize_fingerprint(signer.openpgp_key.keyid)
            keys.append((signer.name, ExpectedKey(fingerprint, material, f"signer {signer.name}")))
    return keys


def checksums_of(inputs: ReportInputs, policy: Policy | None, artifacts: Sequence[str]) -> ChecksumsSection:
    path = inputs.checksums
    if path is None:
        return ChecksumsSection(Outcome(Status.NOT_CHECKED, "no checksum file given (--checksums)"))
    try:
        keys = _checksum_keys(inputs, policy)
    except VouchError as exc:
        return ChecksumsSection(Outcome(Status.NOT_CHECKED, str(exc)), str(path))
    if not keys:
        reason = "no key to check its signature with: the policy has no OpenPGP signer (--checksums-keyring)"
        return ChecksumsSection(Outcome(Status.NOT_CHECKED, reason), str(path))
    failures = []
    for who, key in keys:
        try:
            report = verify_checksums(path, inputs.artifacts[0].parent, key)
        except VouchError as exc:
            if exc.exit_code == 1:  # verified and found wanting: try the next trusted key
                failures.append(f"not signed by {who} ({key.fingerprint}): {exc}")
                continue
            return ChecksumsSection(Outcome(Status.NOT_CHECKED, str(exc)), str(path))
        return checksums_section(report, who, artifacts)
    return ChecksumsSection(Outcome(Status.FAILED, "; ".join(failures)), str(path))


def _release(name: str, version: str, quorum_commits: set[str], runs: Sequence[RebuildRun],
             checksums: ChecksumsSection) -> ReleaseInfo:  # fmt: skip
    commits = [(c, "the accepted statements") for c in sorted(quorum_commits)]
    commits += [(run.commit, f"the rebuild report {run.source}") for run in runs if run.commit]
    if checksums.outcome.status is not Status.NOT_CHECKED and checksums.path and checksums.commit:
        commits.append((checksums.commit, f"the checksum file {checksums.path}"))
    epochs = {run.source_date_epoch for run in runs if run.source_date_epoch is not None}
    repositories = [run.repository for run in runs if run.repository]
    distinct = {c for c, _ in commits}
    if len(distinct) > 1:
        outcome = Outcome(Status.FAILED, f"the inputs name different commits: {', '.join(sorted(distinct))}")
    elif len(epochs) > 1:
        outcome = Outcome(Status.FAILED, f"the rebuilds name different SOURCE_DATE_EPOCHs: {sorted(epochs)}")
    elif distinct:
        outcome = Outcome(Status.PASSED, f"every input that names a commit names {next(iter(distinct))}")
    else:
        outcome = Outcome(Status.NOT_CHECKED, "no verified input names the source commit")
    epoch = next(iter(epochs)) if len(epochs) == 1 else None
    date = datetime.datetime.fromtimestamp(epoch, datetime.UTC).isoformat() if epoch is not None else None
    return ReleaseInfo(outcome, name, version, tuple(commits), checksums.tag, epoch, date,
                       repositories[0] if repositories else None)  # fmt: skip


def gather(
    inputs: ReportInputs,
    *,
    now: datetime.datetime | None = None,
    bundle_verifier: BundleVerifier | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> Page:
    """Every section of the page for ``inputs``; raises only on a usage error (no such artifact)."""
    now = now or datetime.datetime.now(datetime.UTC)
    if not inputs.artifacts:
        raise UsageError("name the release's artifacts")
    name, version = one_release(inputs.artifacts)
    progress("hashing the artifacts")
    artifacts = _artifacts(inputs.artifacts)
    filenames = [a.filename for a in artifacts]
    progress("checking the quorum")
    quorum, policy, commits = quorum_of(inputs, now, bundle_verifier)
    rebuilds = _rebuilds(inputs, filenames)
    provenance = _provenance(inputs, filenames)
    progress("verifying the checksum file")
    checksums = checksums_of(inputs, policy, filenames)
    progress("verifying the doctor statement")
    baseline = baseline_section(inputs.doctor_evidence, policy, now)
    given = {"release", "artifacts", "quorum"}
    given |= {"rebuilds"} if inputs.rebuild_json else set()
    given |= {"provenance"} if inputs.provenance_json else set()
    given |= {"checksums"} if inputs.checksums else set()
    given |= {"baseline"} if inputs.doctor_evidence else set()
    return assemble(Sections(str(name), str(version), artifacts, quorum, commits, rebuilds, provenance,
                             checksums, baseline), now, given)  # fmt: skip


@dataclass(frozen=True)
class Sections:
    """What the checks found, before the artifacts are compared with the digests the inputs name."""

    name: str
    version: str
    artifacts: Sequence[Artifact]
    quorum: QuorumSection
    commits: set[str]  # the source commits the accepted statements name
    rebuilds: RebuildsSection
    provenance: ProvenanceSection
    checksums: ChecksumsSection
    baseline: BaselineSection
    hashed: str = "hashed here"  # where the artifacts' digests were computed, for the passed reason
    origin: str | None = None  # the index the files were downloaded from (``pypi:`` reports)


def assemble(found: Sections, now: datetime.datetime, given: set[str]) -> Page:
    """The page: every artifact checked against the digests the rebuild and provenance inputs name,
    the release's commit and date, and the overall outcome (``given``: the sections that had an input)."""
    named = named_digests(found.rebuilds.runs, found.provenance.files)
    artifacts = [
        dataclasses.replace(a, mismatches=a.mismatches + tuple(
            f"{where} names sha256 {digest} for {a.filename}, the file here has {a.sha256}"
            for filename, digest, where in named
            if filename == a.filename and digest != a.sha256 and not a.mismatches and not a.unchecked))
        for a in found.artifacts
    ]  # fmt: skip
    artifacts_section = ArtifactsSection(artifacts_outcome(artifacts, found.hashed), tuple(artifacts))
    release = _release(found.name, found.version, found.commits, found.rebuilds.runs, found.checksums)
    page = Page(Outcome(Status.NOT_CHECKED, ""), now.isoformat(timespec="seconds"), release,
                artifacts_section, found.quorum, found.rebuilds, found.provenance, found.checksums,
                found.baseline, origin=found.origin)  # fmt: skip
    return dataclasses.replace(page, outcome=overall(page.sections(), given))
