"""Inferring how a published wheel was built, for releases not built by vouch.

Pure functions over the published archives' members:
- the backend and its version from the wheel's ``WHEEL`` file (``Generator: flit 3.12.0``);
- the other build requirements from the sdist's ``[build-system]``;
- SOURCE_DATE_EPOCH from the timestamps when they are uniform: the tar members' mtimes are exact,
  a zip's date_time keeps even seconds only, so the sdist is preferred; none when they vary;
- dependency resolution as of the release's first upload (uv's ``--exclude-newer``);
- a self-hosting backend (``backend-path``: hatchling, flit-core, poetry-core build themselves) is
  never pinned from the Generator line when that names the project itself (it is the sdist); its own
  ``[project] dependencies``, which it asks for, join the build requirements; a Generator that names
  another package (setuptools-scm's in-tree backend wraps setuptools: ``bdist_wheel (0.43.0)``) is
  pinned as for any project;
- ``Generator: bdist_wheel (V)`` names the ``wheel`` package: ``wheel==V``, with setuptools before
  70.1 (which took ``bdist_wheel`` over and writes its own Generator);
- a universal wheel (``py2.py3-none-any``, its WHEEL ``Tag`` lines) from setuptools: the releaser ran
  ``bdist_wheel --universal`` or its setup.cfg says ``universal = 1``; the rebuild asks for it through
  a ``[bdist_wheel] universal = 1`` configuration file (``DIST_EXTRA_CONFIG``, which setuptools reads);
- the build machine's timezone when SOURCE_DATE_EPOCH was not set (:mod:`vouch.rebuild.machine`),
  written into the recipe as ``TZ``; and the signs of a build on Windows.
Every inferred value says where it came from (``origins``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from email.parser import HeaderParser
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from vouch.archive.safe import Member, MemberType
from vouch.errors import ArchiveError
from vouch.rebuild.machine import posix_tz, timezone_offset, windows_evidence

# what a WHEEL Generator names -> the package that provides it
GENERATORS = {
    "flit": "flit_core",
    "flit_core": "flit_core",
    "bdist_wheel": "wheel",
    "setuptools": "setuptools",
    "hatchling": "hatchling",
    "hatch": "hatchling",
    "poetry-core": "poetry-core",
    "poetry": "poetry-core",
    "pdm-backend": "pdm-backend",
    "pdm": "pdm-backend",
    "uv": "uv_build",
    "uv_build": "uv_build",
}
_GENERATOR = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)[\s(]+(?P<version>[0-9][^)\s]*)\)?")
LEGACY_BACKEND = "setuptools.build_meta:__legacy__"


@dataclass(frozen=True)
class Recipe:
    generator: str
    backend: str
    backend_path: tuple[str, ...]
    requirements: tuple[str, ...]
    source_date_epoch: int | None
    source_date_epoch_origin: str
    exclude_newer: str | None
    timezone: str | None = None
    built_on_windows: tuple[str, ...] = ()
    origins: tuple[tuple[str, str], ...] = ()  # (value, where it came from)
    universal: bool = False  # setuptools' bdist_wheel --universal: a py2.py3-none-any wheel

    @property
    def environment(self) -> dict[str, str]:
        """Variables the recipe sets for the backend beyond the hermetic defaults."""
        return {"TZ": self.timezone} if self.timezone else {}

    def to_json(self) -> dict[str, Any]:
        return {
            "generator": self.generator,
            "backend": self.backend,
            "requirements": list(self.requirements),
            "source_date_epoch": self.source_date_epoch,
            "source_date_epoch_origin": self.source_date_epoch_origin,
            "exclude_newer": self.exclude_newer,
        } | ({"timezone": self.timezone} if self.timezone else {}) | (
            {"bdist_wheel_universal": True} if self.universal else {}
        ) | (
            {"built_on_windows": list(self.built_on_windows)} if self.built_on_windows else {}
        ) | {"origins": dict(self.origins)}


def _member(members: Sequence[Member], suffix: str) -> Member | None:
    found = [m for m in members if m.type is not MemberType.DIR and m.name.endswith(suffix)]
    return found[0] if len(found) == 1 else None


def wheel_generator(wheel: Sequence[Member]) -> str:
    member = _member([m for m in wheel if ".dist-info/" in m.name], ".dist-info/WHEEL")
    if member is None:
        raise ArchiveError("the wheel has no single .dist-info/WHEEL")
    headers = HeaderParser().parsestr(member.data.decode("utf-8", "replace"))
    return (headers.get("Generator") or "").strip()


def wheel_tags(wheel: Sequence[Member]) -> tuple[str, ...]:
    """The ``Tag`` lines of the wheel's ``WHEEL`` file."""
    member = _member([m for m in wheel if ".dist-info/" in m.name], ".dist-info/WHEEL")
    if member is None:
        return ()
    headers = HeaderParser().parsestr(member.data.decode("utf-8", "replace"))
    return tuple(str(t).strip() for t in headers.get_all("Tag") or [])


def sdist_project(sdist: Sequence[Member]) -> str:
    """The project's normalised name, from the sdist's top folder ``NAME-VERSION``."""
    return canonicalize_name(sdist[0].name.split("/", 1)[0].rsplit("-", 1)[0]) if sdist else ""


def generator_pin(generator: str) -> str | None:
    """``flit 3.12.0`` -> ``flit_core==3.12.0``; None when the generator is not known."""
    match = _GENERATOR.match(generator)
    if match is None:
        return None
    package = GENERATORS.get(match.group("name").lower())
    return f"{package}=={match.group('version')}" if package else None


