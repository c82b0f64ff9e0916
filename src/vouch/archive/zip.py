"""The one reader of zips (wheels): the central directory checked against every local header,
members inflated in chunks, never beyond what they declare.

``zipfile`` parses the central directory and inflates; every member then goes through the rules of
:mod:`vouch.archive.members` (names, duplicates, links), and this module adds the zip format's own.
Refused, naming the member:

- more than ``Limits.max_members`` members; declared sizes summing beyond ``Limits.max_total_size``;
  a member declaring more than ``Limits.max_member_size``, or more than ``Limits.max_ratio`` times its
  compressed size (past ``Limits.ratio_floor``): all before inflating anything, and since a member is
  never inflated past its declared size, those checks bound the work and the memory;
- a member that inflates to fewer or more bytes than declared, or whose CRC does not match;
- a local header that is missing, or disagrees with the central directory on the name, the method,
  the encryption and data-descriptor flags, the CRC or the sizes; members whose data overlap (a
  zip-bomb technique) or run past the end of the file;
- encrypted members, unknown methods, names that are not UTF-8 when flagged so, symbolic links whose
  target is over 4096 bytes, a directory with content;
- a file that is not a zip, or is truncated.
"""

from __future__ import annotations

import calendar
import io
import lzma
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from vouch.archive.members import DEFAULT_LIMITS, ArchiveTree, Limits, Member, MemberType, printable
from vouch.errors import ArchiveError

CHUNK = 1 << 20
MAX_LINK = 4096
READ_ERRORS = (zipfile.BadZipFile, OSError, EOFError, zlib.error, lzma.LZMAError, NotImplementedError,
               RuntimeError, ValueError, struct.error)  # fmt: skip
_UNSET = 0xFFFFFFFF  # a zip64 local header's sizes live in its extra field


@dataclass(frozen=True)
class ZipMember:
    name: str
    kind: MemberType
    info: zipfile.ZipInfo
    linkname: str
    local_extra: bytes
    start: int  # of the compressed bytes in the file

    @property
    def mode(self) -> int:
        return (self.info.external_attr >> 16) & 0o7777


