"""``vouch rebuild RECORD``: replay a vouch build record and compare with what it names.

The record fixes everything: the commit and subdirectory, SOURCE_DATE_EPOCH, the exact wheel
(file and sha256) of every build package, the Python minor version, the normalizer version and
the process settings. Anything this vouch cannot reproduce exactly (a normalizer version it cannot
write, another compressor version for normalizer v3, other process settings, another Python minor
version without ``--python``) is refused up front. Records of normalizer v2 are rebuilt with v2,
whose deflate streams come from this system's zlib: when it is not the recorded one, the bytes
may differ by compression alone, which the comparison names.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

from vouch.archive.normalize import NORMALIZER_NAME, NORMALIZER_VERSION, SUPPORTED_VERSIONS, compressor_for
from vouch.atomic import write_json_atomic
from vouch.builder.builder import (
    BuildResult,
    build_distributions,
    dirty_warnings,
    epoch_of,
    export_source,
    make_record,
    open_source,
    prepare_environment,
    timestamp,
    workspace,
    write_outputs,
)
from vouch.builder.env import LOCALE, PYTHONHASHSEED, TZ, UMASK, Interpreter, find_uv
from vouch.builder.lock import LockedPackage, check_lock, read_build_system
from vouch.builder.record import BuildRecord
from vouch.digests import file_sha256
from vouch.dist import is_plain_filename
from vouch.errors import CheckError, OutputError, SourceError, UsageError, VerificationError
from vouch.git import git
from vouch.host import Host, Progress, default_cache_dir
from vouch.index import PYPI_SIMPLE
from vouch.rebuild.compare import compare_artifacts
from vouch.rebuild.verdict import ArtifactVerdict, RebuildReport, Verdict
from vouch.untrusted import DocumentError, load_json, read_regular_file

_REMOTE = re.compile(r"^(https?|ssh|git)://|^[\w.-]+@[\w.-]+:")


@dataclass(frozen=True)
class RebuildOptions:
    record: Path
    source: Path | None = None
    against: Path | None = None
    python: str | None = None
    record_out: Path | None = None
    out: Path | None = None
    index_url: str = PYPI_SIMPLE
    cache_dir: Path = field(default_factory=default_cache_dir)
    host: Host = field(default_factory=Host)  # clones the recorded source (the build has its own)


@dataclass(frozen=True)
class RebuildResult:
    report: RebuildReport
    build: BuildResult


def read_record(path: Path) -> BuildRecord:
    try:
        data = read_regular_file(path, "build record")
    except FileNotFoundError:
        raise UsageError(f"build record {path} does not exist") from None
    except DocumentError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise CheckError(f"cannot read the build record {path}: {exc.strerror}") from exc
    try:
        document = load_json(data, f"build record {path}")
    except DocumentError as exc:
        raise UsageError(str(exc)) from None
    return BuildRecord.from_statement(document)


def check_subject_names(record: BuildRecord, path: Path) -> None:
    """Subjects name files by a plain name only: never a path that could reach outside --out."""
    if not record.subjects:
        raise UsageError(f"the build record {path} names no artifacts")
    for subject in record.subjects:
        if not is_plain_filename(subject.name):
            raise UsageError(
                f"the build record {path} names {subject.name!r}, which is not a plain file name",
                hint="a build record's subjects are the artifacts' file names, without folders",
            )


def check_reproducible_here(record: BuildRecord, interpreter: Interpreter) -> None:
    """Refuse a record whose settings this vouch and this Python cannot reproduce."""
    settings = record.settings
    if settings.normalizer != NORMALIZER_NAME or settings.normalizer_version not in SUPPORTED_VERSIONS:
        raise UsageError(
            f"the record was normalised with {settings.normalizer} v{settings.normalizer_version}; "
            f"this vouch has {NORMALIZER_NAME} v{NORMALIZER_VERSION}",
            hint="rebuild with the vouch version named in the record's builder id",
        )
    if settings.normalizer_version == NORMALIZER_VERSION:
        check_compressor(record)
    ours = (f"{UMASK:04o}", TZ, LOCALE, PYTHONHASHSEED)
    theirs = (settings.umask, settings.tz, settings.locale, settings.python_hash_seed)
    if ours != theirs:
        raise UsageError(f"the record's build settings {theirs} are not this vouch's {ours}")
    recorded = ".".join(record.toolchain.python_version.split(".")[:2])
    if interpreter.minor != recorded or (
        interpreter.implementation != record.toolchain.python_implementation
    ):
        raise UsageError(
            f"the record was built with {record.toolchain.python_implementation} {recorded}, "
            f"but this is {interpreter.implementation} {interpreter.minor}",
            hint=f"pass --python PATH to a Python {recorded} interpreter",
        )


def recorded_compressor(record: BuildRecord) -> str:
    settings = record.settings
    origin = settings.compressor_package or "the record builder's system library"
    return f"{settings.compressor} {settings.compressor_version} ({origin})"


def check_compressor(record: BuildRecord) -> None:
    """Refuse a record whose deflate streams came from another compressor than this vouch's."""
    settings = record.settings
    ours = compressor_for(settings.normalizer_version)
    if (settings.compressor, settings.compressor_version, settings.compressor_package) == (
        ours.name, ours.version, ours.package,
    ):  # fmt: skip
        return
    vouch = record.builder_id.rpartition("@")[2]
    raise UsageError(
        f"the record's deflate streams were made by {recorded_compressor(record)}; "
        f"this vouch has {ours}, whose bytes differ",
        hint=f"install the recorded compressor: pip install '{settings.compressor_package}' "
        f"with the vouch that pins it (the record's builder is vouch {vouch}: pip install 'vouch=={vouch}')",
    )


