"""Reading archives whole and extracting them: the entry points for the normalizer and the build.

One reader per format does the work, under rules stated once: :mod:`vouch.archive.members` (what
members may be), :mod:`vouch.archive.tar` (sdists, ``.tar.gz``), :mod:`vouch.archive.zip` (wheels)
and :mod:`vouch.archive.extract` (writing an sdist to disk). Every problem is one
:class:`~vouch.errors.ArchiveError` naming the member.
"""

from __future__ import annotations

from vouch.archive.extract import extract_sdist
from vouch.archive.members import (
    DEFAULT_LIMITS,
    ArchiveTree,
    Limits,
    Member,
    MemberType,
    check_link_target,
    check_member_name,
)
from vouch.archive.tar import read_tar_gz
from vouch.archive.zip import read_zip

__all__ = [
    "DEFAULT_LIMITS",
    "ArchiveTree",
    "Limits",
    "Member",
    "MemberType",
    "check_link_target",
    "check_member_name",
    "extract_sdist",
    "read_tar_gz",
    "read_zip",
]
