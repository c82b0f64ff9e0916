"""The checks a worker runs: pure functions of their task (no database, no global state).

``check_file``: the index's PEP 691 page must list the pinned file with the locked sha256 (for a
requirements.txt hash: some file of that release with that sha256), then the file's PEP 740
provenance (its ``provenance`` URL, else the Integrity API path) must verify offline: against the
lock's attestation identities when it names them, else against the publisher the index claims
for the file, which is then the file's identity for the continuity check. No bytes are downloaded:
the attestation signs the digest, and the digest is the one the lock pins.

``release_history``: the publishers of the releases before this one, each found the same way from
one sdist and one wheel of the release (the first that has provenance). A network failure makes
the whole history "not read" (never an empty history, which would pass continuity).

Every failure to reach the index or to load the trust root becomes "not checked" with its
reason; nothing is raised to the caller, so one bad file cannot stop the others.

A worker keeps the last few project pages it read, by (run, index, project): the file tasks of one
run share a project's page instead of each reading and parsing it again (a page of botocore lists
tens of thousands of files). Pages are never shared between runs, so a run sees the index as it is.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from pathlib import Path

from packaging.version import Version
from pypi_attestations import Distribution, Provenance

from vouch.dist import dist_name_version
from vouch.errors import UsageError, VouchError
from vouch.host import default_cache_dir
from vouch.index.simple import IndexFile, SimpleIndex, files_of_release
from vouch.index.urls import redact
from vouch.provenance.publisher import describe_claim, parse_publisher
from vouch.provenance.report import Status
from vouch.provenance.verify import check_provenance, load_provenance
from vouch.trust import Trust
from vouch.verify.model import (
    Earlier,
    FileOutcome,
    FileTask,
    History,
    HistoryTask,
    Outcome,
    State,
    TrustSpec,
)

_FILES_PER_EARLIER_RELEASE = 2  # one sdist and one wheel: a release's publisher signs all its files


def check_file(task: FileTask, cache_dir: Path | None = None) -> FileOutcome:
    """The index check and the provenance check of one pinned file."""
    shown = task.filename or f"{task.project}-{task.version} (sha256 {task.sha256[:16]}...)"
    unchecked = Outcome(State.UNCHECKED, "the index check did not pass")
    try:
        with _index(task.index_url, task.deadline, cache_dir) as index:
            page = _project_page(index, task)
            files = files_of_release(page, task.project, Version(task.version))
            found, listed = _listed(files, task)
            if found is None:
                return FileOutcome(shown, task.sha256, listed, unchecked)
            provenance = _provenance(index, found, task)
            return FileOutcome(found.filename, task.sha256, listed, provenance, found.size)
    except VouchError as exc:
        problem = Outcome(State.UNCHECKED, str(exc))
        return FileOutcome(shown, task.sha256, problem, problem)


_PAGES_KEPT = 8
_pages: OrderedDict[tuple[str, str, str], list[IndexFile]] = OrderedDict()
_pages_lock = threading.Lock()


def _project_page(index: SimpleIndex, task: FileTask) -> list[IndexFile]:
    """The project's files as the index lists them, read once per run in this worker (see above)."""
    key = (task.run, task.index_url, task.project)
    if task.run:
        with _pages_lock:
            if key in _pages:
                _pages.move_to_end(key)
                return _pages[key]
    listed = index.project_files(task.project, missing_ok=True)
    if task.run:
        with _pages_lock:
            _pages[key] = listed
            while len(_pages) > _PAGES_KEPT:
                _pages.popitem(last=False)
    return listed


def release_history(task: HistoryTask, cache_dir: Path | None = None) -> History:
    """The publishers of the ``task.count`` releases before ``task.version``, newest first."""
    try:
        with _index(task.index_url, task.deadline, cache_dir) as index:
            listed = index.project_files(task.project, missing_ok=True)
            current = Version(task.version)
            versions = sorted({v for f in listed if (v := _version_of(f, task.project)) and v < current})
            trust = _trust(task.trust)
            earlier = []
            for version in reversed(versions[-task.count :] if task.count else []):
                files = files_of_release(listed, task.project, version)
                earlier.append(_earlier(index, trust, task.project, version, files))
            return History(tuple(earlier))
    except VouchError as exc:
        return History(problem=f"the history of {task.project} could not be read: {exc}")


@functools.lru_cache(maxsize=4)
def _trust(spec: TrustSpec) -> Trust:
    """One ``Trust`` (and its loaded verifier) per root in this worker process, not one per file."""
    return spec.trust()


def _index(url: str, deadline: float, cache_dir: Path | None) -> SimpleIndex:
    # the checks download nothing; the cache folder is where a download would go
    return SimpleIndex(url, cache_dir=(cache_dir or default_cache_dir()) / "dists", deadline=deadline)


