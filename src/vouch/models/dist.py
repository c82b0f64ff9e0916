"""Distribution file names: the (project, version) an sdist or wheel file name declares."""

from __future__ import annotations

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version


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
