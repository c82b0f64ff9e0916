"""The isolated build environment: a hermetic process environment and a uv venv from the lock.

Every file installed into the build environment is chosen by vouch (a wheel compatible with the
build interpreter whose sha256 the lock lists), downloaded into a content-addressed cache with its
hash checked, and installed by uv from that local file with no index and no dependency resolution.
So the build record can name the exact file (and sha256) of every package the backend ran with.
"""

from __future__ import annotations

import json
import os
import sys
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import packaging
from packaging.tags import Tag, parse_tag, sys_tags
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    parse_wheel_filename,
)
from packaging.version import Version

if TYPE_CHECKING:
    from vouch.builder.lock import LockedPackage
from vouch.errors import LockMismatchError, ToolError, UsageError
from vouch.host import Runner, run_process, which
from vouch.index.simple import IndexFile, SimpleIndex

UMASK = 0o022
TZ = "UTC"
LOCALE = "C.UTF-8"
PYTHONHASHSEED = "0"
_SYSTEM_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


def find_uv() -> str:
    try:
        from uv import find_uv_bin  # noqa: PLC0415 - the uv package is a dependency

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = which("uv")
        if found is None:
            raise ToolError("uv is not installed", hint="pip install uv") from None
        return found


def uv_environment() -> dict[str, str]:
    """The environment for uv: none of the user's UV_*/PIP_* settings, no user configuration."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("UV_", "PIP_", "PYTHON", "VIRTUAL_ENV", "CONDA"))
    }
    env["UV_NO_CONFIG"] = "1"
    env["UV_PYTHON_DOWNLOADS"] = "never"
    return env


def hermetic_environment(
    *, venv: Path, home: Path, tmp: Path, source_date_epoch: int | None
) -> dict[str, str]:
    """The complete environment of the backend: nothing from the user's environment but PATH's
    system directories (and git's), so no PIP_*/UV_* variable or user config leaks in."""
    path = [str(venv / "bin"), *_SYSTEM_PATH]
    git = which("git")
    if git is not None and str(Path(git).parent) not in path:
        path.append(str(Path(git).parent))
    env = {
        "PATH": os.pathsep.join(path),
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "VIRTUAL_ENV": str(venv),
        "TZ": TZ,
        "LC_ALL": LOCALE,
        "LANG": LOCALE,
        "PYTHONHASHSEED": PYTHONHASHSEED,
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    if source_date_epoch is not None:
        env["SOURCE_DATE_EPOCH"] = str(source_date_epoch)
    return env


@dataclass(frozen=True)
class Interpreter:
    """The Python a build runs with."""

    executable: str
    implementation: str
    version: str
    tags: tuple[Tag, ...]

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])

    @classmethod
    def from_executable(cls, executable: str, *, run: Runner = run_process) -> Interpreter:
        """Ask another interpreter for its version and wheel tags (with our ``packaging``)."""
        found = which(executable)
        if found is None:
            raise UsageError(f"--python {executable}: no such interpreter")
        script = (
            "import json, sys; from packaging.tags import sys_tags; "
            "print(json.dumps([sys.implementation.name, '%d.%d.%d' % sys.version_info[:3], "
            "[str(t) for t in sys_tags()]]))"
        )
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(Path(packaging.__file__).parent.parent),
        }
        result = run([found, "-s", "-c", script], env=env, timeout=60)
        try:
            implementation, version, tags = json.loads(result.out)
        except ValueError:
            raise UsageError(f"--python {executable}: not a working Python interpreter") from None
        return cls(
            executable=found,
            implementation=implementation,
            version=version,
            tags=tuple(tag for text in tags for tag in parse_tag(text)),
        )

    @classmethod
    def current(cls) -> Interpreter:
        return cls(
            executable=sys.executable,
            implementation=sys.implementation.name,
            version=".".join(str(part) for part in sys.version_info[:3]),
            tags=tuple(sys_tags()),
        )


@dataclass(frozen=True)
class InstalledPackage:
    name: NormalizedName
    version: str
    filename: str
    sha256: str


