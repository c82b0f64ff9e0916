"""``vouch report pypi:NAME==VERSION``: the page of a published release, every check run here.

The release's files are read from the index's PEP 691 API and downloaded into a private temporary
folder, each refused unless its bytes have the sha256 the index lists (``SimpleIndex.download``).
Then the same checks as ``vouch check`` (the quorum over the downloaded files, with the evidence
and policy given), ``vouch provenance`` (``verify_release``: every file's PEP 740 provenance against
the expected publisher, from ``--publisher`` or the policy's ``[provenance] publisher``) and, when
asked (it is slow), ``vouch rebuild pypi:`` (``rebuild_published``: the pure wheels rebuilt from the
published sdist) run, and their reports' JSON is turned into sections by the same builders that
read ``--provenance-json`` and ``--rebuild-json`` files. A check that cannot run is its section's
``not checked`` (or ``failed``, when what it found is a fact about the release) with the reason;
only a release the index does not list, or an index that cannot be read, stops the page.

Provenance and the rebuild read the index again: a file whose digest changed between the reads
shows as a mismatch in the artifacts section (``assemble`` compares every digest each input names).
"""

from __future__ import annotations

import datetime
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

from vouch.digests import file_sha256
from vouch.errors import CheckError, NetworkError, VerificationError, VouchError
from vouch.host import Host, Progress, default_cache_dir
from vouch.index import PYPI_SIMPLE
from vouch.index.simple import IndexFile, SimpleIndex, files_of_release, missing_release
from vouch.index.urls import redact
from vouch.policy.check import BundleVerifier
from vouch.policy.model import Policy, load_policy
from vouch.provenance.published import ReleaseOptions, verify_release
from vouch.provenance.publisher import ExpectedPublisher, publisher_from_policy
from vouch.rebuild.published import PublishedOptions, parse_spec, rebuild_published
from vouch.report.baseline import baseline_section
from vouch.report.gather import ReportInputs, Sections, assemble, checksums_of, quorum_of
from vouch.report.model import (
    Artifact,
    ChecksumsSection,
    Outcome,
    Page,
    ProvenanceSection,
    QuorumSection,
    RebuildsSection,
    Status,
)
from vouch.report.sections import provenance_files, provenance_outcome, rebuild_run, rebuilds_outcome
from vouch.trust import Trust

NOT_REBUILT = "not rebuilt: --rebuild rebuilds the release's pure-Python wheels from its sdist (slow)"


@dataclass(frozen=True)
class PublishedInputs:
    """What ``vouch report pypi:NAME==VERSION`` checks, and with what."""

    spec: str  # pypi:NAME==VERSION
    index_url: str = PYPI_SIMPLE
    evidence: tuple[Path, ...] = ()
    policy: Path | None = None  # default: vouch.toml or pyproject.toml here
    publisher: ExpectedPublisher | None = None  # default: the policy's [provenance] publisher
    trust: Trust = field(default_factory=Trust)  # for provenance (and Sigstore evidence)
    rebuild: bool = False
    accept_equivalent: bool = False
    checksums: Path | None = None
    checksums_keyring: Path | None = None
    doctor_evidence: Path | None = None
    cache_dir: Path = field(default_factory=default_cache_dir)  # the rebuild's build environments
    host: Host = field(default_factory=Host)  # the index is read on its transport


