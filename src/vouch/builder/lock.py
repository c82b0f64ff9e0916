"""The build lock: every package of the build environment, pinned to a version and sha256 hashes.

The format is a pip/uv requirements file that holds only ``name==version`` lines with ``--hash``
options, under a header naming the format version, so ``uv pip install --require-hashes`` and
``pip install --require-hashes`` read it as they are. Resolution is uv's
(``uv pip compile --generate-hashes``); this module parses, renders and checks locks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from vouch import __version__
from vouch.builder.env import uv_environment
from vouch.errors import LockMismatchError, ProjectConfigError, ToolError, UsageError
from vouch.host import Runner, run_process
from vouch.index.urls import redact
from vouch.untrusted import DocumentError, load_toml, read_tree_file

LOCK_FORMAT = 1
LOCK_FILENAME = "build-requirements.lock"
_COMMENT = re.compile(r"(^|\s)#.*$")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)$")


@dataclass(frozen=True)
class BuildSystem:
    """The ``[build-system]`` table of a project."""

    requires: tuple[Requirement, ...]
    backend: str
    backend_path: tuple[str, ...]


@dataclass(frozen=True)
class LockedPackage:
    name: NormalizedName
    version: str
    hashes: frozenset[str]


def read_build_system(project_dir: Path) -> BuildSystem:
    """Parse ``[build-system]``; a missing file, table, ``requires`` or backend is refused."""
    pyproject = project_dir / "pyproject.toml"
    if not pyproject.is_file():
        raise ProjectConfigError(
            f"no pyproject.toml in {project_dir.name or project_dir} at this revision",
            hint="vouch builds PEP 517 projects: add pyproject.toml with a [build-system] table",
        )
    try:
        data = read_tree_file(project_dir, "pyproject.toml", "pyproject.toml")
        table = load_toml(data, "pyproject.toml").get("build-system")
    except DocumentError as exc:
        raise ProjectConfigError(str(exc)) from None
    except OSError as exc:
        raise ProjectConfigError(f"cannot read pyproject.toml: {exc.strerror}") from exc
    if not isinstance(table, dict):
        raise ProjectConfigError(
            "pyproject.toml has no [build-system] table",
            hint='declare the backend, e.g. requires = ["setuptools>=77"], '
            'build-backend = "setuptools.build_meta"',
        )
    requires = table.get("requires")
    backend = table.get("build-backend")
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise ProjectConfigError("[build-system] requires must be a list of strings")
    if not isinstance(backend, str) or not backend:
        raise ProjectConfigError("[build-system] has no build-backend")
    backend_path = table.get("backend-path", [])
    if not isinstance(backend_path, list):
        raise ProjectConfigError("[build-system] backend-path must be a list of strings")
    try:
        parsed = tuple(Requirement(r) for r in requires)
    except InvalidRequirement as exc:
        raise ProjectConfigError(f"[build-system] requires: {exc}") from exc
    return BuildSystem(requires=parsed, backend=backend, backend_path=tuple(backend_path))


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    pending, start = "", 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = _COMMENT.sub("", line).strip()
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        pending += stripped
        if pending.strip():
            yield start, pending.strip()
        pending = ""
    if pending.strip():
        yield start, pending.strip()


def parse_lock(text: str, origin: str = "build lock") -> list[LockedPackage]:
    """Parse a lock. Anything but ``name==version --hash=sha256:...`` lines is refused."""
    packages: dict[NormalizedName, LockedPackage] = {}
    for number, line in _logical_lines(text):
        words = line.split()
        match = _PIN.match(words[0])
        hashes = [w.removeprefix("--hash=") for w in words[1:]]
        if match is None or not hashes or any(not w.startswith("--hash=") for w in words[1:]):
            raise UsageError(
                f"{origin}, line {number}: expected 'name==version --hash=sha256:...'",
                hint="regenerate it: uv pip compile --generate-hashes",
            )
        if any(not re.fullmatch(r"sha256:[0-9a-fA-F]{64}", h) for h in hashes):
            raise UsageError(f"{origin}, line {number}: only sha256 hashes are accepted")
        name = canonicalize_name(match.group(1))
        try:
            Version(match.group(2))
        except InvalidVersion as exc:
            raise UsageError(f"{origin}, line {number}: {exc}") from exc
        if name in packages:
            raise UsageError(f"{origin}, line {number}: {name} is pinned twice")
        packages[name] = LockedPackage(
            name=name,
            version=match.group(2),
            hashes=frozenset(h.removeprefix("sha256:").lower() for h in hashes),
        )
    return sorted(packages.values(), key=lambda p: p.name)


def render_lock(packages: Iterable[LockedPackage], python_version: str) -> str:
    lines = [
        f"# vouch build lock, format {LOCK_FORMAT}: the project's build environment, pinned.",
        f"# Made by vouch {__version__} for Python {python_version} with uv pip compile.",
        "# Commit it as build-requirements.lock at the project root so every build uses it.",
    ]
    for package in sorted(packages, key=lambda p: p.name):
        lines.append(f"{package.name}=={package.version} \\")
        hashes = sorted(package.hashes)
        for index, digest in enumerate(hashes):
            end = " \\" if index < len(hashes) - 1 else ""
            lines.append(f"    --hash=sha256:{digest}{end}")
    return "\n".join(lines) + "\n"


def applies(requirement: Requirement) -> bool:
    """Whether ``requirement``'s marker holds for the build interpreter (no extras)."""
    return requirement.marker is None or requirement.marker.evaluate({"extra": ""})


def check_lock(
    packages: Iterable[LockedPackage],
    requires: Iterable[Requirement],
    origin: str = "build lock",
) -> None:
    """Refuse a lock that does not pin a version satisfying every applicable requirement."""
    pinned = {p.name: p for p in packages}
    for requirement in requires:
        if not applies(requirement):
            continue
        package = pinned.get(canonicalize_name(requirement.name))
        if package is None:
            raise LockMismatchError(
                f"{origin} does not pin {requirement.name}, which the build requires ({requirement})",
                hint="delete the lock (or pass --build-lock NEW) to resolve a new one",
            )
        if not requirement.specifier.contains(package.version, prereleases=True):
            raise LockMismatchError(
                f"{origin} pins {package.name}=={package.version}, but the build requires {requirement}",
                hint="update the lock to satisfy [build-system] requires",
            )


def resolve_lock(
    requirements: Iterable[str],
    *,
    uv: str,
    python: str,
    index_url: str,
    cache_dir: Path,
    exclude_newer: str | None = None,
    run: Runner = run_process,
) -> list[LockedPackage]:
    """Resolve ``requirements`` with uv into pinned packages with every file's sha256."""
    requirements = list(requirements)
    if not requirements:  # an in-tree backend (backend-path) that needs nothing installed
        return []
    command = [
        uv, "pip", "compile", "-", "--generate-hashes", "--no-header", "--no-annotate",
        "--quiet", "--no-config", "--python", python, "--index-url", index_url,
        "--cache-dir", str(cache_dir),
        *(["--exclude-newer", exclude_newer] if exclude_newer else []),
    ]  # fmt: skip
    result = run(command, stdin=("\n".join(requirements) + "\n").encode(), env=uv_environment())
    if result.returncode != 0:
        tail = " ".join(result.err.strip().splitlines()[-3:])
        raise ToolError(f"resolving the build requirements failed: {redact(tail)}")
    return parse_lock(result.out, "uv pip compile output")
