"""What the differ reads: each side of a comparison as a :class:`Listing` of its members' metadata.

Each listing turns one side into every member's metadata in archive order (an :class:`Entry`), plus
the container's own header fields. Nothing is extracted and no member is ever held whole in memory to
hash it: contents are hashed in chunks as they stream by.

- **zip**: read by :class:`vouch.archive.zip.ZipReader`; two members with the same CRC, sizes and
  compressed bytes are known identical without inflating them. Only members that differ are
  inflated, in chunks.
- **sdist**: read by :class:`vouch.archive.tar.TarReader` (:mod:`vouch.archive.tarstream`).
- **directory**: a walk with ``lstat`` (links are never followed), files hashed in chunks.

Hostile archives are refused by the readers, under the rules of :mod:`vouch.archive.members`; each
refusal becomes an :class:`~vouch.errors.ArchiveError` that names the archive and the member.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import stat
import struct
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, Protocol

from vouch.archive.members import Limits, MemberType, check_member_name, printable
from vouch.archive.zip import ZipMember, ZipReader
from vouch.errors import ArchiveError, CheckError

CHUNK = 1 << 20
TEXT_CAP = 1 << 20  # members larger than this are compared by size and sha256 only, never diffed
_ZIP_HEADER_FIELDS = ("create_system", "create_version", "extract_version", "flag_bits", "internal_attr")
_ZIP_METHODS = {0: "stored", 8: "deflated", 12: "bzip2", 14: "lzma"}


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
    """``name`` for reporting, refused unless it is UTF-8 and stays inside the root."""
    try:
        return check_member_name(name)
    except ArchiveError as exc:
        raise refuse(label, str(exc)) from None


def hash_chunks(chunks: Iterable[bytes], sink: bytearray | None) -> Digest:
    """The size and sha256 of a member's content; its bytes also go to ``sink`` when given."""
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        size += len(chunk)
        digest.update(chunk)
        if sink is not None:
            sink += chunk
    return Digest(size, digest.hexdigest())


def hash_member(stream: Readable, declared: int, label: str, name: str, sink: bytearray | None) -> Digest:
    """Hash a file in chunks, reading at most its declared size; refuse one that holds less."""
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
    """A zip's members, from :class:`~vouch.archive.zip.ZipReader`; the file stays open while compared."""

    kind = "zip"

    def __init__(self, path: Path, limits: Limits) -> None:
        label = self.label = str(path)
        with contextlib.ExitStack() as stack:
            raw = stack.enter_context(open_binary(path))
            try:
                self._reader = ZipReader(raw, limits)
            except ArchiveError as exc:
                raise refuse(label, str(exc)) from None
            stack.callback(self._reader.close)
            self.comment = self._reader.comment.hex()
            self._members = {member.name: member for member in self._reader.members}
            entries = [_zip_entry(member) for member in self._reader.members]
            self._close = stack.pop_all().close
        super().__init__(label, entries)

    def close(self) -> None:
        self._close()

    def _inflate(self, name: str, sink: bytearray | None = None) -> Digest:
        try:
            return hash_chunks(self._reader.chunks(self._members[name]), sink)
        except ArchiveError as exc:
            raise refuse(self.label, str(exc)) from None

    def compare_content(self, other: Listing, name: str) -> ContentComparison:
        if not isinstance(other, ZipListing):  # pragma: no cover - the differ pairs like with like
            raise TypeError("a zip is compared with a zip")
        a, b = self._members[name].info, other._members[name].info
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
        mine = self._reader.raw_chunks(self._members[name])
        theirs = other._reader.raw_chunks(other._members[name])
        return all(x == y for x, y in itertools.zip_longest(mine, theirs))

    def read_texts(self, names: Collection[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for name in names:
            sink = bytearray()
            self._inflate(name, sink)
            found[name] = bytes(sink)
        return found


def _zip_entry(member: ZipMember) -> Entry:
    info = member.info
    times, owner, rest = _split_extra(info.extra)
    local_times, _, local_rest = _split_extra(member.local_extra)
    encoding = {field: getattr(info, field) for field in _ZIP_HEADER_FIELDS}
    encoding |= {"dos_attributes": info.external_attr & 0xFFFF, "comment": info.comment.hex()}
    encoding |= {"extra": rest, "local_extra": local_rest}
    return Entry(name=member.name, type=member.kind, mode=member.mode, size=info.file_size, owner=owner,
                 mtime="{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}".format(*info.date_time),
                 times={**times, **{f"local {k}": v for k, v in local_times.items()}},
                 linkname=printable(member.linkname), encoding=encoding)  # fmt: skip


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
