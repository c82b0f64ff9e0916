"""The normalizer: a versioned, pure function from an archive's content to canonical bytes.

Build backends leak the build machine into their archives (setuptools sdists: gzip header time and
file name, member mtimes, uid/gid and owner names, PAX time records; setuptools wheels: file modes
from disk; pdm-backend sdists: gzip time). The normalizer rewrites the container and leaves every
member's content untouched, so a wheel's RECORD stays valid and an sdist's PKG-INFO is unchanged:

sdist (.tar.gz), PAX format:
  members sorted by name; mtime clamped to SOURCE_DATE_EPOCH (integer seconds); uid/gid 0 and
  empty owner names; files 0644, or 0755 when any executable bit is set; directories 0755;
  symlinks 0777; hard links materialised as regular files; no PAX records but those tarfile needs
  for long or non-ASCII names; one gzip member at level 9 whose header has MTIME 0, no file
  name, XFL 2 and OS byte 255 (on every platform: zlib's own header would say 3 on Linux and 19
  on macOS).
wheel (.whl, zip):
  members sorted by name, with the ``.dist-info`` directory after everything else and its RECORD
  last; date_time clamped to SOURCE_DATE_EPOCH (and to 1980, zip's epoch); external_attr from the
  same mode rule; created on "Unix", version 2.0, no extra fields, no data descriptors, no zip64;
  deflate level 6 for files, stored directories.
compression (v3):
  the deflate streams come from libdeflate through the pinned ``deflate`` package (see
  vouch.archive.compress, which also writes the gzip and zip framing), never from the system's
  zlib: the same bytes with stock zlib, zlib-ng or any other. v2 compressed with Python's
  ``zlib`` (the system's) at the same levels, with the same framing; it is kept for rebuilding
  records made with it.

Changing any of these rules changes the output: bump NORMALIZER_VERSION with it, since build
records name the version they were made with.
"""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from vouch.archive.compress import Compressor, ZipEntry, gzip_member, libdeflate, system_zlib, write_zip
from vouch.archive.safe import DEFAULT_LIMITS, Limits, Member, MemberType, read_tar_gz, read_zip
from vouch.errors import ArchiveError, UsageError

NORMALIZER_NAME = "vouch-normalizer"
NORMALIZER_VERSION = 3  # 2: gzip OS byte 255 on every platform; 3: libdeflate, not the system's zlib
SUPPORTED_VERSIONS = (2, 3)  # the versions this vouch can still write (to rebuild old records)
GZIP_LEVEL = 9
ZIP_LEVEL = 6
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def compressor_for(version: int = NORMALIZER_VERSION) -> Compressor:
    """The compressor of a normalizer version: libdeflate for v3, the system's zlib for v2."""
    if version == NORMALIZER_VERSION:
        return libdeflate()
    if version == 2:
        return system_zlib()
    raise UsageError(
        f"{NORMALIZER_NAME} v{version} is not one this vouch can write "
        f"(it writes v{', v'.join(map(str, SUPPORTED_VERSIONS))})",
        hint="use the vouch version that made it",
    )


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


def pack_sdist(members: list[Member], compressor: Compressor | None = None) -> bytes:
    """A PAX tar.gz of canonical members, in their order (compressed by v3's compressor unless
    another is given)."""
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
    return gzip_canonical(raw.getvalue(), compressor)


def normalize_sdist(
    data: bytes, source_date_epoch: int, limits: Limits = DEFAULT_LIMITS, compressor: Compressor | None = None
) -> bytes:
    """Return the canonical form of a ``.tar.gz`` sdist."""
    return pack_sdist(canonical_members(read_tar_gz(data, limits), source_date_epoch), compressor)


def gzip_canonical(data: bytes, compressor: Compressor | None = None) -> bytes:
    """gzip with a fixed header: no name, mtime 0, XFL 2, OS 255 ("unknown"), at GZIP_LEVEL."""
    return gzip_member(data, compressor or compressor_for(), GZIP_LEVEL)


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


def _zip_entry(member: Member) -> ZipEntry:
    if member.type is MemberType.DIR:  # stored, with the MS-DOS directory bit
        return ZipEntry(member.name + "/", zip_date_time(member.mtime),
                        (member.mode | 0o040000) << 16 | 0x10, deflated=False)  # fmt: skip
    return ZipEntry(member.name, zip_date_time(member.mtime), (member.mode | 0o100000) << 16, member.data)


def pack_wheel(members: list[Member], compressor: Compressor | None = None) -> bytes:
    """A zip of canonical members, in their order (compressed by v3's compressor unless another
    is given)."""
    return write_zip([_zip_entry(m) for m in members], compressor or compressor_for(), ZIP_LEVEL)


def normalize_wheel(
    data: bytes, source_date_epoch: int, limits: Limits = DEFAULT_LIMITS, compressor: Compressor | None = None
) -> bytes:
    """Return the canonical form of a wheel (or any zip archive)."""
    return pack_wheel(canonical_members(read_zip(data, limits), source_date_epoch, zip_order_key), compressor)


def normalize_archive(
    path: Path, source_date_epoch: int, limits: Limits = DEFAULT_LIMITS, compressor: Compressor | None = None
) -> bytes:
    """Normalise the archive at ``path`` by its kind (``.tar.gz`` sdist or ``.whl``)."""
    data = path.read_bytes()
    if path.name.endswith(".tar.gz"):
        return normalize_sdist(data, source_date_epoch, limits, compressor)
    if path.name.endswith(".whl"):
        return normalize_wheel(data, source_date_epoch, limits, compressor)
    raise ArchiveError(f"{path.name}: not an sdist (.tar.gz) or a wheel (.whl)")
