"""``vouch build``: a git revision in, a normalised sdist and wheel and their build record out.

:func:`build` composes the steps below; the rebuilds compose the same steps with their own
choices (``vouch.rebuild.replay`` replays a record: its commit, epoch, locked packages and
normalizer; ``vouch.rebuild.published`` builds each published wheel from the published sdist). Each
step is one call, with its side effects through a :class:`~vouch.host.Runner` or
:class:`~vouch.host.Host` passed as a keyword with the real default:

``open_source(path, rev, subdir, *, run)`` -> :class:`Source`
    resolve the revision in a git working tree (``vouch.builder.source``).
``workspace(prefix)`` -> a context of ``Path``; ``make_workspace(path)`` -> ``Path``
    a build's temporary folder with ``home/``, ``tmp/`` and ``raw/``; the context removes it.
``export_source(source, dest, source_date_epoch, *, run)`` -> ``Path``
    check the revision out into a new clone at ``dest``; return the project folder.
``choose_lock(options, project, system, *, uv, run, progress)`` -> :class:`LockChoice`
    ``--build-lock``, else ``build-requirements.lock`` at the revision, else a new resolution.
``prepare_environment(packages, work, *, index, interpreter, uv, cache_dir, source_date_epoch, run)``
    -> :class:`Environment`: the locked wheels installed into ``work/venv``, and the backend runner.
``Environment.build(tree, distribution, outdir)`` -> ``Path``
    run the backend's hooks (sdist or wheel) on ``tree`` in that environment; the raw file.
``build_distributions(environment, project, work, *, source_date_epoch, compressor, progress)``
    -> ``dict[str, bytes]``: the sdist, then the wheel from the sdist's tree, each normalised and
    validated ({file name: bytes}, sdist first).
``make_record(...)`` -> :class:`BuildRecord`; ``write_outputs(out, outputs, record, lock)`` ->
    the :class:`Artifact` tuple: staged and moved into ``out`` all at once.

The order of a build: resolve the revision; check it out into a fresh clone; read
``[build-system]``; take the build lock; install the locked wheels into a uv venv; run the backend
with a hermetic environment, sdist first and the wheel from the normalised sdist, as
``python -m build`` does; normalise, validate, and only then move the sdist, wheel and record into
the output folder.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import platform
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import build as pypa_build

from vouch import __version__
from vouch.archive.compress import Compressor
from vouch.archive.normalize import (
    NORMALIZER_NAME,
    NORMALIZER_VERSION,
    compressor_for,
)
from vouch.builder.distributions import build_distributions
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
from vouch.builder.hooks import BackendRunner, Distribution
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
from vouch.builder.source import Source, open_source
from vouch.builder.source import export_tree as export_source
from vouch.errors import CheckError, UsageError
from vouch.host import Host, Progress, Runner, default_cache_dir, run_process
from vouch.index import PYPI_SIMPLE
from vouch.index.simple import SimpleIndex
from vouch.untrusted import DocumentError, read_regular_file, read_tree_file

__all__ = [
    "BUILDER_ID",
    "Artifact",
    "BuildOptions",
    "BuildResult",
    "Environment",
    "LockChoice",
    "build",
    "build_distributions",
    "choose_lock",
    "dirty_warnings",
    "epoch_of",
    "export_source",
    "make_record",
    "make_workspace",
    "open_source",
    "prepare_environment",
    "timestamp",
    "workspace",
    "write_outputs",
]

BUILDER_ID = "https://github.com/vouch-dev/vouch"


@dataclass(frozen=True)
class BuildOptions:
    """What ``vouch build`` is asked to build (the rebuilds pass their own choices to the steps)."""

    source: Path = Path()
    rev: str = "HEAD"
    subdir: str = ""
    out: Path = Path("dist")
    build_lock: Path | None = None
    source_date_epoch: int | None = None
    index_url: str = PYPI_SIMPLE
    cache_dir: Path = field(default_factory=default_cache_dir)
    interpreter: Interpreter = field(default_factory=Interpreter.current)


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


@dataclass(frozen=True)
class LockChoice:
    """The packages of the build environment, where they came from, and a new lock's text."""

    packages: tuple[LockedPackage, ...]
    origin: str
    new_lock: str | None = None


