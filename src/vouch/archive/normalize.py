"""The normalizer: a versioned, pure function from an archive's content to canonical bytes.

Build backends leak the build machine into their archives (setuptools sdists: gzip header time and
file name, member mtimes, uid/gid and owner names, PAX time records; setuptools wheels: file modes
from disk; pdm-backend sdists: gzip time). The normalizer rewrites the container and leaves every
member's content untouched, so a wheel's RECORD stays valid and an sdist's PKG-INFO is unchanged:

sdist (.tar.gz), PAX format:
  members sorted by name; mtime clamped to SOURCE_DATE_EPOCH (integer seconds); uid/gid 0 and
  empty owner names; files 0644, or 0755 when any executable bit is set; directories 0755;
  symlinks 0777; hard links materialised as regular files; no PAX records but those tarfile needs
  for long or non-ASCII names; gzip level 9 with mtime 0, no file name, OS byte 255 (on every
  platform: zlib's own header would say 3 on Linux and 19 on macOS).
wheel (.whl, zip):
  members sorted by name, with the ``.dist-info`` directory after everything else and its RECORD
  last; date_time clamped to SOURCE_DATE_EPOCH (and to 1980, zip's epoch); external_attr from the
  same mode rule; created on "Unix"; deflate level 6 for files, stored directories.

Changing any of these rules changes the output: bump NORMALIZER_VERSION with it, since build
records name the version they were made with.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from vouch.archive.safe import DEFAULT_LIMITS, Limits, Member, MemberType, read_tar_gz, read_zip
from vouch.errors import ArchiveError

NORMALIZER_NAME = "vouch-normalizer"
NORMALIZER_VERSION = 2  # 2: gzip OS byte 255 on every platform
GZIP_LEVEL = 9
ZIP_LEVEL = 6
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def canonical_mode(member: Member) -> int:
    if member.type is MemberType.DIR:
        return 0o755
    if member.type is MemberType.SYMLINK:
        return 0o777
    return 0o755 if member.executable else 0o644


def canonical_members(
    members: list[Member], source_date_epoch: int, key: Callable[[str], Any] = str
) -> list[Member]:
    """Members in canonical order with canonical metadata; the content is untouched."""
    return [
        replace(
            member,
            type=MemberType.FILE if member.type is MemberType.HARDLINK else member.type,
            linkname=member.linkname if member.type is MemberType.SYMLINK else "",
            mode=canonical_mode(member),
            mtime=float(min(int(member.mtime), source_date_epoch)),
            uid=0,
            gid=0,
            uname="",
            gname="",
        )
        for member in sorted(members, key=lambda m: key(m.name))
    ]


def pack_sdist(members: list[Member]) -> bytes:
    """A PAX tar.gz of canonical members, in their order."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as out:
        for member in members:
            info = tarfile.TarInfo(member.name)
            info.mtime = int(member.mtime)
            info.mode = member.mode
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if member.type is MemberType.DIR:
                info.type = tarfile.DIRTYPE
                out.addfile(info)
            elif member.type is MemberType.SYMLINK:
                info.type = tarfile.SYMTYPE
                info.linkname = member.linkname
                out.addfile(info)
            else:
                info.type = tarfile.REGTYPE
                info.size = len(member.data)
                out.addfile(info, io.BytesIO(member.data))
    return gzip_canonical(raw.getvalue())


def normalize_sdist(data: bytes, source_date_epoch: int, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """Return the canonical form of a ``.tar.gz`` sdist."""
    return pack_sdist(canonical_members(read_tar_gz(data, limits), source_date_epoch))


def gzip_canonical(data: bytes) -> bytes:
    """gzip with a fixed header: no name, mtime 0, OS 255 ("unknown"). Not ``gzip.compress``,
    which for mtime 0 lets zlib write the header, whose OS byte depends on the platform."""
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=GZIP_LEVEL) as stream:
        stream.write(data)
    return out.getvalue()


def zip_order_key(name: str) -> tuple[int, int, str]:
    """Sort key for wheel members: ordinary files, then ``*.dist-info/``, with RECORD last."""
    top, _, rest = name.partition("/")
    in_dist_info = top.endswith(".dist-info")
    return (int(in_dist_info), int(in_dist_info and rest == "RECORD"), name)


def zip_date_time(epoch: float) -> tuple[int, int, int, int, int, int]:
    """The zip timestamp for a POSIX time, in UTC, at zip's two-second resolution."""
    stamp = time.gmtime(max(int(epoch), 315532800))
    date_time = (stamp.tm_year, stamp.tm_mon, stamp.tm_mday, stamp.tm_hour, stamp.tm_min)
    return (*date_time, stamp.tm_sec - stamp.tm_sec % 2)


def pack_wheel(members: list[Member]) -> bytes:
    """A zip of canonical members, in their order."""
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, mode="w") as out:
        for member in members:
            is_dir = member.type is MemberType.DIR
            info = zipfile.ZipInfo(member.name + ("/" if is_dir else ""))
            info.date_time = zip_date_time(member.mtime)
            info.create_system = 3
            info.external_attr = (member.mode | (0o040000 if is_dir else 0o100000)) << 16
            if is_dir:
                info.external_attr |= 0x10
                info.compress_type = zipfile.ZIP_STORED
                out.writestr(info, b"")
            else:
                info.compress_type = zipfile.ZIP_DEFLATED
                out.writestr(info, member.data, compresslevel=ZIP_LEVEL)
    return raw.getvalue()


def normalize_wheel(data: bytes, source_date_epoch: int, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """Return the canonical form of a wheel (or any zip archive)."""
    return pack_wheel(canonical_members(read_zip(data, limits), source_date_epoch, zip_order_key))


def normalize_archive(path: Path, source_date_epoch: int, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """Normalise the archive at ``path`` by its kind (``.tar.gz`` sdist or ``.whl``)."""
    data = path.read_bytes()
    if path.name.endswith(".tar.gz"):
        return normalize_sdist(data, source_date_epoch, limits)
    if path.name.endswith(".whl"):
        return normalize_wheel(data, source_date_epoch, limits)
    raise ArchiveError(f"{path.name}: not an sdist (.tar.gz) or a wheel (.whl)")