def _obtain_source(record: BuildRecord, source: Path | None, workdir: Path, host: Host) -> Path:
    if source is not None:
        return source
    repository = record.source.repository
    if Path(repository).is_dir():
        return Path(repository)
    if not _REMOTE.match(repository):
        raise SourceError(
            f"the recorded source {repository} is not here", hint="pass --source PATH to a clone"
        )
    clone = workdir / "source"
    result = git(["clone", "--quiet", "--", repository, str(clone)], host=host, hermetic=True)
    if not result.ok:
        raise CheckError(f"cannot clone {repository}: {result.err.strip()}")
    return clone


def rebuild_record(
    options: RebuildOptions, progress: Progress = lambda _: None, *, host: Host | None = None
) -> RebuildResult:
    host = host or options.host
    record = read_record(options.record)
    check_subject_names(record, options.record)
    interpreter = (
        Interpreter.from_executable(options.python, run=host.run) if options.python else Interpreter.current()
    )
    check_reproducible_here(record, interpreter)
    with tempfile.TemporaryDirectory(prefix="vouch-rebuild-") as tmp_name:
        tmp = Path(tmp_name)
        source = _obtain_source(record, options.source, tmp, host)
        out = options.out or tmp / "dist"
        result = replay(
            record, source, out, interpreter=interpreter, index_url=options.index_url,
            cache_dir=options.cache_dir, progress=progress, host=host,
        )  # fmt: skip
        _check_same_environment(record, result.record)
        progress("comparing")
        # only what this build produced counts: a file that merely lies in --out proves nothing
        built = {artifact.path.name: artifact.sha256 for artifact in result.artifacts}
        compressors = (recorded_compressor(record), str(compressor_for(record.settings.normalizer_version)))
        verdicts = tuple(
            _verdict(subject.name, subject.sha256, built, out, options.against, compressors=compressors)
            for subject in record.subjects
        )
        extra = set(built) - {s.name for s in record.subjects}
        verdicts += tuple(
            ArtifactVerdict(name, None, built[name], Verdict.DIFFERENT,
                            note="the rebuild made a file the record does not name")
            for name in sorted(extra)
        )  # fmt: skip
        if options.record_out is not None:
            try:
                write_json_atomic(options.record_out, result.record.to_statement())
            except OSError as exc:
                raise OutputError(f"cannot write {options.record_out}: {exc.strerror}") from exc
    report = RebuildReport(recipe=_recipe(record), artifacts=verdicts, warnings=result.warnings)
    return RebuildResult(report, result)


