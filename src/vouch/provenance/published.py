"""``vouch provenance NAME==VERSION``: every file of a published release, against the expected publisher.

The files come from the index's PEP 691 JSON API; each file's provenance from its PEP 740
``provenance`` URL, else PyPI's Integrity API on the index's host
(``/integrity/NAME/VERSION/FILENAME/provenance``). A file that has provenance is downloaded, its
sha256 checked against the index, and every attestation verified offline. A file missing from the
Integrity API (404) has no provenance; any other answer, or a download cut short, is "not checked".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import InvalidVersion, Version
from pypi_attestations import Distribution, Provenance

from vouch.errors import CheckError, NetworkError, UsageError, VerificationError
from vouch.host import Host, Progress, default_cache_dir
from vouch.index import PYPI_SIMPLE
from vouch.index.simple import IndexFile, SimpleIndex, files_of_release, missing_release
from vouch.index.urls import redact
from vouch.provenance.publisher import ExpectedPublisher
from vouch.provenance.report import FileReport, ProvenanceReport, Status
from vouch.provenance.verify import check_provenance, load_provenance
from vouch.trust import Trust

NO_PROVENANCE_URLS = (
    "the index lists no PEP 740 provenance URL for any of these files (an index or mirror without "
    "PEP 740 lists none); each was looked up in the Integrity API on the index's host"
)
_RELEASE = re.compile(r"^(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)==(?P<version>\S+)$")


def parse_release(spec: str) -> tuple[str, Version]:
    match = _RELEASE.match(spec)
    if match is None:
        raise UsageError(f"{spec!r} is not NAME==VERSION")
    try:
        return match["name"], Version(match["version"])
    except InvalidVersion as exc:
        raise UsageError(f"{spec!r}: {exc}") from exc


@dataclass(frozen=True)
class ReleaseOptions:
    release: str
    publisher: ExpectedPublisher
    trust: Trust
    index_url: str = PYPI_SIMPLE
    cache_dir: Path = field(default_factory=default_cache_dir)
    host: Host = field(default_factory=Host)  # the index is read on its transport


def verify_release(options: ReleaseOptions, progress: Progress = lambda _: None) -> ProvenanceReport:
    name, version = parse_release(options.release)
    with SimpleIndex(
        options.index_url, cache_dir=options.cache_dir / "dists", host=options.host
    ) as index:
        progress(f"reading {name} from {redact(options.index_url)}")
        listed = index.project_files(name)
        files = files_of_release(listed, name, version)
        if not files:
            message, hint = missing_release(options.index_url, listed, name, version)
            raise CheckError(message, hint=hint)
        reports = []
        for number, file in enumerate(files, 1):
            progress(f"file {number} of {len(files)}: checking {file.filename}")
            reports.append(_check_file(index, file, name, str(version), options, progress=progress))
    notes: tuple[str, ...] = ()
    if not any(file.provenance for file in files):
        notes = (NO_PROVENANCE_URLS,)
    return ProvenanceReport(f"{name}=={version}", options.publisher.to_json(), options.trust.name,
                            tuple(reports), index=redact(options.index_url), notes=notes)  # fmt: skip


def _check_file(
    index: SimpleIndex,
    file: IndexFile,
    name: str,
    version: str,
    options: ReleaseOptions,
    *,
    progress: Progress,
) -> FileReport:
    url = index.provenance_url(file, name, version)
    found = _fetch_provenance(index, file, url)
    if isinstance(found, FileReport):
        return found
    try:
        index.download(file, progress)
    except NetworkError as exc:
        return _report(file, url, Status.UNCHECKED, str(exc))
    except VerificationError as exc:
        return _report(file, url, Status.FAILED, str(exc))
    dist = Distribution(name=file.filename, digest=file.sha256)
    return check_provenance(
        found, dist, options.publisher, options.trust, source=redact(url), yanked=file.yanked
    )


def _fetch_provenance(index: SimpleIndex, file: IndexFile, url: str) -> Provenance | FileReport:
    """The file's provenance, or the report of why there is none to verify."""
    try:
        data = index.fetch_provenance(url)
    except NetworkError as exc:
        return _report(file, url, Status.UNCHECKED, str(exc))
    if data is None:
        missing = f"the index has no provenance for this file ({redact(url)} answered 404)"
        return _report(file, url, Status.MISSING, missing)
    try:
        provenance = load_provenance(data)
    except ValueError as exc:
        return _report(file, url, Status.UNCHECKED, f"the index's answer at {redact(url)} is {exc}")
    if not file.sha256:
        return _report(file, url, Status.UNCHECKED, "the index lists no sha256 for this file")
    return provenance


def _report(file: IndexFile, url: str, status: Status, reason: str) -> FileReport:
    return FileReport(file.filename, file.sha256, status, (reason,), source=redact(url), yanked=file.yanked)
