"""``vouch rebuild pypi:NAME==VERSION``: rebuild a published release's wheels from its sdist.

For releases not built by vouch: the files come from the index's PEP 691 JSON API (sha256
checked), the recipe is inferred (``vouch.rebuild.infer``), the build environment is resolved by uv
as of the release's first upload and installed from hash-checked wheels, the published sdist is
unpacked as published (its modes and mtimes, which setuptools copies into the wheel), and the
backend builds the wheel in the hermetic environment: the builder's steps (``vouch.builder.builder``)
for each wheel, with that wheel's own recipe (a release's wheels may come from different backends or
versions), which its verdict carries. The raw wheel is compared with the published one: no
normalisation is applied before comparing, so "bit-identical" means it.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from vouch import __version__
from vouch.archive.safe import Member, extract_sdist, read_tar_gz, read_zip
from vouch.atomic import write_json_atomic
from vouch.builder.builder import BUILDER_ID, Environment, make_workspace, prepare_environment
from vouch.builder.env import InstalledPackage, Interpreter, find_uv
from vouch.builder.hooks import BackendRunner
from vouch.builder.lock import resolve_lock
from vouch.builder.record import Dependency, Subject, rebuild_statement
from vouch.errors import CheckError, OutputError, UsageError
from vouch.host import Host, Progress, default_cache_dir
from vouch.index import PYPI_SIMPLE
from vouch.index.simple import IndexFile, SimpleIndex, missing_release
from vouch.index.urls import redact
from vouch.rebuild.fromtag import SourceOptions, Traced, keep_artifacts, resolve_source, trace
from vouch.rebuild.infer import Recipe, infer_recipe
from vouch.rebuild.verdict import ArtifactVerdict, RebuildReport
from vouch.rebuild.wheelcheck import compare_published

FROM_TAG_DIR = "from-tag"  # --out keeps the wheels built from the tag's sdist in this folder
_SPEC = re.compile(r"^pypi:(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)$")


# one venv per build lock in a run: (requirements, exclude-newer) -> its prepared environment
Environments = dict[tuple[tuple[str, ...], str | None], Environment]


@dataclass(frozen=True)
class PublishedOptions:
    spec: str
    index_url: str = PYPI_SIMPLE
    cache_dir: Path = field(default_factory=default_cache_dir)
    interpreter: Interpreter = field(default_factory=Interpreter.current)
    record_out: Path | None = None
    source: SourceOptions | None = None  # --source PATH|URL|auto [--rev TAG]: trace the sdist to its tag
    out: Path | None = None  # keep the rebuilt artifacts here
    host: Host = field(default_factory=Host)  # the index is read on its transport


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


@dataclass(frozen=True)
class WheelRebuild:
    """One published wheel rebuilt from the sdist with its own recipe."""

    verdict: ArtifactVerdict
    packages: tuple[InstalledPackage, ...]
    recipe: Recipe
    rebuilt: Path  # the raw wheel the backend wrote


def rebuild_published(
    options: PublishedOptions, progress: Progress = lambda _: None, *, host: Host | None = None
) -> RebuildReport:
    host = host or options.host
    name, version = parse_spec(options.spec)
    with (
        SimpleIndex(options.index_url, cache_dir=options.cache_dir / "dists", host=host) as index,
        tempfile.TemporaryDirectory(prefix="vouch-rebuild-") as tmp_name,
    ):
        tmp = Path(tmp_name)
        progress(f"reading {name} from {redact(options.index_url)}")
        release = rebuildable_files(index.project_files(name), name, version, options.index_url)
        sdist_path = index.download(release.sdist, progress)
        sdist_bytes = sdist_path.read_bytes()
        sdist = read_tar_gz(sdist_bytes)
        gzip_mtime = int.from_bytes(sdist_bytes[4:8], "little")
        resolved = None  # the repository first: a refused or unreachable one fails before any build
        if options.source is not None:
            resolved = resolve_source(options.source, (name, str(version)), sdist, tmp / "clone",
                                      host=host, progress=progress)  # fmt: skip
        wheels: list[WheelRebuild] = []
        published_wheels: list[Path] = []
        envs: Environments = {}
        for number, wheel_file in enumerate(release.wheels, 1):
            progress(f"wheel {number} of {len(release.wheels)}: {wheel_file.filename}")
            published = index.download(wheel_file, progress)
            published_wheels.append(published)
            work = tmp / wheel_file.filename
            wheel = _rebuild_wheel(
                published, sdist, work, options, release, gzip_mtime=gzip_mtime, progress=progress, host=host,
                envs=envs,
            )  # fmt: skip
            wheels.append(wheel)
        traced: Traced | None = None
        from_tag: list[WheelRebuild] = []
        if resolved is not None and wheels:
            first = wheels[0].recipe
            traced = trace(
                options, resolved, (name, str(version)), (sdist_path, sdist),
                recipe=first, index=index, tmp=tmp, progress=progress,
                prepared=envs.get((first.requirements, first.exclude_newer)),
            )  # fmt: skip
            from_tag = _wheels_from_tag(
                traced, published_wheels, tmp / "wheels-from-tag", options, release,
                gzip_mtime=gzip_mtime, progress=progress, host=host, envs=envs,
            )  # fmt: skip
        keep_artifacts(options.out, [w.rebuilt for w in wheels] + ([traced.rebuilt_sdist] if traced else []))
        if options.out is not None and from_tag:
            keep_artifacts(options.out / FROM_TAG_DIR, [w.rebuilt for w in from_tag])
    verdicts = ((traced.sdist,) if traced else ()) + tuple(w.verdict for w in wheels)
    common = _common(w.verdict.recipe or {} for w in wheels)
    report = RebuildReport(
        recipe={"release": f"{name}=={version}", "sdist": release.sdist.filename, **common}
        | (traced.recipe if traced else {}),
        artifacts=verdicts + tuple(w.verdict for w in from_tag),  # checked, but not attested again below
        warnings=release.skipped,
        source=traced.fidelity if traced else None,
    )
    if options.record_out is not None:
        packages = {(p.name, p.version, p.filename, p.sha256): p for w in wheels for p in w.packages}
        statement = rebuild_statement(
            release=f"{name}=={version}",
            index_url=redact(options.index_url),
            sdist=Subject(release.sdist.filename, release.sdist.sha256),
            rebuilt=tuple(Subject(v.filename, v.rebuilt_sha256) for v in verdicts if v.rebuilt_sha256),
            recipe=report.recipe | {"wheels": {w.verdict.filename: w.verdict.recipe for w in wheels}},
            dependencies=tuple(
                Dependency(p.name, p.version, p.filename, p.sha256) for _, p in sorted(packages.items())
            ),
            builder_id=f"{BUILDER_ID}@{__version__}",
        )
        try:
            write_json_atomic(options.record_out, statement)
        except OSError as exc:
            raise OutputError(f"cannot write {options.record_out}: {exc.strerror}") from exc
    return report


def _rebuild_wheel(
    published: Path,
    sdist: list[Member],
    work: Path,
    options: PublishedOptions,
    release: ReleaseFiles,
    *,
    gzip_mtime: int,
    progress: Progress,
    host: Host,
    envs: Environments,
    what: str = "the published sdist",
) -> WheelRebuild:
    """Infer ``published``'s recipe, prepare its environment (or take the one ``envs`` holds for the
    same requirements resolved as of the same time: one venv per lock in a run), build it from the
    sdist, compare."""
    recipe = infer_recipe(
        sdist, read_zip(published.read_bytes()), uploaded=release.first_upload, gzip_mtime=gzip_mtime
    )
    make_workspace(work)
    key = (recipe.requirements, recipe.exclude_newer)
    if (shared := envs.get(key)) is not None:  # the same lock: its venv again, with a runner of its own
        venv = shared.backend.python.parent.parent
        backend = BackendRunner(venv=venv, home=work / "home", tmp=work / "tmp",
                                source_date_epoch=recipe.source_date_epoch, run=host.run)  # fmt: skip
        environment = Environment(shared.installed, backend)
    else:
        progress(f"resolving {', '.join(recipe.requirements)} for {published.name}")
        uv = find_uv()
        packages = resolve_lock(
            recipe.requirements, uv=uv, python=options.interpreter.executable, index_url=options.index_url,
            cache_dir=options.cache_dir / "uv", exclude_newer=recipe.exclude_newer, run=host.run,
        )  # fmt: skip
        environment = prepare_environment(
            packages, work, index_url=options.index_url, interpreter=options.interpreter, uv=uv,
            cache_dir=options.cache_dir, source_date_epoch=recipe.source_date_epoch, run=host.run,
        )  # fmt: skip
        envs[key] = environment
    environment.backend.env |= recipe.environment  # e.g. the TZ a build without SOURCE_DATE_EPOCH had
    if recipe.universal:  # bdist_wheel --universal, through a configuration file setuptools reads
        extra = work / "universal.cfg"
        extra.write_text("[bdist_wheel]\nuniversal = 1\n", encoding="utf-8")
        environment.backend.env["DIST_EXTRA_CONFIG"] = str(extra)
    project = extract_sdist(sdist, work / "sdist")
    progress(f"building {published.name} from {what}")
    rebuilt = environment.build(project, "wheel", work / "raw")
    progress("comparing")
    interpreter = options.interpreter
    own_recipe = recipe.to_json() | {
        "resolved": [f"{p.name}=={p.version}" for p in environment.installed.packages],
        "python": f"{interpreter.implementation} {interpreter.version}",
    }
    verdict = replace(compare_published(published, rebuilt, recipe), recipe=own_recipe)
    return WheelRebuild(verdict, environment.installed.packages, recipe, rebuilt)


def _wheels_from_tag(
    traced: Traced,
    published: list[Path],
    work: Path,
    options: PublishedOptions,
    release: ReleaseFiles,
    *,
    gzip_mtime: int,
    progress: Progress,
    host: Host,
    envs: Environments,
) -> list[WheelRebuild]:
    """Each published wheel built again, from the sdist rebuilt from the tag, by the same rules as from
    the published sdist (the release's gzip time included): the wheel traced to the tag."""
    sdist = read_tar_gz(traced.rebuilt_sdist.read_bytes())
    origin = f"built from the sdist rebuilt from tag {traced.recipe['tag']}"
    rebuilt: list[WheelRebuild] = []
    for wheel in published:
        built = _rebuild_wheel(wheel, sdist, work / wheel.name, options, release, gzip_mtime=gzip_mtime,
                               progress=progress, host=host, envs=envs,
                               what="the sdist rebuilt from the tag")  # fmt: skip
        note = f"{origin}; {built.verdict.note}" if built.verdict.note else origin
        rebuilt.append(replace(built, verdict=replace(built.verdict, note=note)))
    return rebuilt


def _common(recipes: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The recipe fields every wheel shares, in the first wheel's order: the release's recipe."""
    listed = list(recipes)
    if not listed:
        return {}
    return {k: v for k, v in listed[0].items() if all(k in r and r[k] == v for r in listed[1:])}
