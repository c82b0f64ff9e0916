"""Distribution file names: the (project, version) an sdist or wheel file name declares, and the
test that a name from outside (a record, a statement, an index) is a plain file name before it is
ever joined to a folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from vouch.errors import UsageError


def dist_name_version(filename: str) -> tuple[NormalizedName, Version] | None:
    """(name, version) of an sdist (``.tar.gz``, ``.zip``) or wheel file name, parsed as
    packaging parses them (so compressed tag sets in any order compare equal); None otherwise."""
    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
            return name, version
        if filename.endswith((".tar.gz", ".zip")):
            return parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return None


def one_release(artifacts: Sequence[Path]) -> tuple[NormalizedName, Version]:
    """The one (project, version) that all the artifacts' file names declare; anything else is a
    usage error naming what was found."""
    releases = set()
    for path in artifacts:
        parsed = dist_name_version(path.name)
        if parsed is None:
            raise UsageError(f"{path.name} is not an sdist or a wheel file name")
        releases.add(parsed)
    if len(releases) != 1:
        found = ", ".join(sorted(f"{n} {v}" for n, v in releases)) or "none"
        raise UsageError(f"the artifacts must be the files of one release; found: {found}")
    return next(iter(releases))


_MAX_FILENAME = 255


def is_plain_filename(name: object) -> bool:
    """True for a single path component: not empty, not ``.``, no ``..`` anywhere, no separator of
    any platform (``/``, ``\\``, ``:``), no NUL or other control character, at most 255 characters.
    Every name from outside (records, statements, index pages) passes this before it is joined to a
    folder or compared with a file's name."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= _MAX_FILENAME
        and name != "."
        and ".." not in name
        and not any(c in name for c in "/\\:")
        and all(c.isprintable() for c in name)
    )