def replay(
    record: BuildRecord,
    repository: Path,
    out: Path,
    *,
    interpreter: Interpreter,
    index_url: str = PYPI_SIMPLE,
    cache_dir: Path | None = None,
    progress: Progress = lambda _: None,
    host: Host | None = None,
) -> BuildResult:
    """Build ``record``'s commit of ``repository`` into ``out`` with the builder's steps and the
    record's choices: its subdirectory, its SOURCE_DATE_EPOCH, exactly its packages (by sha256)
    and its normalizer version. Nothing is compared here (see :func:`rebuild_record`)."""
    host = host or Host()
    cache_dir = cache_dir or default_cache_dir()
    started = timestamp(host)
    progress("resolving the revision")
    source = open_source(repository, record.source.commit, record.source.subdir, run=host.run)
    sde, origin = epoch_of(source, record.settings.source_date_epoch, "build record")
    locked = tuple(
        LockedPackage(canonicalize_name(d.name), d.version, frozenset({d.sha256}))
        for d in record.dependencies
    )
    normalizer_version = record.settings.normalizer_version
    compressor = compressor_for(normalizer_version)
    with workspace("vouch-build-") as tmp:
        progress(f"checking out {source.commit[:12]}")
        project = export_source(source, tmp / "src", sde, run=host.run)
        system = read_build_system(project)
        check_lock(locked, system.requires, origin="build record")
        progress("installing the build environment")
        environment = prepare_environment(
            locked, tmp, index_url=index_url, interpreter=interpreter, uv=find_uv(),
            cache_dir=cache_dir, source_date_epoch=sde, run=host.run,
        )  # fmt: skip
        progress(f"building the sdist with {system.backend}")
        outputs = build_distributions(
            environment, project, tmp, source_date_epoch=sde, compressor=compressor, progress=progress
        )
        rebuilt = make_record(
            source=source, sde=sde, sde_origin=origin, backend=system.backend, lock_origin="build record",
            installed=environment.installed, outputs=outputs, interpreter=interpreter,
            normalizer_version=normalizer_version, compressor=compressor, started=started,
            finished=timestamp(host),
        )  # fmt: skip
        progress(f"writing into {out}")
        record_path, artifacts = write_outputs(out, outputs, rebuilt)
    return BuildResult(rebuilt, record_path, artifacts, None, dirty_warnings(source))


def _check_same_environment(expected: BuildRecord, actual: BuildRecord) -> None:
    want = {(d.name, d.version, d.filename, d.sha256) for d in expected.dependencies}
    have = {(d.name, d.version, d.filename, d.sha256) for d in actual.dependencies}
    if want != have:
        raise VerificationError(
            f"the rebuild's environment differs from the record's: {sorted(want ^ have)[:3]}"
        )


def _verdict(  # noqa: PLR0911 - one return per way a rebuilt file can fail to match
    name: str,
    recorded_sha: str,
    built: dict[str, str],
    out: Path,
    against: Path | None,
    *,
    compressors: tuple[str, str],
) -> ArtifactVerdict:
    rebuilt_sha = built.get(name)
    if rebuilt_sha is None:
        return ArtifactVerdict(name, recorded_sha, None, Verdict.DIFFERENT,
                               note="the rebuild did not produce this file")  # fmt: skip
    if against is not None:
        expected = against / name
        if expected.is_symlink() or not expected.is_file():
            return ArtifactVerdict(name, recorded_sha, rebuilt_sha, Verdict.DIFFERENT,
                                   note=f"{expected} is not a regular file")  # fmt: skip
        rebuilt = out / name
        if file_sha256(rebuilt) != rebuilt_sha:
            return ArtifactVerdict(name, recorded_sha, rebuilt_sha, Verdict.DIFFERENT,
                                   note=f"{rebuilt} changed after the rebuild wrote it")  # fmt: skip
        verdict = compare_artifacts(expected, rebuilt, compressors=compressors)
        if verdict.expected_sha256 != recorded_sha:
            note = f"{expected} is not the file the record names (sha256 {verdict.expected_sha256})"
            return ArtifactVerdict(name, recorded_sha, rebuilt_sha, Verdict.DIFFERENT,
                                   verdict.normalisations, verdict.differences, note)  # fmt: skip
        return verdict
    if rebuilt_sha == recorded_sha:
        return ArtifactVerdict(name, recorded_sha, rebuilt_sha, Verdict.BIT_IDENTICAL)
    note = "sha256 differs; pass --against DIR holding the recorded artifacts to see why"
    if compressors[0] != compressors[1]:
        note = (
            f"sha256 differs, and the deflate streams were made by {compressors[0]} for the record "
            f"but by {compressors[1]} here: pass --against DIR holding the recorded artifacts "
            "to check whether only compression differs"
        )
    return ArtifactVerdict(name, recorded_sha, rebuilt_sha, Verdict.DIFFERENT, note=note)


def _recipe(record: BuildRecord) -> dict[str, object]:
    return {
        "source": {"repository": record.source.repository, "commit": record.source.commit,
                   "subdir": record.source.subdir},
        "source_date_epoch": record.settings.source_date_epoch,
        "backend": record.settings.build_backend,
        "python": f"{record.toolchain.python_implementation} {record.toolchain.python_version}",
        "normalizer": f"{record.settings.normalizer} v{record.settings.normalizer_version}",
        "compressor": recorded_compressor(record),
        "packages": [f"{d.name}=={d.version}" for d in record.dependencies],
    }  # fmt: skip