def select_wheel(
    name: NormalizedName, version: str, hashes: frozenset[str], files: Iterable[IndexFile],
    tags: tuple[Tag, ...],
) -> IndexFile:  # fmt: skip
    """The most specific wheel for ``tags`` among the locked files of ``name==version``."""
    priority = {tag: index for index, tag in enumerate(tags)}
    best: tuple[int, IndexFile] | None = None
    for file in files:
        if file.sha256 not in hashes:
            continue
        try:
            wheel_name, wheel_version, _, wheel_tags = parse_wheel_filename(file.filename)
        except InvalidWheelFilename:
            continue
        if wheel_name != name or wheel_version != Version(version):
            continue
        ranks = [priority[tag] for tag in wheel_tags if tag in priority]
        if ranks and (best is None or min(ranks) < best[0]):
            best = (min(ranks), file)
    if best is None:
        raise LockMismatchError(
            f"no wheel of {name}=={version} with a locked hash fits this Python",
            hint="vouch installs build environments from wheels only; relock on this platform",
        )
    return best[1]


def cached_wheel(
    index: SimpleIndex, name: NormalizedName, version: str, hashes: frozenset[str],
    tags: tuple[Tag, ...],
) -> Path | None:  # fmt: skip
    """A cached, hash-checked wheel for a locked package, so repeated builds need no network."""
    candidates = [
        IndexFile(filename=path.name, url="", sha256=digest)
        for digest in hashes
        if (index.cache_dir / digest).is_dir()
        for path in (index.cache_dir / digest).iterdir()
        if path.name.endswith(".whl")
    ]
    if not candidates:
        return None
    try:
        chosen = select_wheel(name, version, hashes, candidates, tags)
    except LockMismatchError:
        return None
    return index.cached(chosen.sha256, chosen.filename)


def fetch_wheels(
    packages: Iterable[tuple[NormalizedName, str, frozenset[str]]],
    index: SimpleIndex,
    tags: tuple[Tag, ...],
) -> list[tuple[InstalledPackage, Path]]:
    """The wheel file to install for each locked package, from the cache or the index."""
    chosen: list[tuple[InstalledPackage, Path]] = []
    for name, version, hashes in packages:
        path = cached_wheel(index, name, version, hashes, tags)
        if path is None:
            file = select_wheel(name, version, hashes, index.project_files(name), tags)
            path = index.download(file)
        digest = path.parent.name
        chosen.append((InstalledPackage(name, version, path.name, digest), path))
    return chosen


def create_venv(
    venv: Path, interpreter: Interpreter, wheels: Iterable[Path], *, uv: str, cache_dir: Path,
    run: Runner = run_process,
) -> Path:  # fmt: skip
    """Create a venv at ``venv`` and install exactly ``wheels`` into it; return its python."""
    env = uv_environment()
    _run_tool(run, [uv, "venv", "--quiet", "--no-config", "--python", interpreter.executable, str(venv)], env)
    python = venv / "bin" / "python"
    wheels = list(wheels)
    if not wheels:  # an in-tree backend with no build requirements
        return python
    _run_tool(
        run,
        [
            uv, "pip", "install", "--quiet", "--no-config", "--python", str(python),
            "--no-index", "--no-deps", "--offline", "--cache-dir", str(cache_dir),
            *[str(w) for w in wheels],
        ],
        env,
    )  # fmt: skip
    check = run([uv, "pip", "check", "--no-config", "--python", str(python)], env=env)
    if check.returncode != 0:
        problems = " ".join((check.out + check.err).strip().splitlines()[-3:])
        raise LockMismatchError(
            f"the locked build environment is incomplete: {problems}",
            hint="relock: the lock must pin every dependency of the build requirements",
        )
    return python


def _run_tool(run: Runner, command: list[str], env: Mapping[str, str]) -> None:
    result = run(command, env=env, umask=UMASK)
    if result.returncode != 0:
        tail = " ".join((result.err or result.out).strip().splitlines()[-4:])
        raise ToolError(f"{Path(command[0]).name} {command[1]} failed: {tail}")


def zlib_version() -> str:
    return zlib.ZLIB_RUNTIME_VERSION


@dataclass(frozen=True)
class Installed:
    """The packages of a build environment, by the exact files installed."""

    python: Path
    packages: tuple[InstalledPackage, ...]

    @property
    def versions(self) -> dict[str, str]:
        return {p.name: p.version for p in self.packages}


def install_locked(
    packages: Iterable[LockedPackage],
    index: SimpleIndex,
    interpreter: Interpreter,
    venv: Path,
    *,
    uv: str,
    cache_dir: Path,
    run: Runner = run_process,
) -> Installed:
    """Fetch the locked wheels (cache first) and install exactly them into a new venv."""
    chosen = fetch_wheels([(p.name, p.version, p.hashes) for p in packages], index, interpreter.tags)
    wheels = [path for _, path in chosen]
    python = create_venv(venv, interpreter, wheels, uv=uv, cache_dir=cache_dir / "uv", run=run)
    return Installed(python, tuple(package for package, _ in chosen))
