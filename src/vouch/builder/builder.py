"""``vouch build``: a git revision in, a normalised sdist and wheel and their build record out.

The steps: resolve the revision; check it out into a fresh clone; read ``[build-system]``; take the
build lock (``--build-lock``, else ``build-requirements.lock`` at the project root of that
revision, else a new resolution); install the locked wheels into a uv venv; run the backend with a
hermetic environment, sdist first and the wheel from the normalised sdist, as ``python -m build``
does; normalise, validate, and only then move the sdist, wheel and record into the output folder.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import platform
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import build as pypa_build

from vouch import __version__
from vouch.archive.compress import Compressor
from vouch.archive.normalize import (
    NORMALIZER_NAME,
    NORMALIZER_VERSION,
    canonical_members,
    compressor_for,
    pack_sdist,
    pack_wheel,
    zip_order_key,
)
from vouch.archive.safe import extract_sdist, read_tar_gz, read_zip
from vouch.builder.env import (
    LOCALE,
    PYTHONHASHSEED,
    TZ,
    UMASK,
    Installed,
    Interpreter,
    find_uv,
    install_locked,
    zlib_version,
)
from vouch.builder.hooks import BackendRunner
from vouch.builder.lock import (
    LOCK_FILENAME,
    BuildSystem,
    LockedPackage,
    check_lock,
    parse_lock,
    read_build_system,
    render_lock,
    resolve_lock,
)
from vouch.builder.output import Staging
from vouch.builder.record import (
    BuildRecord,
    BuildSettings,
    Dependency,
    SourceParameters,
    Subject,
    Toolchain,
)
from vouch.builder.source import Source, export_tree, open_source
from vouch.builder.validate import check_sdist, check_wheel
from vouch.errors import ArchiveError, CheckError, UsageError
from vouch.host import Progress, default_cache_dir
from vouch.index import PYPI_SIMPLE
from vouch.index.simple import SimpleIndex
from vouch.untrusted import DocumentError, read_regular_file, read_tree_file

BUILDER_ID = "https://github.com/vouch-dev/vouch"


@dataclass(frozen=True)
class BuildOptions:
    source: Path = Path()
    rev: str = "HEAD"
    subdir: str = ""
    out: Path = Path("dist")
    build_lock: Path | None = None
    source_date_epoch: int | None = None
    index_url: str = PYPI_SIMPLE
    cache_dir: Path = field(default_factory=default_cache_dir)
    interpreter: Interpreter = field(default_factory=Interpreter.current)
    locked: tuple[LockedPackage, ...] | None = None  # exact packages, e.g. from a build record
    locked_origin: str = "build record"
    source_date_epoch_origin: str = "argument"  # what a given source_date_epoch came from
    normalizer_version: int = NORMALIZER_VERSION  # an older one only to rebuild its records


@dataclass(frozen=True)
class Artifact:
    path: Path
    sha256: str
    size: int


@dataclass(frozen=True)
class BuildResult:
    record: BuildRecord
    record_path: Path
    artifacts: tuple[Artifact, ...]
    lock_written: Path | None
    warnings: tuple[str, ...]


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _noop(_: str) -> None:
    return None


def build(options: BuildOptions, progress: Progress = _noop) -> BuildResult:
    """Build the sdist and wheel of ``options.rev`` reproducibly; see the module docstring."""
    started = _now()
    progress("resolving the revision")
    source = open_source(options.source, options.rev, options.subdir)
    warnings: list[str] = []
    if source.dirty:
        warnings.append(
            f"the working tree of {source.toplevel} has uncommitted changes; "
            f"they are not part of this build of {source.commit[:12]}"
        )
    sde, origin = _epoch(options, source)
    compressor = compressor_for(options.normalizer_version)
    uv = find_uv()
    with tempfile.TemporaryDirectory(prefix="vouch-build-") as tmp_name:
        tmp = Path(tmp_name)
        for sub in ("home", "tmp", "raw"):
            (tmp / sub).mkdir()
        progress(f"checking out {source.commit[:12]}")
        project = export_tree(source, tmp / "src", sde)
        system = read_build_system(project)
        index = SimpleIndex(options.index_url, cache_dir=options.cache_dir / "dists")
        with index:
            packages, lock_origin, new_lock = _locked_packages(options, project, system, uv, progress)
            progress("installing the build environment")
            installed = install_locked(
                packages, index, options.interpreter, tmp / "venv", uv=uv, cache_dir=options.cache_dir
            )
        runner = BackendRunner(venv=tmp / "venv", home=tmp / "home", tmp=tmp / "tmp", source_date_epoch=sde)
        progress(f"building the sdist with {system.backend}")
        outputs = _sdist_and_wheel(
            runner, project, tmp, sde=sde, versions=installed.versions, progress=progress,
            compressor=compressor,
        )  # fmt: skip
        record = _record(
            source=source, options=options, sde=sde, origin=origin, backend=system.backend,
            lock_origin=lock_origin, installed=installed, outputs=outputs, started=started,
            compressor=compressor,
        )  # fmt: skip
        stem = next(iter(outputs)).removesuffix(".tar.gz")
        record_name = f"{stem}.buildinfo.json"
        lock_target = _lock_target(options, stem, new_lock)
        progress(f"writing into {options.out}")
        with Staging(options.out) as staging:
            for name, data in outputs.items():
                staging.add(name, data)
            staging.add_json(record_name, record.to_statement())
            if lock_target is not None and new_lock is not None:
                staging.add_external(lock_target, new_lock.encode("utf-8"))
            staging.commit()
    artifacts = tuple(
        Artifact(options.out / name, hashlib.sha256(data).hexdigest(), len(data))
        for name, data in outputs.items()
    )
    return BuildResult(record, options.out / record_name, artifacts, lock_target, tuple(warnings))


def _epoch(options: BuildOptions, source: Source) -> tuple[int, str]:
    if options.source_date_epoch is None:
        return source.commit_time, "commit-time"
    if options.source_date_epoch < 315532800:
        raise UsageError(
            f"SOURCE_DATE_EPOCH {options.source_date_epoch} is before 1980, which zip cannot hold"
        )
    return options.source_date_epoch, options.source_date_epoch_origin


def _sdist_and_wheel(
    runner: BackendRunner,
    project: Path,
    tmp: Path,
    *,
    sde: int,
    versions: dict[str, str],
    progress: Progress,
    compressor: Compressor,
) -> dict[str, bytes]:
    """The normalised sdist, then the normalised wheel built from it: {file name: bytes}."""
    sdist_raw = runner.build(project, "sdist", tmp / "raw", versions)
    sdist_members = canonical_members(read_tar_gz(sdist_raw.read_bytes()), sde)
    sdist_info = check_sdist(sdist_raw.name, sdist_members)
    progress("building the wheel from the sdist")
    # the backend uses one core: compress the sdist and drop the checkout meanwhile
    with ThreadPoolExecutor(max_workers=2) as pool:
        packed_sdist = pool.submit(pack_sdist, sdist_members, compressor)
        pool.submit(shutil.rmtree, tmp / "src", ignore_errors=True)
        unpacked = extract_sdist(sdist_members, tmp / "sdist")
        wheel_raw = runner.build(unpacked, "wheel", tmp / "raw", versions)
        wheel_members = canonical_members(read_zip(wheel_raw.read_bytes()), sde, zip_order_key)
        wheel_info = check_wheel(wheel_raw.name, wheel_members)
        pool.submit(shutil.rmtree, tmp / "sdist", ignore_errors=True)
        wheel_bytes = pack_wheel(wheel_members, compressor)
        sdist_bytes = packed_sdist.result()
    if wheel_info != sdist_info:
        raise ArchiveError(
            f"the wheel is {wheel_info.name} {wheel_info.version} "
            f"but the sdist is {sdist_info.name} {sdist_info.version}"
        )
    return {sdist_raw.name: sdist_bytes, wheel_raw.name: wheel_bytes}


def _locked_packages(
    options: BuildOptions, project: Path, system: BuildSystem, uv: str, progress: Progress
) -> tuple[list[LockedPackage], str, str | None]:
    requires = [str(r) for r in system.requires]
    if options.locked is not None:
        packages = list(options.locked)
        origin = options.locked_origin
    elif options.build_lock is not None and options.build_lock.is_file():
        origin = str(options.build_lock)
        packages = parse_lock(_lock_text(options.build_lock, None, origin), origin)
    elif options.build_lock is None and os.path.lexists(project / LOCK_FILENAME):
        origin = f"{LOCK_FILENAME} at the revision"
        packages = parse_lock(_lock_text(project / LOCK_FILENAME, project, origin), origin)
    else:
        progress("resolving the build requirements with uv")
        packages = resolve_lock(
            requires,
            uv=uv,
            python=options.interpreter.executable,
            index_url=options.index_url,
            cache_dir=options.cache_dir / "uv",
        )
        rendered = render_lock(packages, options.interpreter.minor)
        check_lock(packages, system.requires, origin="the new lock")
        return packages, "resolved", rendered
    check_lock(packages, system.requires, origin=origin)
    return packages, origin, None


def _lock_text(path: Path, tree: Path | None, origin: str) -> str:
    """The text of a build lock: a regular UTF-8 file (inside ``tree`` when it comes from one)."""
    try:
        if tree is None:
            data = read_regular_file(path, "the build lock")
        else:
            data = read_tree_file(tree, path.name, "the build lock")
        return data.decode("utf-8")
    except (DocumentError, FileNotFoundError) as exc:
        raise UsageError(str(exc) if isinstance(exc, DocumentError) else f"{origin} does not exist") from None
    except UnicodeDecodeError:
        raise UsageError(f"{origin} is not UTF-8 text") from None
    except OSError as exc:
        raise CheckError(f"cannot read {origin}: {exc.strerror}") from exc


def _lock_target(options: BuildOptions, stem: str, new_lock: str | None) -> Path | None:
    if new_lock is None:
        return None
    if options.build_lock is not None:
        return options.build_lock
    return options.out / f"{stem}.{LOCK_FILENAME}"


def _record(
    *,
    source: Source,
    options: BuildOptions,
    sde: int,
    origin: str,
    backend: str,
    lock_origin: str,
    installed: Installed,
    outputs: dict[str, bytes],
    started: str,
    compressor: Compressor,
) -> BuildRecord:
    interpreter = options.interpreter
    return BuildRecord(
        subjects=tuple(Subject(n, hashlib.sha256(d).hexdigest()) for n, d in outputs.items()),
        source=SourceParameters(source.repository, source.commit, source.subdir, source.ref),
        settings=BuildSettings(
            source_date_epoch=sde,
            source_date_epoch_origin=origin,
            normalizer=NORMALIZER_NAME,
            normalizer_version=options.normalizer_version,
            umask=f"{UMASK:04o}",
            tz=TZ,
            locale=LOCALE,
            python_hash_seed=PYTHONHASHSEED,
            frontend="build",
            frontend_version=pypa_build.__version__,
            build_backend=backend,
            lock_origin=lock_origin,
            compressor=compressor.name,
            compressor_version=compressor.version,
            compressor_package=compressor.package,
        ),
        dependencies=tuple(Dependency(p.name, p.version, p.filename, p.sha256) for p in installed.packages),
        toolchain=Toolchain(
            python_implementation=interpreter.implementation,
            python_version=interpreter.version,
            zlib_version=zlib_version(),
            platform=platform.machine().lower() + "-" + platform.system().lower(),
        ),
        builder_id=f"{BUILDER_ID}@{__version__}",
        started_on=started,
        finished_on=_now(),
    )