class ZipReader:
    """A zip whose every member has passed the rules; ``chunks()`` inflates one member."""

    def __init__(self, raw: BinaryIO, limits: Limits = DEFAULT_LIMITS) -> None:
        self._raw, self.limits, self.tree = raw, limits, ArchiveTree(limits)
        try:
            self.zip = zipfile.ZipFile(raw)
        except UnicodeDecodeError as exc:
            raise ArchiveError(f"member name {exc.object!r} is not valid UTF-8") from None
        except READ_ERRORS as exc:
            raise ArchiveError(f"not a valid zip archive: {exc}") from None
        infos = self.zip.infolist()
        if len(infos) > limits.max_members:
            raise ArchiveError(f"more than {limits.max_members} members")
        for info in infos:
            self._check_sizes(info)
        if (declared := sum(info.file_size for info in infos)) > limits.max_total_size:
            largest = max(infos, key=lambda info: info.file_size)
            raise ArchiveError(
                f"members inflate to {declared} bytes, beyond {limits.max_total_size} (a zip bomb?); "
                f"the largest is {printable(largest.filename)!r}"
            )
        self.comment = self.zip.comment
        self.members = [self._member(info) for info in infos]
        self.tree.finish()
        self._check_overlaps(raw.seek(0, io.SEEK_END))

    def close(self) -> None:
        self.zip.close()

    def _check_sizes(self, info: zipfile.ZipInfo) -> None:
        shown = printable(info.filename)
        if info.flag_bits & 0x1:
            raise ArchiveError(f"member {shown!r} is encrypted")
        if info.file_size > self.limits.max_member_size:
            raise ArchiveError(
                f"member {shown!r} declares {info.file_size} bytes, beyond {self.limits.max_member_size}"
            )
        ratio = info.file_size // max(info.compress_size, 1)
        if info.file_size > self.limits.ratio_floor and ratio > self.limits.max_ratio:
            raise ArchiveError(f"member {shown!r} inflates {ratio} times (a zip bomb?)")

    def _member(self, info: zipfile.ZipInfo) -> ZipMember:
        shown = printable(info.filename)
        local_extra, start = self._local_header(info, shown)
        mode = info.external_attr >> 16
        kind = MemberType.FILE
        if info.filename.endswith("/") or stat.S_ISDIR(mode):
            kind = MemberType.DIR
        elif stat.S_ISLNK(mode):
            kind = MemberType.SYMLINK
        if kind is MemberType.DIR and info.file_size:
            raise ArchiveError(f"member {shown!r} is a directory with content")
        linkname = ""
        if kind is MemberType.SYMLINK:
            if info.file_size > MAX_LINK:
                raise ArchiveError(f"symbolic link {shown!r} has a target over {MAX_LINK} bytes")
            linkname = b"".join(self._chunks(info, shown)).decode("utf-8", "surrogateescape")
        name = self.tree.admit(info.filename, kind, linkname)
        return ZipMember(name, kind, info, linkname, local_extra, start)

    def _local_header(self, info: zipfile.ZipInfo, shown: str) -> tuple[bytes, int]:
        """Check the member's local header against the central directory; its extra field, and
        where its compressed bytes start."""
        if info.header_offset < 0:
            raise ArchiveError(f"member {shown!r} has a local header before the start of the file")
        self._raw.seek(info.header_offset)
        fixed = self._raw.read(30)
        if len(fixed) < 30 or fixed[:4] != b"PK\x03\x04":
            raise ArchiveError(f"member {shown!r} has no valid local header")
        flags, method, crc, compressed, size, name_length, extra_length = struct.unpack(
            "<HH4xIIIHH", fixed[6:30]
        )
        raw_name = self._raw.read(name_length)
        extra = self._raw.read(extra_length)
        encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
        agree = (
            raw_name.decode(encoding, "replace") == info.orig_filename
            and len(extra) == extra_length
            and method == info.compress_type
            and (flags ^ info.flag_bits) & 0x9 == 0
            and (flags & 0x8 or crc == info.CRC)
            and (flags & 0x8 or compressed in (info.compress_size, _UNSET))
            and (flags & 0x8 or size in (info.file_size, _UNSET))
        )
        if not agree:
            raise ArchiveError(f"member {shown!r}: its local header does not match the central directory")
        return extra, info.header_offset + 30 + name_length + extra_length

    def _check_overlaps(self, file_size: int) -> None:
        """Members whose data overlap (a zip bomb technique) or run past the end of the file."""
        spans = sorted(self.members, key=lambda member: member.start)
        for member, following in zip(spans, [*spans[1:], None], strict=True):
            end = following.info.header_offset if following else file_size
            if member.start + member.info.compress_size > end:
                raise ArchiveError(
                    f"member {member.name!r} overlaps the next member or runs past the end of the file"
                )

    def chunks(self, member: ZipMember) -> Iterator[bytes]:
        """The member's content in chunks, at most its declared size; refused if it holds less."""
        return self._chunks(member.info, member.name)

    def _chunks(self, info: zipfile.ZipInfo, shown: str) -> Iterator[bytes]:
        left = info.file_size
        try:
            with self.zip.open(info) as stream:
                while left > 0 and (chunk := stream.read(min(CHUNK, left))):
                    left -= len(chunk)
                    yield chunk
                if left == 0 and stream.read(1):
                    raise ArchiveError(f"member {shown!r} holds more bytes than its header declares")
        except READ_ERRORS as exc:
            raise ArchiveError(f"member {shown!r} cannot be read: {exc}") from None
        if left:
            raise ArchiveError(f"member {shown!r} holds {info.file_size - left} bytes, not the "
                               f"{info.file_size} its header declares")  # fmt: skip

    def raw_chunks(self, member: ZipMember) -> Iterator[bytes]:
        """The member's compressed bytes, as stored."""
        at, left = member.start, member.info.compress_size
        while left > 0:
            self._raw.seek(at)
            chunk = self._raw.read(min(CHUNK, left))
            if not chunk:
                return
            at, left = at + len(chunk), left - len(chunk)
            yield chunk


def read_zip(data: bytes | BinaryIO, limits: Limits = DEFAULT_LIMITS) -> list[Member]:
    """Every member of a wheel (or any zip) with its content, in archive order, each one checked.
    A wheel holds no symbolic links: one is refused."""
    reader = ZipReader(io.BytesIO(data) if isinstance(data, bytes) else data, limits)
    members: list[Member] = []
    try:
        for member in reader.members:
            if member.kind is MemberType.SYMLINK:
                raise ArchiveError(f"member {member.name!r} is a symbolic link, which a wheel cannot hold")
            mtime = float(calendar.timegm((*member.info.date_time, 0, 0, 0)))
            content = b"".join(reader.chunks(member)) if member.kind is MemberType.FILE else b""
            members.append(
                Member(name=member.name, type=member.kind, mode=member.mode, mtime=mtime, data=content)
            )
    finally:
        reader.close()
    return members
