"""``vouch rebuild pypi:NAME==VERSION``: rebuild a published release's wheels from its sdist.

For releases not built by vouch: the files come from the index's PEP 691 JSON API (sha256
checked), the recipe is inferred (``vouch.rebuild.infer``), the build environment is resolved by uv
as of the release's first upload and installed from hash-checked wheels, the published sdist is
unpacked as published (its modes and mtimes, which setuptools copies into the wheel), and the
backend builds the wheel in the hermetic environment. The raw wheel is compared with the
published one: no normalisation is applied before comparing, so "bit-identical" means it.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from vouch import __version__
from vouch.archive.safe import extract_sdist, read_tar_gz, read_zip
from vouch.atomic import write_json_atomic
from vouch.builder.builder import BUILDER_ID
from vouch.builder.env import Interpreter, find_uv, install_locked
from vouch.builder.hooks import BackendRunner
from vouch.builder.lock import resolve_lock
from vouch.builder.record import Dependency, Subject, rebuild_statement
from vouch.errors import CheckError, OutputError, UsageError
from vouch.host import Progress, default_cache_dir
from vouch.index import PYPI_SIMPLE
from vouch.index.simple import IndexFile, SimpleIndex, missing_release
from vouch.index.urls import redact
from vouch.rebuild.compare import compare_artifacts
from vouch.rebuild.infer import infer_recipe
from vouch.rebuild.verdict import ArtifactVerdict, RebuildReport, Verdict

_SPEC = re.compile(r"^pypi:(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)$")


@dataclass(frozen=True)
class PublishedOptions:
    spec: str
    index_url: str = PYPI_SIMPLE
    cache_dir: Path = field(default_factory=default_cache_dir)
    interpreter: Interpreter = field(default_factory=Interpreter.current)
    record_out: Path | None = None


def parse_spec(spec: str) -> tuple[str, Version]:
    match = _SPEC.match(spec)
    if match is None:
        raise UsageError(f"{spec!r} is not pypi:NAME==VERSION")
    try:
        return match.group("name"), Version(match.group("version"))
    except InvalidVersion as exc:
        raise UsageError(f"{spec!r}: {exc}") from exc


@dataclass(frozen=True)
class ReleaseFiles:
    sdist: IndexFile
    wheels: tuple[IndexFile, ...]
    skipped: tuple[str, ...]

    @property
    def first_upload(self) -> str | None:
        times = [f.upload_time for f in (self.sdist, *self.wheels) if f.upload_time]
        return min(times) if times else None


COMPILED = ": compiled code; vouch rebuilds pure-Python wheels only"


def compiled_summary(skipped: tuple[str, ...] | list[str]) -> str:
    """One line for the wheels skipped as compiled, however many: "N wheels ..., e.g. X"."""
    names = [s.removesuffix(COMPILED) for s in skipped]
    if len(names) == 1:
        return f"{names[0]} holds compiled code"
    return f"{len(names)} wheels hold compiled code, e.g. {names[0]}; `--json` lists them"


def rebuildable_files(
    files: list[IndexFile], name: str, version: Version, index_url: str = PYPI_SIMPLE
) -> ReleaseFiles:
    """The release's sdist and pure-Python wheels; compiled wheels are listed as skipped."""
    sdists: list[IndexFile] = []
    wheels: list[IndexFile] = []
    skipped: list[str] = []
    project = canonicalize_name(name)
    for file in files:
        try:
            if file.filename.endswith(".whl"):
                wheel_name, wheel_version, _, tags = parse_wheel_filename(file.filename)
                if (wheel_name, wheel_version) != (project, version):
                    continue
                if all(t.abi == "none" and t.platform == "any" for t in tags):
                    wheels.append(file)
                else:
                    skipped.append(f"{file.filename}{COMPILED}")
            elif file.filename.endswith(".tar.gz") and parse_sdist_filename(file.filename) == (
                project,
                version,
            ):
                sdists.append(file)
        except (InvalidWheelFilename, InvalidSdistFilename):
            continue
    if not sdists and not wheels and not skipped:
        message, hint = missing_release(index_url, files, name, version)
        raise CheckError(message, hint=hint)
    if len(sdists) != 1:
        raise CheckError(f"{name} {version}: the index lists {len(sdists)} sdists; need exactly one",
                         hint="vouch rebuilds a release's wheels from its one sdist")  # fmt: skip
    if not wheels:
        reason = f": {compiled_summary(skipped)}" if skipped else ""
        raise CheckError(f"{name} {version} has no pure-Python wheel to rebuild{reason}",
                         hint="vouch rebuilds pure-Python wheels only (from the sdist)")  # fmt: skip
    return ReleaseFiles(sdists[0], tuple(wheels), tuple(skipped))