def sdist_build_system(sdist: Sequence[Member]) -> tuple[list[str], str, tuple[str, ...]]:
    top = sdist[0].name.split("/", 1)[0]
    pyproject = next((m for m in sdist if m.name == f"{top}/pyproject.toml"), None)
    if pyproject is None:
        return ["setuptools", "wheel"], LEGACY_BACKEND, ()
    try:
        table = tomllib.loads(pyproject.data.decode("utf-8")).get("build-system", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ArchiveError(f"{pyproject.name} is not valid TOML: {exc}") from exc
    requires = [str(r) for r in table.get("requires", ["setuptools", "wheel"])]
    backend = str(table.get("build-backend", LEGACY_BACKEND))
    return requires, backend, tuple(str(p) for p in table.get("backend-path", []))


def uniform_epoch(
    sdist: Sequence[Member], wheel: Sequence[Member], gzip_mtime: int = 0
) -> tuple[int | None, str]:
    """SOURCE_DATE_EPOCH as the archives show it, or None when their timestamps vary. Members
    with mtime 0 (written by backends that zero them) do not count against uniformity."""
    tar_times = {m.mtime for m in sdist} - {0.0}
    if len(tar_times) == 1 and float(next(iter(tar_times))).is_integer():
        epoch = int(next(iter(tar_times)))
        if gzip_mtime == epoch:
            return epoch, "sdist gzip header and member mtimes"
        return epoch, "uniform sdist member mtimes"
    zip_times = {m.mtime for m in wheel}
    if len(zip_times) == 1:
        return int(next(iter(zip_times))), "uniform wheel date_time (even seconds only)"
    return None, "none: the archives' timestamps vary"


def self_hosting_requirements(sdist: Sequence[Member]) -> list[str]:
    """A self-hosting backend's own ``[project] dependencies``: what it asks for to build itself."""
    top = sdist[0].name.split("/", 1)[0]
    pyproject = next((m for m in sdist if m.name == f"{top}/pyproject.toml"), None)
    if pyproject is None:
        return []
    project = tomllib.loads(pyproject.data.decode("utf-8")).get("project", {})
    dependencies = project.get("dependencies", []) if isinstance(project, dict) else []
    return [str(d) for d in dependencies] if isinstance(dependencies, list) else []


def _name(text: str) -> str:
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement as exc:
        raise ArchiveError(f"the sdist's build requirement {text!r} is invalid: {exc}") from exc


def infer_recipe(
    sdist: Sequence[Member], wheel: Sequence[Member], *, uploaded: str | None, gzip_mtime: int = 0
) -> Recipe:
    generator = wheel_generator(wheel)
    requires, backend, backend_path = sdist_build_system(sdist)
    origins: list[tuple[str, str]] = [(f"backend {backend}", "the sdist's pyproject.toml [build-system]")]
    pin = generator_pin(generator)
    if backend_path and pin is not None and _name(pin) == sdist_project(sdist):
        pin = None  # the Generator is the backend being built: the sdist itself
    requirements = [text for text in requires if pin is None or _name(text) != _name(pin)]
    origins += [(text, "the sdist's [build-system] requires") for text in requirements]
    if backend_path:
        listed = {_name(r) for r in requirements}
        own = [d for d in self_hosting_requirements(sdist) if _name(d) not in listed]
        requirements += own
        origins.append((f"backend-path {', '.join(backend_path)}", "self-hosting: the backend is the sdist "
                        "itself, not pinned from the Generator line"))  # fmt: skip
        origins += [(text, "the self-hosting backend's own [project] dependencies") for text in own]
    if pin is not None:
        requirements.append(pin)
        origins.append((pin, f"the wheel's WHEEL Generator: {generator}"))
        if pin.startswith("wheel=="):
            # a bare "setuptools" gives way to the bound; a bounded one (">=61") stays beside it
            requirements = [r for r in requirements if r.strip() != "setuptools"] + ["setuptools<70.1"]
            origins.append(("setuptools<70.1", "bdist_wheel was the wheel package's before setuptools 70.1"))
    tags = wheel_tags(wheel)
    universal = {"py2-none-any", "py3-none-any"} <= set(tags) and _setuptools(backend, generator)
    if universal:
        origins.append(("bdist_wheel --universal", f"the published wheel's WHEEL tags {', '.join(tags)}: "
                        "a universal wheel, which setuptools builds only when asked"))  # fmt: skip
    sde, origin = uniform_epoch(sdist, wheel, gzip_mtime)
    origins.append((f"SOURCE_DATE_EPOCH {sde}", origin))
    timezone = None
    if sde is None and (found := timezone_offset(sdist, wheel)) is not None:
        timezone = posix_tz(found[0])
        shift = f"{found[1]} wheel member time(s) are the sdist's mtimes shifted by {found[0] // 60:+d} min"
        origins.append((f"TZ {timezone}", f"{shift}: local times of a build without SOURCE_DATE_EPOCH"))
    if uploaded:
        origins.append((f"exclude-newer {uploaded}", "the release's first upload to the index"))
    return Recipe(
        generator=generator,
        backend=backend,
        backend_path=backend_path,
        requirements=tuple(requirements),
        source_date_epoch=sde,
        source_date_epoch_origin=origin,
        exclude_newer=uploaded,
        timezone=timezone,
        built_on_windows=windows_evidence(wheel),
        origins=tuple(origins),
        universal=universal,
    )


def _setuptools(backend: str, generator: str) -> bool:
    return backend.startswith("setuptools") or generator.startswith(("bdist_wheel", "setuptools"))