@dataclass(frozen=True)
class Environment:
    """A build environment ready to run a backend: the installed packages and the hermetic runner."""

    installed: Installed
    backend: BackendRunner

    def build(
        self, tree: Path, distribution: Distribution, outdir: Path, *, uncompressed_archives: bool = False
    ) -> Path:
        """Run the backend's hooks for ``distribution`` on ``tree``; return the raw file it wrote
        (uncompressed, if asked: see :meth:`~vouch.builder.hooks.BackendRunner.build`)."""
        return self.backend.build(
            tree, distribution, outdir, self.installed.versions, uncompressed_archives=uncompressed_archives
        )

    def precompile(self) -> None:
        """Compile the environment's modules once for all hooks (a speed-up only)."""
        self.backend.precompile()


def timestamp(host: Host) -> str:
    return host.clock().astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _noop(_: str) -> None:
    return None


def build(options: BuildOptions, progress: Progress = _noop, *, host: Host | None = None) -> BuildResult:
    """Build the sdist and wheel of ``options.rev`` reproducibly; see the module docstring."""
    host = host or Host()
    started = timestamp(host)
    progress("resolving the revision")
    source = open_source(options.source, options.rev, options.subdir, run=host.run)
    warnings = dirty_warnings(source)
    sde, origin = epoch_of(source, options.source_date_epoch, "argument")
    uv = find_uv()
    with workspace("vouch-build-") as tmp:
        progress(f"checking out {source.commit[:12]}")
        project = export_source(source, tmp / "src", sde, run=host.run)
        system = read_build_system(project)
        lock = choose_lock(options, project, system, uv=uv, run=host.run, progress=progress)
        progress("installing the build environment")
        environment = prepare_environment(
            lock.packages, tmp, index_url=options.index_url, interpreter=options.interpreter, uv=uv,
            cache_dir=options.cache_dir, source_date_epoch=sde, run=host.run,
        )  # fmt: skip
        progress(f"building the sdist with {system.backend}")
        compressor = compressor_for(NORMALIZER_VERSION)
        outputs = build_distributions(
            environment, project, tmp, source_date_epoch=sde, compressor=compressor, progress=progress
        )
        record = make_record(
            source=source, sde=sde, sde_origin=origin, backend=system.backend, lock_origin=lock.origin,
            installed=environment.installed, outputs=outputs, interpreter=options.interpreter,
            normalizer_version=NORMALIZER_VERSION, compressor=compressor, started=started,
            finished=timestamp(host),
        )  # fmt: skip
        lock_target = _lock_target(options, record, lock.new_lock)
        progress(f"writing into {options.out}")
        record_path, artifacts = write_outputs(
            options.out, outputs, record,
            lock=None if lock_target is None or lock.new_lock is None else (lock_target, lock.new_lock),
        )  # fmt: skip
    return BuildResult(record, record_path, artifacts, lock_target, warnings)


def dirty_warnings(source: Source) -> tuple[str, ...]:
    if not source.dirty:
        return ()
    return (
        f"the working tree of {source.toplevel} has uncommitted changes; "
        f"they are not part of this build of {source.commit[:12]}",
    )


def epoch_of(source: Source, given: int | None, origin: str) -> tuple[int, str]:
    """SOURCE_DATE_EPOCH and where it came from: ``given`` (from ``origin``), else the commit time."""
    if given is None:
        return source.commit_time, "commit-time"
    if given < 315532800:
        raise UsageError(f"SOURCE_DATE_EPOCH {given} is before 1980, which zip cannot hold")
    return given, origin


def make_workspace(path: Path) -> Path:
    """``path`` with the folders a build uses: ``home/`` and ``tmp/`` for the backend, ``raw/`` for
    the backend's files; the venv goes to ``venv/``, the source trees beside them."""
    for sub in ("home", "tmp", "raw"):
        (path / sub).mkdir(parents=True)
    return path


