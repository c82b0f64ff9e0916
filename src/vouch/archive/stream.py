"""Bounded, streaming listings of zips (wheels) and directories, and what all the differ's readers share.

Each reader turns one side of a comparison into a :class:`Listing`: every member's metadata in
archive order (an :class:`Entry`), plus the container's own header fields. Nothing is extracted and
no member is ever held whole in memory to hash it: contents are hashed in chunks as they stream by.
Sdists are read by :mod:`vouch.archive.tarstream`.

- **zip**: the central directory is read with ``zipfile``; local headers are parsed to find each
  member's compressed bytes, so that two members with the same CRC, sizes and compressed bytes are
  known identical without inflating them. Only members that differ are inflated, in chunks.
- **directory**: a walk with ``lstat`` (links are never followed), files hashed in chunks.

Hostile input raises :class:`~vouch.errors.ArchiveError` naming the archive and the member: the
checks of :mod:`vouch.archive.safe` (names, links, duplicates, devices, encryption, size limits),
plus a per-member compression-ratio cap, members that hold more or fewer bytes than declared,
overlapping zip members, corrupt or truncated streams and names that are not UTF-8.
"""

from __future__ import annotations

import contextlib
import hashlib
import lzma
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, Protocol

from vouch.archive.safe import Limits, MemberType, check_link_target, check_member_name
from vouch.errors import ArchiveError, CheckError

CHUNK = 1 << 20
TEXT_CAP = 1 << 20  # members larger than this are compared by size and sha256 only, never diffed
MAX_RATIO = 500  # inflated/compressed, for members over RATIO_FLOOR bytes: beyond it, a zip bomb
RATIO_FLOOR = 1 << 20
_ZIP_HEADER_FIELDS = ("create_system", "create_version", "extract_version", "flag_bits", "internal_attr")
_ZIP_METHODS = {0: "stored", 8: "deflated", 12: "bzip2", 14: "lzma"}
_ZIP_READ_ERRORS = (zipfile.BadZipFile, OSError, EOFError, zlib.error, lzma.LZMAError, NotImplementedError,
                    RuntimeError, ValueError)  # fmt: skip


@dataclass(frozen=True)
class Digest:
    size: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {"size": self.size, "sha256": self.sha256}


@dataclass(frozen=True)
class Owner:
    uid: int
    gid: int
    uname: str = ""
    gname: str = ""


@dataclass(frozen=True, slots=True)
class Entry:
    """One member's metadata. ``times`` holds secondary timestamps (PAX atime/ctime, zip extra
    fields); ``encoding`` holds how the container encodes the member (zip header fields, other PAX
    records), which changes no byte of the content."""

    name: str
    type: MemberType
    mode: int
    mtime: float | str
    owner: Owner | None = None
    linkname: str = ""
    size: int = 0
    digest: Digest | None = None
    times: Mapping[str, Any] = field(default_factory=dict)
    encoding: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ContentComparison:
    """Whether two members' contents are equal; ``recoding`` says how their encoding differs."""

    equal: bool
    a: Digest | None = None
    b: Digest | None = None
    recoding: dict[str, Any] = field(default_factory=dict)


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


class Listing:
    """One side of a comparison: its members in archive order and its container's header."""

    kind: ClassVar[str] = ""

    def __init__(self, label: str, entries: list[Entry]) -> None:
        self.label = label
        self.entries = entries
        self.by_name = {entry.name: entry for entry in entries}

    def compare_content(self, other: Listing, name: str) -> ContentComparison:
        a, b = self.by_name[name].digest, other.by_name[name].digest
        return ContentComparison(a == b, a, b)

    def read_texts(self, names: Collection[str]) -> dict[str, bytes]:
        raise NotImplementedError

    def close(self) -> None:
        """Release open files (zips keep theirs open while they are compared)."""


def refuse(label: str, message: str) -> ArchiveError:
    return ArchiveError(f"{label}: {message}")