def rebuild_published(options: PublishedOptions, progress: Progress = lambda _: None) -> RebuildReport:
    name, version = parse_spec(options.spec)
    uv = find_uv()
    with (
        SimpleIndex(options.index_url, cache_dir=options.cache_dir / "dists") as index,
        tempfile.TemporaryDirectory(prefix="vouch-rebuild-") as tmp_name,
    ):
        tmp = Path(tmp_name)
        progress(f"reading {name} from {redact(options.index_url)}")
        release = rebuildable_files(index.project_files(name), name, version, options.index_url)
        sdist_path = index.download(release.sdist, progress)
        sdist_bytes = sdist_path.read_bytes()
        sdist = read_tar_gz(sdist_bytes)
        gzip_mtime = int.from_bytes(sdist_bytes[4:8], "little")
        verdicts: list[ArtifactVerdict] = []
        recipe_json: dict[str, object] = {}
        for number, wheel_file in enumerate(release.wheels, 1):
            progress(f"wheel {number} of {len(release.wheels)}: {wheel_file.filename}")
            published = index.download(wheel_file, progress)
            recipe = infer_recipe(
                sdist,
                read_zip(published.read_bytes()),
                uploaded=release.first_upload,
                gzip_mtime=gzip_mtime,
            )
            progress(f"resolving {', '.join(recipe.requirements)}")
            packages = resolve_lock(
                recipe.requirements,
                uv=uv,
                python=options.interpreter.executable,
                index_url=options.index_url,
                cache_dir=options.cache_dir / "uv",
                exclude_newer=recipe.exclude_newer,
            )
            work = tmp / wheel_file.filename
            (work / "home").mkdir(parents=True)
            (work / "tmp").mkdir()
            (work / "out").mkdir()
            installed = install_locked(
                packages, index, options.interpreter, work / "venv", uv=uv, cache_dir=options.cache_dir
            )
            project = extract_sdist(sdist, work / "sdist")
            runner = BackendRunner(
                venv=work / "venv",
                home=work / "home",
                tmp=work / "tmp",
                source_date_epoch=recipe.source_date_epoch,
            )
            progress(f"building {wheel_file.filename} from the published sdist")
            rebuilt = runner.build(project, "wheel", work / "out", installed.versions)
            progress("comparing")
            verdict = compare_artifacts(published, rebuilt)
            if rebuilt.name != published.name:
                note = f"the rebuild is named {rebuilt.name}"
                verdict = ArtifactVerdict(
                    published.name, verdict.expected_sha256, verdict.rebuilt_sha256,
                    Verdict.DIFFERENT, verdict.normalisations, verdict.differences, note,
                )  # fmt: skip
            verdicts.append(verdict)
            recipe_json = recipe.to_json() | {
                "resolved": [f"{p.name}=={p.version}" for p in installed.packages],
                "python": f"{options.interpreter.implementation} {options.interpreter.version}",
            }
    report = RebuildReport(
        recipe={"release": f"{name}=={version}", "sdist": release.sdist.filename, **recipe_json},
        artifacts=tuple(verdicts),
        warnings=release.skipped,
    )
    if options.record_out is not None:
        statement = rebuild_statement(
            release=f"{name}=={version}",
            index_url=redact(options.index_url),
            sdist=Subject(release.sdist.filename, release.sdist.sha256),
            rebuilt=tuple(Subject(v.filename, v.rebuilt_sha256) for v in verdicts if v.rebuilt_sha256),
            recipe=report.recipe,
            dependencies=tuple(
                Dependency(p.name, p.version, p.filename, p.sha256) for p in installed.packages
            ),
            builder_id=f"{BUILDER_ID}@{__version__}",
        )
        try:
            write_json_atomic(options.record_out, statement)
        except OSError as exc:
            raise OutputError(f"cannot write {options.record_out}: {exc.strerror}") from exc
    return report