@contextlib.contextmanager
def workspace(prefix: str) -> Iterator[Path]:
    """A new temporary workspace (see :func:`make_workspace`), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        yield make_workspace(Path(name))


def prepare_environment(
    packages: tuple[LockedPackage, ...] | list[LockedPackage],
    work: Path,
    *,
    index_url: str,
    interpreter: Interpreter,
    uv: str,
    cache_dir: Path,
    source_date_epoch: int | None,
    run: Runner = run_process,
) -> Environment:
    """Install exactly the locked wheels (hash-checked, from the cache or the index) into
    ``work/venv``; the backend runs with ``work/home`` and ``work/tmp`` and the hermetic environment."""
    with SimpleIndex(index_url, cache_dir=cache_dir / "dists") as index:
        venv = work / "venv"
        installed = install_locked(packages, index, interpreter, venv, uv=uv, cache_dir=cache_dir, run=run)
    backend = BackendRunner(
        venv=work / "venv", home=work / "home", tmp=work / "tmp", source_date_epoch=source_date_epoch, run=run
    )
    return Environment(installed, backend)


def choose_lock(
    options: BuildOptions, project: Path, system: BuildSystem, *, uv: str, run: Runner = run_process,
    progress: Progress = _noop,
) -> LockChoice:  # fmt: skip
    """The build lock: ``--build-lock`` when it exists, else the one at the revision, else a new
    resolution by uv (returned as text to write); every one checked against ``[build-system]``."""
    if options.build_lock is not None and options.build_lock.is_file():
        origin = str(options.build_lock)
        packages = parse_lock(_lock_text(options.build_lock, None, origin), origin)
    elif options.build_lock is None and os.path.lexists(project / LOCK_FILENAME):
        origin = f"{LOCK_FILENAME} at the revision"
        packages = parse_lock(_lock_text(project / LOCK_FILENAME, project, origin), origin)
    else:
        progress("resolving the build requirements with uv")
        packages = resolve_lock(
            [str(r) for r in system.requires], uv=uv, python=options.interpreter.executable,
            index_url=options.index_url, cache_dir=options.cache_dir / "uv", run=run,
        )  # fmt: skip
        check_lock(packages, system.requires, origin="the new lock")
        return LockChoice(tuple(packages), "resolved", render_lock(packages, options.interpreter.minor))
    check_lock(packages, system.requires, origin=origin)
    return LockChoice(tuple(packages), origin)


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


def _lock_target(options: BuildOptions, record: BuildRecord, new_lock: str | None) -> Path | None:
    if new_lock is None:
        return None
    if options.build_lock is not None:
        return options.build_lock
    stem = record.subjects[0].name.removesuffix(".tar.gz")
    return options.out / f"{stem}.{LOCK_FILENAME}"


def write_outputs(
    out: Path, outputs: Mapping[str, bytes], record: BuildRecord, *, lock: tuple[Path, str] | None = None
) -> tuple[Path, tuple[Artifact, ...]]:
    """Stage the artifacts, their record (``STEM.buildinfo.json``) and a new lock, then move them
    into ``out`` all at once; return the record's path and the artifacts."""
    stem = next(iter(outputs)).removesuffix(".tar.gz")
    record_name = f"{stem}.buildinfo.json"
    with Staging(out) as staging:
        for name, data in outputs.items():
            staging.add(name, data)
        staging.add_json(record_name, record.to_statement())
        if lock is not None:
            staging.add_external(lock[0], lock[1].encode("utf-8"))
        staging.commit()
    artifacts = tuple(
        Artifact(out / name, hashlib.sha256(data).hexdigest(), len(data)) for name, data in outputs.items()
    )
    return out / record_name, artifacts


def make_record(
    *,
    source: Source,
    sde: int,
    sde_origin: str,
    backend: str,
    lock_origin: str,
    installed: Installed,
    outputs: Mapping[str, bytes],
    interpreter: Interpreter,
    normalizer_version: int,
    compressor: Compressor,
    started: str,
    finished: str,
) -> BuildRecord:
    """The build record of a build: what was built from what, how, and with which packages."""
    return BuildRecord(
        subjects=tuple(Subject(n, hashlib.sha256(d).hexdigest()) for n, d in outputs.items()),
        source=SourceParameters(source.repository, source.commit, source.subdir, source.ref),
        settings=BuildSettings(
            source_date_epoch=sde,
            source_date_epoch_origin=sde_origin,
            normalizer=NORMALIZER_NAME,
            normalizer_version=normalizer_version,
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
        finished_on=finished,
    )