def _version_of(file: IndexFile, project: str) -> Version | None:
    parsed = dist_name_version(file.filename)
    return parsed[1] if parsed is not None and parsed[0] == project else None


def _listed(files: list[IndexFile], task: FileTask) -> tuple[IndexFile | None, Outcome]:  # noqa: PLR0911
    """The index's entry for the pinned file, and whether it carries the locked sha256."""
    release = f"{task.project} {task.version}"
    if task.filename is not None:
        entries = [f for f in files if f.filename == task.filename]
        if not entries:
            return None, Outcome(State.FAILED, f"the index serves no file {task.filename} of {release}")
        entry = entries[0]
        if not entry.sha256:
            return None, Outcome(State.UNCHECKED, f"the index lists no sha256 for {entry.filename}")
        if entry.sha256 != task.sha256:
            return None, Outcome(State.FAILED, f"the index serves {entry.filename} with sha256 "
                                 f"{entry.sha256}, the lock pins {task.sha256}")  # fmt: skip
        return entry, Outcome(State.VERIFIED)
    matches = [f for f in files if f.sha256 == task.sha256]
    if matches:
        return matches[0], Outcome(State.VERIFIED)
    if any(not f.sha256 for f in files):
        return None, Outcome(State.UNCHECKED, f"the index lists no sha256 for some files of {release}")
    return None, Outcome(State.FAILED, f"no file of {release} on the index has the locked sha256 "
                         f"{task.sha256}")  # fmt: skip


def _provenance(index: SimpleIndex, file: IndexFile, task: FileTask) -> Outcome:
    url = index.provenance_url(file, task.project, task.version)
    try:
        provenance = _fetch(index, url)
        if provenance is None:
            return Outcome(State.NONE, f"the index has no provenance for this file ({redact(url)}: 404)")
        dist = Distribution(name=file.filename, digest=file.sha256)
        trust = _trust(task.trust)
        if not task.expected:
            return verify_against_claim(provenance, dist, trust, redact(url))
        reasons = []
        for spec in task.expected:
            report = check_provenance(provenance, dist, parse_publisher(spec), trust, source=redact(url))
            if report.status is Status.VERIFIED:
                return Outcome(State.VERIFIED, identity=spec)
            reasons.append(f"against {spec} (the lock's attestation identity): {report.reason}")
        return Outcome(State.FAILED, "; ".join(reasons))
    except ValueError as exc:
        return Outcome(State.UNCHECKED, f"the index's answer at {redact(url)} is {exc}")
    except VouchError as exc:
        return Outcome(State.UNCHECKED, str(exc))


def _fetch(index: SimpleIndex, url: str) -> Provenance | None:
    data = index.fetch_provenance(url)
    return None if data is None else load_provenance(data)


def verify_against_claim(provenance: Provenance, dist: Distribution, trust: Trust, source: str) -> Outcome:
    """Verify every attestation against the publisher the index claims (its first bundle's): the
    claim that verifies, environment included, is the file's identity."""
    if not provenance.attestation_bundles:
        return Outcome(State.FAILED, "the provenance holds no attestation bundles")
    spec = describe_claim(provenance.attestation_bundles[0].publisher)
    try:
        expected = parse_publisher(spec)
    except UsageError:
        return Outcome(State.UNCHECKED, f"the publisher {spec} is of a kind vouch cannot check")
    report = check_provenance(provenance, dist, expected, trust, source=source)
    if report.status is Status.VERIFIED:
        return Outcome(State.VERIFIED, identity=spec)
    return Outcome(State.FAILED, f"against the index's publisher claim {spec}: {report.reason}")


def _earlier(index: SimpleIndex, trust: Trust, project: str, version: Version,
             files: list[IndexFile]) -> Earlier:  # fmt: skip
    sdists = [f for f in files if not f.filename.endswith(".whl") and f.sha256]
    wheels = [f for f in files if f.filename.endswith(".whl") and f.sha256]
    for file in (sdists[:1] + wheels[:1])[:_FILES_PER_EARLIER_RELEASE]:
        url = index.provenance_url(file, project, str(version))
        try:
            provenance = _fetch(index, url)
        except ValueError as exc:
            return Earlier(str(version), None, True, f"{file.filename}: unreadable provenance: {exc}")
        if provenance is None:
            continue
        dist = Distribution(name=file.filename, digest=file.sha256)
        outcome = verify_against_claim(provenance, dist, trust, redact(url))
        return Earlier(str(version), outcome.identity, True,
                       None if outcome.identity else f"{file.filename}: {outcome.reason}")  # fmt: skip
    return Earlier(str(version), None, False)