def checked_name(label: str, name: str) -> str:
    """``name`` for reporting, refused unless it is UTF-8 and stays inside the archive root."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raw = name.encode("utf-8", "surrogateescape")
        raise refuse(label, f"member name {raw!r} is not valid UTF-8") from None
    try:
        return check_member_name(name)
    except ArchiveError as exc:
        raise refuse(label, str(exc)) from None


def checked_link(label: str, name: str, target: str) -> str:
    """``target`` for reporting, refused if it is absolute or leads out of the archive."""
    try:
        check_link_target(name, target)
    except ArchiveError as exc:
        raise refuse(label, str(exc)) from None
    return printable(target)


def printable(text: str) -> str:
    """A string that may hold undecodable bytes (as surrogates), safe to print and to JSON."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def hash_member(stream: Readable, declared: int, label: str, name: str, sink: bytearray | None) -> Digest:
    """Hash a member in chunks, reading at most its declared size; refuse one that holds less."""
    digest, size = hashlib.sha256(), 0
    while size < declared and (chunk := stream.read(min(CHUNK, declared - size))):
        size += len(chunk)
        digest.update(chunk)
        if sink is not None:
            sink += chunk
    if size != declared:
        raise refuse(label, f"member {name!r} holds {size} bytes, not the {declared} its header declares")
    return Digest(size, digest.hexdigest())


@contextlib.contextmanager
def open_binary(path: Path) -> Iterator[BinaryIO]:
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise CheckError(f"cannot read {path}: {exc.strerror or exc}") from exc
    with stream:
        yield stream