def gather_published(
    inputs: PublishedInputs,
    *,
    now: datetime.datetime | None = None,
    bundle_verifier: BundleVerifier | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> Page:
    """Every section of the page for the published release; raises only when the index cannot be
    read or does not list the release (``CheckError``, naming the versions it does list)."""
    now = now or datetime.datetime.now(datetime.UTC)
    name, version = parse_spec(inputs.spec)
    shown = redact(inputs.index_url)
    with (
        tempfile.TemporaryDirectory(prefix="vouch-report-") as tmp_name,
        SimpleIndex(inputs.index_url, cache_dir=Path(tmp_name) / "dists", host=inputs.host) as index,
    ):
        tmp = Path(tmp_name)
        progress(f"reading {name} from {shown}")
        listed = index.project_files(name)
        files = files_of_release(listed, name, version)
        if not files:
            message, hint = missing_release(inputs.index_url, listed, name, version)
            raise CheckError(message, hint=hint)
        if len({f.filename for f in files}) != len(files):
            raise NetworkError(f"{shown} lists a file of {name} {version} twice")
        artifacts, paths = _download(index, files, tmp / "release", progress)
        filenames = [f.filename for f in files]
        local = ReportInputs(
            artifacts=tuple(paths), evidence=inputs.evidence, policy=inputs.policy,
            checksums=inputs.checksums, checksums_keyring=inputs.checksums_keyring,
            doctor_evidence=inputs.doctor_evidence, accept_equivalent=inputs.accept_equivalent,
        )  # fmt: skip
        progress("checking the quorum")
        quorum, policy, commits = _quorum(local, len(files), now, bundle_verifier)
        provenance, publisher_known = _provenance(inputs, f"{name}=={version}", tmp, filenames, progress)
        rebuilds = _rebuilds(inputs, files, progress)
        progress("verifying the checksum file")
        if paths or inputs.checksums is None:
            checksums = checksums_of(local, policy, filenames)
        else:
            reason = "no file of the release could be downloaded"
            checksums = ChecksumsSection(Outcome(Status.NOT_CHECKED, reason), str(inputs.checksums))
    progress("verifying the doctor statement")
    baseline = baseline_section(inputs.doctor_evidence, policy, now)
    given = {"release", "artifacts", "quorum"}
    given |= {"provenance"} if publisher_known else set()
    given |= {"rebuilds"} if inputs.rebuild else set()
    given |= {"checksums"} if inputs.checksums else set()
    given |= {"baseline"} if inputs.doctor_evidence else set()
    found = Sections(str(canonicalize_name(name)), str(version), artifacts, quorum, commits, rebuilds,
                     provenance, checksums, baseline, hashed=f"downloaded from {shown}, each with the "
                     "sha256 the index lists", origin=shown)  # fmt: skip
    return assemble(found, now, given)


def _download(
    index: SimpleIndex, files: Sequence[IndexFile], folder: Path, progress: Progress
) -> tuple[list[Artifact], list[Path]]:
    """Every file downloaded (sha256-checked) into ``folder``: the artifacts as shown, and the paths
    of those whose bytes are the index's. A refused file is a mismatch; a download cut short, unread."""
    folder.mkdir()
    artifacts, paths = [], []
    for number, file in enumerate(files, 1):
        progress(f"file {number} of {len(files)}: downloading {file.filename}")
        listed = file.sha256 or "(the index lists none)"
        try:
            cached = index.download(file, progress)
        except VerificationError as exc:
            artifacts.append(Artifact(file.filename, None, listed, mismatches=(str(exc),)))
            continue
        except NetworkError as exc:
            artifacts.append(Artifact(file.filename, None, listed, unchecked=(f"not downloaded: {exc}",)))
            continue
        path = folder / file.filename  # a plain file name: SimpleIndex.download checked it
        try:
            os.link(cached, path)
        except OSError:
            shutil.copyfile(cached, path)
        artifacts.append(Artifact(file.filename, path.stat().st_size, file_sha256(path)))
        paths.append(path)
    return artifacts, paths


def _quorum(local: ReportInputs, files: int, now: datetime.datetime,
            verifier: BundleVerifier | None) -> tuple[QuorumSection, Policy | None, set[str]]:  # fmt: skip
    """``vouch check`` over the downloaded files. A statement vouches for the whole release, so
    without every file (or without evidence: the index serves none) it is not checked; the policy
    is still read, for the checksum file and the doctor statement."""
    if local.evidence and len(local.artifacts) == files:
        return quorum_of(local, now, verifier)
    if not local.evidence:
        reason = "no evidence given (--evidence FILE)"
    else:
        missing = files - len(local.artifacts)
        reason = (f"{missing} of the release's {files} file(s) could not be read as the index lists "
                  "them (see Artifacts); the statements vouch for the whole release")  # fmt: skip
    try:
        policy: Policy | None = load_policy(local.policy)
    except VouchError:
        policy = None
    return QuorumSection(Outcome(Status.NOT_CHECKED, reason)), policy, set()


def _failed_or_unchecked(exc: VouchError) -> Status:
    """A fact about the release (exit 1) fails the section; anything else leaves it unchecked."""
    return Status.FAILED if exc.exit_code == 1 else Status.NOT_CHECKED


def _provenance(inputs: PublishedInputs, release: str, tmp: Path, filenames: Sequence[str],
                progress: Progress) -> tuple[ProvenanceSection, bool]:  # fmt: skip
    """The section, and whether an expected publisher was known (else there was nothing to check
    against: not checked, and not held against the page)."""
    publisher = inputs.publisher
    if publisher is None:
        try:
            publisher = publisher_from_policy(inputs.policy)
        except VouchError as exc:
            return ProvenanceSection(Outcome(Status.NOT_CHECKED, f"not checked: {exc}")), False
    options = ReleaseOptions(release, publisher, inputs.trust, index_url=inputs.index_url,
                             cache_dir=tmp, host=inputs.host)  # fmt: skip
    try:
        report = verify_release(options, progress)
    except VouchError as exc:
        return ProvenanceSection(Outcome(_failed_or_unchecked(exc), str(exc))), True
    source = f"{report.index or redact(inputs.index_url)}"
    root, files = provenance_files(report.to_json(), source)
    outcome = provenance_outcome(files, [], filenames, given=True)
    if outcome.status is Status.PASSED:
        outcome = Outcome(Status.PASSED, f"every file's provenance verified here against {publisher.spec}")
    return ProvenanceSection(outcome, (source,), root, files), True


def _rebuilds(inputs: PublishedInputs, files: Sequence[IndexFile], progress: Progress) -> RebuildsSection:
    if not inputs.rebuild:
        return RebuildsSection(Outcome(Status.NOT_CHECKED, NOT_REBUILT))
    options = PublishedOptions(inputs.spec, index_url=inputs.index_url, cache_dir=inputs.cache_dir,
                               host=inputs.host)  # fmt: skip
    try:
        report = rebuild_published(options, progress)
    except VouchError as exc:
        return RebuildsSection(Outcome(_failed_or_unchecked(exc), str(exc)))
    run = rebuild_run(report.to_json(), "the published sdist, rebuilt here",
                      accept_equivalent=inputs.accept_equivalent)  # fmt: skip
    wheels = [f.filename for f in files if f.filename.endswith(".whl")]
    outcome = rebuilds_outcome([run], [], wheels)
    if outcome.status is Status.PASSED:
        outcome = Outcome(Status.PASSED, f"every wheel ({len(wheels)}) rebuilt here from the published "
                          "sdist (the sdist is their source; it is not rebuilt itself)")  # fmt: skip
    return RebuildsSection(outcome, (run,))
