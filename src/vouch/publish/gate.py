"""``vouch publish``: upload only what passed ``vouch check``, then compare what the index serves.

The order is: the k-of-n check (nothing is uploaded unless it passes); the index's current files
(a file already there with the vouched sha256 is skipped, with another sha256 it is an error and
nothing further is uploaded); the uploads, sdist first, one file at a time through twine (which
finds credentials as it always does: keyring, TWINE_USERNAME/TWINE_PASSWORD, or a Trusted
Publishing token in CI); then the read-back of the index's simple API, where every file must be
served with the vouched sha256.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vouch.build.builder import default_cache_dir
from vouch.errors import CheckError, UsageError, VerificationError
from vouch.index.simple import SimpleIndex
from vouch.models.dist import dist_name_version
from vouch.policy.check import CheckReport, check
from vouch.policy.model import load_policy

PYPI_UPLOAD = "https://upload.pypi.org/legacy/"
KNOWN_INDEXES = {
    PYPI_UPLOAD: "https://pypi.org/simple/",
    "https://test.pypi.org/legacy/": "https://test.pypi.org/simple/",
}
Uploader = Callable[[str, Path, bool], None]
Progress = Callable[[str], None]


def default_index(repository: str) -> str:
    return KNOWN_INDEXES.get(repository) or repository.rstrip("/") + "/simple/"


def twine_upload(repository: str, dist: Path, attestations: bool) -> None:
    """Upload one file with twine; its error, without any secret, becomes a CheckError."""
    command = [
        sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
        "--repository-url", repository, *(["--attestations"] if attestations else []), str(dist),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        message = " ".join(line.strip() for line in output[-3:])
        for secret in (os.environ.get("TWINE_PASSWORD"), os.environ.get("PYPI_TOKEN")):
            if secret:
                message = message.replace(secret, "***")
        raise CheckError(f"uploading {dist.name} to {repository} failed: {message}")


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
    policy: Path | None = None
    attestations: bool = False
    dry_run: bool = False
    cache_dir: Path = field(default_factory=default_cache_dir)


def release_of(artifacts: Sequence[Path]) -> str:
    """The one project all artifacts belong to; sdists come first in the upload order."""
    projects = set()
    for path in artifacts:
        parsed = dist_name_version(path.name)
        if parsed is None:
            raise UsageError(f"{path.name} is not an sdist or a wheel file name")
        projects.add(parsed)
    if len(projects) != 1:
        raise UsageError(f"the artifacts belong to several releases: {sorted(map(str, projects))}")
    return str(next(iter(projects))[0])


def publish(
    options: PublishOptions, progress: Progress = lambda _: None, uploader: Uploader = twine_upload
) -> PublishReport:
    artifacts = sorted(options.artifacts, key=lambda p: (not p.name.endswith(".tar.gz"), p.name))
    project = release_of(artifacts)
    progress("checking the evidence against the policy")
    report = PublishReport(
        check(artifacts, options.evidence, load_policy(options.policy)),
        options.repository,
        options.index or default_index(options.repository),
        options.dry_run,
    )
    if not report.check.passed:
        return report
    attest = options.attestations
    if attest and options.repository != PYPI_UPLOAD:
        report.warnings.append("attestations are uploaded to PyPI only; uploading without them")
        attest = False
    if attest:
        missing = [p.name for p in artifacts if not p.with_name(p.name + ".publish.attestation").is_file()]
        if missing:
            raise UsageError(
                f"--attestations: no .publish.attestation for {missing}", hint="run vouch attest"
            )
    vouched = {a.filename: a.sha256 for a in report.check.artifacts}
    with SimpleIndex(report.index, cache_dir=options.cache_dir / "dists") as index:
        progress(f"reading {project} from {report.index}")
        served = {f.filename: f.sha256 for f in index.project_files(project, missing_ok=True)}
        for path in artifacts:
            outcome = FileOutcome(path.name, vouched[path.name], "")
            report.files.append(outcome)
            if path.name in served:
                if served[path.name] != outcome.sha256:
                    raise VerificationError(
                        f"{report.index} already serves {path.name} with sha256 {served[path.name]}, "
                        f"not the vouched {outcome.sha256}; nothing further was uploaded"
                    )
                outcome.action = "skipped: already on the index"
            elif options.dry_run:
                outcome.action = "would upload"
            else:
                progress(f"uploading {path.name}")
                uploader(options.repository, path, attest)
                outcome.action = "uploaded"
        if options.dry_run:
            return report
        progress("reading back what the index serves")
        served = {f.filename: f.sha256 for f in index.project_files(project)}
    for outcome in report.files:
        outcome.served_sha256 = served.get(outcome.filename)
        if outcome.served_sha256 != outcome.sha256:
            raise VerificationError(
                f"THE INDEX SERVES {outcome.filename} with sha256 {outcome.served_sha256}, "
                f"NOT the vouched {outcome.sha256}"
            )
    return report
