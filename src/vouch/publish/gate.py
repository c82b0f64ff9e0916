"""``vouch publish``: upload only what passed ``vouch check``, then compare what the index serves.

The order is: the artifacts are copied into a private staging folder (``publish.staging``), and
from then on only those copies are hashed, checked and uploaded; the k-of-n check (nothing is
uploaded unless it passes); the index's current files, for every artifact before any upload (a
file already there with the vouched sha256 is skipped; any file there with another sha256 is an
error and nothing is uploaded); the uploads, sdist first, one file at a time through twine
(``publish.twine``); then the read-back of the index's simple API, where every file must be
served with the vouched sha256. An upload that fails midway says which files the index now serves;
running the same command again finishes the job. URLs are reported without their credentials.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vouch.digests import file_sha256
from vouch.dist import one_release
from vouch.errors import CheckError, UsageError, VerificationError, VouchError
from vouch.host import Host, Progress, default_cache_dir
from vouch.index.simple import SimpleIndex, megabytes
from vouch.index.urls import parse_url, redact
from vouch.policy.check import CheckReport, check
from vouch.policy.model import Policy, load_policy
from vouch.publish.staging import ATTESTATION_SUFFIX, staged
from vouch.publish.twine import twine_upload
from vouch.sign.notes import read_note
from vouch.trust import Trust

__all__ = ["PublishOptions", "PublishReport", "publish", "twine_upload"]

PYPI_UPLOAD = "https://upload.pypi.org/legacy/"
KNOWN_INDEXES = {
    PYPI_UPLOAD: "https://pypi.org/simple/",
    "https://test.pypi.org/legacy/": "https://test.pypi.org/simple/",
}
RERUN = "running the same vouch publish again skips those and finishes the job"
Uploader = Callable[[str, Path, bool], None]


def default_index(repository: str) -> str:
    return KNOWN_INDEXES.get(repository) or repository.rstrip("/") + "/simple/"


@dataclass
class FileOutcome:
    filename: str
    sha256: str
    action: str
    served_sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"filename": self.filename, "sha256": self.sha256, "action": self.action,
                "served_sha256": self.served_sha256}  # fmt: skip


@dataclass
class PublishReport:
    check: CheckReport
    repository: str
    index: str
    dry_run: bool
    files: list[FileOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "published": not self.dry_run,
            "repository": self.repository,
            "index": self.index,
            "check": self.check.to_json(),
            "files": [f.to_json() for f in self.files],
            "warnings": self.warnings,
        }


@dataclass(frozen=True)
class PublishOptions:
    artifacts: tuple[Path, ...]
    repository: str = PYPI_UPLOAD
    index: str | None = None
    evidence: tuple[Path, ...] = ()
    notes: tuple[Path, str] | None = None  # (repository, revision) whose refs/notes/vouch note counts too
    policy: Path | None = None
    attestations: bool = False
    dry_run: bool = False
    cache_dir: Path = field(default_factory=default_cache_dir)
    trust: Trust = field(default_factory=Trust)
    host: Host = field(default_factory=Host)


def publish(
    options: PublishOptions, progress: Progress = lambda _: None, uploader: Uploader | None = None
) -> PublishReport:
    """See the module. ``uploader`` uploads one staged file (default: twine on the options' host)."""
    uploader = uploader or functools.partial(twine_upload, host=options.host)
    artifacts = sorted(options.artifacts, key=lambda p: (not p.name.endswith(".tar.gz"), p.name))
    project = str(one_release(artifacts)[0])
    parse_url(options.repository, "--repository")
    index_url = options.index or default_index(options.repository)
    parse_url(index_url, "--index")
    attest = options.attestations
    warnings = []
    if attest and options.repository != PYPI_UPLOAD:
        warnings.append("attestations are uploaded to PyPI only; uploading without them")
        attest = False
    policy = load_policy(options.policy, host=options.host)
    lines = read_note(*options.notes, host=options.host)[1] if options.notes else []
    with staged(artifacts, with_attestations=attest) as copies:
        progress("checking the evidence against the policy")
        report = PublishReport(
            check(copies, options.evidence, policy, now=options.host.clock(),
                  bundle_verifier=_sigstore(options.trust), lines=lines),
            redact(options.repository),
            redact(index_url),
            options.dry_run,
            warnings=warnings,
        )
        if not report.check.passed:
            return report
        if attest:
            missing = [p.name for p in copies if not p.with_name(p.name + ATTESTATION_SUFFIX).is_file()]
            if missing:
                raise UsageError(
                    f"--attestations: no .publish.attestation for {missing}", hint="run vouch attest"
                )
        with SimpleIndex(index_url, cache_dir=options.cache_dir / "dists", host=options.host) as index:
            _upload(report, index, copies, project=project, options=options, attest=attest,
                    progress=progress, uploader=uploader)  # fmt: skip
    return report


def _upload(
    report: PublishReport, index: SimpleIndex, copies: list[Path], *, project: str,
    options: PublishOptions, attest: bool, progress: Progress, uploader: Uploader,
) -> None:  # fmt: skip
    vouched = {a.filename: a.sha256 for a in report.check.artifacts}
    progress(f"reading {project} from {report.index}")
    served = {f.filename: f.sha256 for f in index.project_files(project, missing_ok=True)}
    conflicts = [f"{name} with sha256 {served[name]}, not the vouched {vouched[name]}"
                 for name in vouched if name in served and served[name] != vouched[name]]  # fmt: skip
    if conflicts:
        raise VerificationError(
            f"{report.index} already serves {'; '.join(conflicts)}; nothing was uploaded",
            hint="files on an index can never be replaced: publish a new version",
        )
    for number, path in enumerate(copies, 1):
        outcome = FileOutcome(path.name, vouched[path.name], "")
        report.files.append(outcome)
        if path.name in served:
            outcome.action = "skipped: already on the index"
        elif options.dry_run:
            outcome.action = "would upload"
        else:
            progress(f"uploading {path.name} ({number} of {len(copies)}, {megabytes(path.stat().st_size)})")
            if file_sha256(path) != outcome.sha256:
                raise CheckError(f"the staged copy of {path.name} changed after the check; not uploaded")
            try:
                uploader(options.repository, path, attest)
            except CheckError as exc:
                now = _now_served(index, project, vouched)
                raise CheckError(f"{exc}; {now}; {RERUN}") from exc
            outcome.action = "uploaded"
    if options.dry_run:
        return
    progress("reading back what the index serves")
    served = {f.filename: f.sha256 for f in index.project_files(project)}
    for outcome in report.files:
        outcome.served_sha256 = served.get(outcome.filename)
        if outcome.served_sha256 != outcome.sha256:
            raise VerificationError(
                f"THE INDEX SERVES {outcome.filename} with sha256 {outcome.served_sha256}, "
                f"NOT the vouched {outcome.sha256}"
            )


def _now_served(index: SimpleIndex, project: str, vouched: dict[str, str]) -> str:
    """Which of the vouched files the index serves now, after an upload failed midway."""
    try:
        served = {f.filename: f.sha256 for f in index.project_files(project, missing_ok=True)}
    except VouchError:
        return "the index could not be read to tell which files it serves now"
    now = sorted(name for name, sha256 in vouched.items() if served.get(name) == sha256)
    return f"the index now serves {', '.join(now) if now else 'none of these files'}"


def _sigstore(trust: Trust) -> Callable[[dict[str, Any], Policy], tuple[set[str], bytes]]:
    """Sigstore bundles in the evidence, verified under the command's ``trust`` (as vouch check does)."""

    def verify(document: dict[str, Any], policy: Policy) -> tuple[set[str], bytes]:
        from vouch.policy.sigstore import sigstore_bundle_verifier  # noqa: PLC0415 - slow to import

        return sigstore_bundle_verifier(document, policy, trust)

    return verify