class ZipListing(Listing):
    kind = "zip"

    def __init__(self, path: Path, limits: Limits) -> None:
        label = self.label = str(path)
        with contextlib.ExitStack() as stack:
            self._raw = stack.enter_context(open_binary(path))
            try:
                self._zip = stack.enter_context(zipfile.ZipFile(self._raw))
            except UnicodeDecodeError as exc:
                raise refuse(label, f"member name {exc.object!r} is not valid UTF-8") from None
            except (*_ZIP_READ_ERRORS, struct.error) as exc:
                raise refuse(label, f"not a valid zip archive: {exc}") from None
            infos = self._zip.infolist()
            if len(infos) > limits.max_members:
                raise refuse(label, f"more than {limits.max_members} members")
            if (declared := sum(info.file_size for info in infos)) > limits.max_total_size:
                raise refuse(label, f"members inflate to {declared} bytes, beyond {limits.max_total_size} "
                             "(a zip bomb?)")  # fmt: skip
            self.comment = self._zip.comment.hex()
            self._infos: dict[str, zipfile.ZipInfo] = {}
            self._spans: dict[str, tuple[int, int]] = {}
            entries = [self._entry(info, label, limits) for info in infos]
            _check_overlaps(label, sorted(self._spans.items(), key=lambda item: item[1]),
                            os.fstat(self._raw.fileno()).st_size)  # fmt: skip
            self._close = stack.pop_all().close
        super().__init__(label, entries)

    def close(self) -> None:
        self._close()

    def _entry(self, info: zipfile.ZipInfo, label: str, limits: Limits) -> Entry:
        name = checked_name(label, info.filename)
        if name in self._infos:
            raise refuse(label, f"duplicate archive member {name!r}")
        if info.flag_bits & 0x1:
            raise refuse(label, f"member {name!r} is encrypted")
        if info.file_size > limits.max_member_size:
            raise refuse(
                label, f"member {name!r} declares {info.file_size} bytes, beyond {limits.max_member_size}"
            )
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise refuse(label, f"member {name!r} inflates {info.file_size // max(info.compress_size, 1)} "
                         "times (a zip bomb?)")  # fmt: skip
        self._infos[name] = info
        local_extra = self._local_header(info, name, label)
        mode = info.external_attr >> 16
        times, owner, rest = _split_extra(info.extra)
        local_times, _, local_rest = _split_extra(local_extra)
        kind = MemberType.FILE
        if info.is_dir() or stat.S_ISDIR(mode):
            kind = MemberType.DIR
        elif stat.S_ISLNK(mode):
            kind = MemberType.SYMLINK
        encoding = {field: getattr(info, field) for field in _ZIP_HEADER_FIELDS}
        encoding |= {"dos_attributes": info.external_attr & 0xFFFF, "comment": info.comment.hex()}
        encoding |= {"extra": rest, "local_extra": local_rest}
        return Entry(name=name, type=kind, mode=mode & 0o7777, size=info.file_size, owner=owner,
                     mtime="{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}".format(*info.date_time),
                     times={**times, **{f"local {k}": v for k, v in local_times.items()}},
                     linkname=self._link_target(name, label) if kind is MemberType.SYMLINK else "",
                     encoding=encoding)  # fmt: skip

    def _local_header(self, info: zipfile.ZipInfo, name: str, label: str) -> bytes:
        """Check the member's local header against the central directory; return its extra field."""
        if info.header_offset < 0:
            raise refuse(label, f"member {name!r} has a local header before the start of the file")
        self._raw.seek(info.header_offset)
        fixed = self._raw.read(30)
        if len(fixed) < 30 or fixed[:4] != b"PK\x03\x04":
            raise refuse(label, f"member {name!r} has no valid local header")
        name_length, extra_length = struct.unpack("<HH", fixed[26:30])
        raw_name = self._raw.read(name_length)
        extra = self._raw.read(extra_length)
        encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
        if raw_name.decode(encoding, "replace") != info.orig_filename or len(extra) < extra_length:
            raise refuse(label, f"member {name!r}: its local header does not match the central directory")
        start = info.header_offset + 30 + name_length + extra_length
        self._spans[name] = (start, info.compress_size)
        return extra

    def _link_target(self, name: str, label: str) -> str:
        if self._infos[name].file_size > 4096:
            raise refuse(label, f"symbolic link {name!r} has a target over 4096 bytes")
        sink = bytearray()
        self._inflate(name, sink)
        return checked_link(label, name, bytes(sink).decode("utf-8", "surrogateescape"))

    def _inflate(self, name: str, sink: bytearray | None = None) -> Digest:
        info = self._infos[name]
        try:
            with self._zip.open(info) as stream:
                return hash_member(stream, info.file_size, self.label, name, sink)
        except _ZIP_READ_ERRORS as exc:
            raise refuse(self.label, f"member {name!r} cannot be read: {exc}") from None

    def compare_content(self, other: Listing, name: str) -> ContentComparison:
        if not isinstance(other, ZipListing):  # pragma: no cover - the differ pairs like with like
            raise TypeError("a zip is compared with a zip")
        a, b = self._infos[name], other._infos[name]
        recoding: dict[str, Any] = {}
        if a.compress_type != b.compress_type:
            recoding["method"] = {"a": _ZIP_METHODS.get(a.compress_type, a.compress_type),
                                  "b": _ZIP_METHODS.get(b.compress_type, b.compress_type)}  # fmt: skip
        same_header = (a.CRC, a.file_size, a.compress_size) == (b.CRC, b.file_size, b.compress_size)
        if not recoding and same_header and self._same_raw(other, name):
            return ContentComparison(True)
        digest_a, digest_b = self._inflate(name), other._inflate(name)
        if digest_a == digest_b and not recoding:
            recoding["compressed_size"] = {"a": a.compress_size, "b": b.compress_size}
            recoding["compressed_bytes"] = "differ"
        return ContentComparison(digest_a == digest_b, digest_a, digest_b, recoding)

    def _same_raw(self, other: ZipListing, name: str) -> bool:
        (start_a, length), (start_b, _) = self._spans[name], other._spans[name]
        self._raw.seek(start_a)
        other._raw.seek(start_b)
        while length > 0:
            size = min(CHUNK, length)
            chunk_a, chunk_b = self._raw.read(size), other._raw.read(size)
            if chunk_a != chunk_b or len(chunk_a) < size:
                return False
            length -= size
        return True

    def read_texts(self, names: Collection[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for name in names:
            sink = bytearray()
            self._inflate(name, sink)
            found[name] = bytes(sink)
        return found


def _check_overlaps(label: str, spans: list[tuple[str, tuple[int, int]]], file_size: int) -> None:
    """Members whose data overlap (a zip bomb technique) or run past the end of the file."""
    for (name, (start, length)), following in zip(spans, [*spans[1:], None], strict=True):
        end = following[1][0] if following else file_size
        if start + length > end:
            raise refuse(label, f"member {name!r} overlaps the next member or runs past the end of the file")


def _split_extra(extra: bytes) -> tuple[dict[str, Any], Owner | None, str]:
    """Split a zip extra field: timestamps (UT, NTFS), the Unix owner (ux), the rest as hex."""
    times: dict[str, Any] = {}
    owner: Owner | None = None
    rest = bytearray()
    while len(extra) >= 4:
        tag, length = struct.unpack("<HH", extra[:4])
        body, record, extra = extra[4 : 4 + length], extra[: 4 + length], extra[4 + length :]
        if tag == 0x5455 and body:  # extended timestamp: flags, then mtime, atime, ctime
            stamps = [struct.unpack("<i", body[i : i + 4])[0] for i in range(1, len(body) - 3, 4)]
            times["ut"] = stamps
        elif tag == 0x000A:
            times["ntfs"] = body.hex()
        elif tag == 0x7875 and len(body) >= 3:  # Info-ZIP Unix owner: version, uid, gid
            uid_size = body[1]
            gid_size = body[2 + uid_size] if len(body) > 2 + uid_size else 0
            uid = int.from_bytes(body[2 : 2 + uid_size], "little")
            owner = Owner(uid, int.from_bytes(body[3 + uid_size : 3 + uid_size + gid_size], "little"))
        else:
            rest += record
    return times, owner, (rest + extra).hex()


class DirectoryListing(Listing):
    """Every file, directory and symbolic link under ``root`` (links not followed), sorted by path."""

    kind = "directory"

    def __init__(self, root: Path, limits: Limits) -> None:
        label, self.root, entries = str(root), root, []
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            prefix = Path(folder).relative_to(root).as_posix()
            for base in sorted([*dirs, *files]):
                name = checked_name(label, base if prefix == "." else f"{prefix}/{base}")
                entries.append(_dir_entry(label, Path(folder, base), name))
                if len(entries) > limits.max_members:
                    raise refuse(label, f"more than {limits.max_members} members")
        super().__init__(label, entries)

    def read_texts(self, names: Collection[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for name in names:
            with open_binary(self.root / name) as stream:
                found[name] = stream.read(TEXT_CAP + 1)
        return found


def _dir_entry(label: str, path: Path, name: str) -> Entry:
    try:
        info = path.lstat()
        common: dict[str, Any] = {"name": name, "mode": stat.S_IMODE(info.st_mode), "mtime": info.st_mtime,
                                  "owner": Owner(info.st_uid, info.st_gid)}  # fmt: skip
        if stat.S_ISLNK(info.st_mode):
            return Entry(type=MemberType.SYMLINK, linkname=printable(str(path.readlink())), **common)
        if stat.S_ISDIR(info.st_mode):
            return Entry(type=MemberType.DIR, **common)
        if stat.S_ISREG(info.st_mode):
            with path.open("rb") as stream:
                digest = hash_member(stream, info.st_size, label, name, None)
            return Entry(type=MemberType.FILE, size=info.st_size, digest=digest, **common)
    except OSError as exc:
        raise CheckError(f"cannot read {path}: {exc.strerror or exc}") from exc
    raise refuse(label, f"member {name!r} is a device, FIFO, socket or other special file")
