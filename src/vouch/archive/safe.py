"""Safe, bounded readers for the archives vouch handles: gzip-compressed tar (sdists) and zip (wheels).

Python's ``tarfile`` and ``zipfile`` parse the formats; this module adds what they leave to the
caller: limits on member count and decompressed size (zip and gzip bombs), refusal of paths that
escape the archive root, of links that point outside it, of device files, duplicate names and
encrypted members. Every problem becomes one :class:`~vouch.errors.ArchiveError`. No maintained
library does this checking for both formats, hence the code here.
"""

from __future__ import annotations

import calendar
import gzip
import io
import posixpath
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from vouch.errors import ArchiveError


@dataclass(frozen=True)
class Limits:
    """Upper bounds that protect against archive bombs. The defaults fit any real Python release."""

    max_members: int = 200_000
    max_member_size: int = 1 << 30
    max_total_size: int = 4 << 30


DEFAULT_LIMITS = Limits()


class MemberType(Enum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"


@dataclass(frozen=True)
class Member:
    """One archive member as read: its raw metadata and its content (empty for non-files)."""

    name: str
    type: MemberType
    mode: int
    mtime: float
    data: bytes = b""
    linkname: str = ""
    uid: int = 0
    gid: int = 0
    uname: str = ""
    gname: str = ""

    @property
    def executable(self) -> bool:
        return bool(self.mode & 0o111)


def check_member_name(name: str) -> str:
    """Return ``name`` without trailing slashes, refusing anything that could escape the root."""
    stripped = name.rstrip("/")
    if not stripped:
        raise ArchiveError(f"archive member with an empty name ({name!r})")
    if "\x00" in stripped or "\\" in stripped:
        raise ArchiveError(f"archive member name {name!r} contains a NUL or a backslash")
    if stripped.startswith("/") or (len(stripped) > 1 and stripped[1] == ":"):
        raise ArchiveError(f"archive member {name!r} has an absolute path")
    parts = stripped.split("/")
    if any(part in ("..", ".", "") for part in parts):
        raise ArchiveError(f"archive member {name!r} has '..', '.' or empty path components")
    return stripped


def check_link_target(name: str, target: str) -> None:
    """Refuse a link whose target is absolute, empty, or resolves outside the archive root."""
    if not target or target.startswith("/"):
        raise ArchiveError(f"link {name!r} points to an absolute or empty path {target!r}")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
    if resolved == ".." or resolved.startswith("../"):
        raise ArchiveError(f"link {name!r} points outside the archive ({target!r})")


def gunzip(data: bytes, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """Decompress a whole gzip stream, verifying its CRC, never producing more than the limit."""
    out = bytearray()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb") as stream:
            while chunk := stream.read(1 << 20):
                out += chunk
                if len(out) > limits.max_total_size:
                    raise ArchiveError(
                        f"gzip stream expands beyond {limits.max_total_size} bytes (a gzip bomb?)"
                    )
    except (OSError, EOFError, zlib.error) as exc:
        raise ArchiveError(f"not a valid gzip stream: {exc}") from exc
    return bytes(out)


def read_tar_gz(data: bytes, limits: Limits = DEFAULT_LIMITS) -> list[Member]:
    """Read every member of a ``.tar.gz``, in archive order, checking each one."""
    raw = gunzip(data, limits)
    members: list[Member] = []
    seen: dict[str, Member] = {}
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as archive:
            for info in _iter_tar(archive, limits):
                name = check_member_name(info.name)
                if name in seen:
                    raise ArchiveError(f"duplicate archive member {name!r}")
                member = _tar_member(archive, info, name, seen, limits)
                total += len(member.data)
                if total > limits.max_total_size:
                    raise ArchiveError(f"archive expands beyond {limits.max_total_size} bytes")
                seen[name] = member
                members.append(member)
    except tarfile.TarError as exc:
        raise ArchiveError(f"not a valid tar archive: {exc}") from exc
    return members


def _iter_tar(archive: tarfile.TarFile, limits: Limits) -> Iterator[tarfile.TarInfo]:
    count = 0
    while (info := archive.next()) is not None:
        count += 1
        if count > limits.max_members:
            raise ArchiveError(f"archive has more than {limits.max_members} members")
        yield info


def _tar_member(
    archive: tarfile.TarFile,
    info: tarfile.TarInfo,
    name: str,
    seen: dict[str, Member],
    limits: Limits,
) -> Member:
    common = {
        "name": name,
        "mode": info.mode,
        "mtime": float(info.mtime),
        "uid": info.uid,
        "gid": info.gid,
        "uname": info.uname,
        "gname": info.gname,
    }
    if info.isreg():
        if info.size > limits.max_member_size:
            raise ArchiveError(f"member {name!r} is larger than {limits.max_member_size} bytes")
        extracted = archive.extractfile(info)
        if extracted is None:  # pragma: no cover - isreg() members always have a file object
            raise ArchiveError(f"member {name!r} has no content")
        data = extracted.read()
        if len(data) != info.size:
            raise ArchiveError(f"member {name!r} is truncated")
        return Member(type=MemberType.FILE, data=data, **common)  # type: ignore[arg-type]
    if info.isdir():
        return Member(type=MemberType.DIR, **common)  # type: ignore[arg-type]
    if info.issym():
        check_link_target(name, info.linkname)
        return Member(type=MemberType.SYMLINK, linkname=info.linkname, **common)  # type: ignore[arg-type]
    if info.islnk():
        target = check_member_name(info.linkname)
        if target not in seen or seen[target].type is not MemberType.FILE:
            raise ArchiveError(f"hard link {name!r} points to {target!r}, not an earlier file")
        return Member(
            type=MemberType.HARDLINK,
            linkname=target,
            data=seen[target].data,
            **common,  # type: ignore[arg-type]
        )
    raise ArchiveError(f"member {name!r} is a device, FIFO or other special file")


def read_zip(data: bytes, limits: Limits = DEFAULT_LIMITS) -> list[Member]:
    """Read every member of a zip archive, in archive order, checking sizes, CRCs and names."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ArchiveError(f"not a valid zip archive: {exc}") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_members:
            raise ArchiveError(f"archive has more than {limits.max_members} members")
        declared = sum(info.file_size for info in infos)
        if declared > limits.max_total_size:
            raise ArchiveError(
                f"zip members expand to {declared} bytes, beyond {limits.max_total_size} (a zip bomb?)"
            )
        members: list[Member] = []
        seen: set[str] = set()
        for info in infos:
            members.append(_zip_member(archive, info, seen, limits))
    return members


def _zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, seen: set[str], limits: Limits) -> Member:
    name = check_member_name(info.filename)
    if name in seen:
        raise ArchiveError(f"duplicate archive member {name!r}")
    seen.add(name)
    if info.flag_bits & 0x1:
        raise ArchiveError(f"member {name!r} is encrypted")
    if info.file_size > limits.max_member_size:
        raise ArchiveError(f"member {name!r} is larger than {limits.max_member_size} bytes")
    mode = info.external_attr >> 16
    mtime = float(_zip_seconds(info.date_time))
    if stat.S_ISLNK(mode):
        raise ArchiveError(f"member {name!r} is a symbolic link, which a wheel cannot hold")
    if info.is_dir():
        return Member(name=name, type=MemberType.DIR, mode=mode & 0o7777, mtime=mtime)
    try:
        content = archive.read(info)
    except (zipfile.BadZipFile, OSError, zlib.error, NotImplementedError, RuntimeError) as exc:
        raise ArchiveError(f"member {name!r} cannot be read: {exc}") from exc
    return Member(name=name, type=MemberType.FILE, mode=mode & 0o7777, mtime=mtime, data=content)


def _zip_seconds(date_time: tuple[int, int, int, int, int, int]) -> int:
    return calendar.timegm((*date_time, 0, 0, 0))
