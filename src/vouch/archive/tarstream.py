"""The differ's reader of sdists (.tar.gz): one streaming pass, headers parsed by hand, strictly.

The gzip header is parsed as RFC 1952 (2.3) lays it out, so that its fields can be compared. Then the
inflated stream is read front to back as a tar archive (POSIX.1-2001: ustar headers, pax extended
headers, global ones; and GNU long names), each member's content hashed in chunks as it streams by.

Why not ``tarfile``: its header parsing costs tens of microseconds per header in Python, and an sdist
built by setuptools has a pax header before every member (mtimes with fractions), so on Django's sdist
it was most of the run; and in stream mode it ends an archive silently at a corrupt header. This
reader checks every header's checksum and number fields, refuses what it does not know (sparse and
multi-volume members, devices, unknown types), and requires nothing but zeros after the end marker.
"""

from __future__ import annotations

import hashlib
import math
import zlib
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

from vouch.archive.safe import Limits, MemberType
from vouch.archive.stream import (
    CHUNK,
    TEXT_CAP,
    Entry,
    Listing,
    Owner,
    checked_link,
    checked_name,
    hash_member,
    open_binary,
    printable,
    refuse,
)

FTEXT, FHCRC, FEXTRA, FNAME, FCOMMENT = 1, 2, 4, 8, 16
BLOCK = 512
MAX_EXTENDED = 1 << 20  # pax and GNU long-name headers held at once: real ones are a few hundred bytes
_REGULAR = (b"0", b"\0", b"7")
_TYPES = {b"1": MemberType.HARDLINK, b"2": MemberType.SYMLINK, b"5": MemberType.DIR}
_EXTENDED = (b"x", b"g", b"L", b"K")
_ZERO_BLOCK = bytes(512)
_HIGH_BYTES = bytes(range(128))  # deleted by translate(), leaving the bytes >= 128
_ZLIB_ERRORS = {
    "incorrect data check": "the gzip CRC-32 does not match the content (corrupt data)",
    "incorrect length check": "the gzip length field does not match the content",
    "incorrect header check": "not a gzip stream where one should start",
}
_PAX_TIMES = ("atime", "ctime")
_PAX_KNOWN = {"path", "linkpath", "size", "mtime", "uid", "gid", "uname", "gname", *_PAX_TIMES}


@dataclass(frozen=True)
class GzipHeader:
    mtime: int
    flags: int
    xfl: int
    os: int
    filename: str | None
    comment: str | None
    extra: str
    size: int  # bytes the header occupies


def read_gzip_header(stream: IO[bytes], label: str) -> GzipHeader:
    """Parse a gzip member header (RFC 1952, 2.3): magic, CM, FLG, MTIME, XFL, OS, then the
    optional FEXTRA, FNAME, FCOMMENT and FHCRC fields that FLG announces."""
    fixed = stream.read(10)
    if len(fixed) < 10 or fixed[:2] != b"\x1f\x8b":
        raise refuse(label, "not a gzip file")
    if fixed[2] != 8 or fixed[3] & 0xE0:
        raise refuse(label, "gzip header with an unknown method or reserved flags")
    flags, mtime, xfl, os_byte = fixed[3], int.from_bytes(fixed[4:8], "little"), fixed[8], fixed[9]
    size, extra = 10, b""
    if flags & FEXTRA:
        length = int.from_bytes(stream.read(2), "little")
        extra = stream.read(length)
        size += 2 + length
    texts: list[str | None] = []
    for flag in (FNAME, FCOMMENT):
        text = None
        if flags & flag:
            raw = bytearray()
            while (byte := stream.read(1)) not in (b"\0", b""):
                raw += byte
                if len(raw) > 65536:
                    raise refuse(label, "gzip header with a file name or comment over 64 KiB")
            text, size = raw.decode("latin-1"), size + len(raw) + 1
        texts.append(text)
    size += 2 if flags & FHCRC else 0
    return GzipHeader(mtime, flags, xfl, os_byte, texts[0], texts[1], extra.hex(), size)


class _Inflated:
    """The tar stream inside a ``.tar.gz``, inflated with zlib (which checks the gzip header and each
    member's CRC-32 and length), counted and capped; read in chunks of at least 64 KiB, then served
    from memory, since tar headers are read 512 bytes at a time."""

    def __init__(self, raw: BinaryIO, label: str, limit: int) -> None:
        self._raw, self.label, self.limit = raw, label, limit
        self._inflater, self._input = zlib.decompressobj(wbits=31), b""
        self.inflated, self._buffer, self._at = 0, b"", 0

    @property
    def position(self) -> int:
        return self.inflated - (len(self._buffer) - self._at)

    def read(self, size: int = CHUNK) -> bytes:
        while len(self._buffer) - self._at < size and (data := self._inflate(max(size, 1 << 16))):
            self.inflated += len(data)
            if self.inflated > self.limit:
                raise refuse(self.label, f"the gzip stream inflates beyond {self.limit} bytes (a gzip bomb?)")
            self._buffer, self._at = self._buffer[self._at :] + data, 0
        data = self._buffer[self._at : self._at + size]
        self._at += len(data)
        return data

    def skip_to(self, offset: int) -> None:
        while self.position < offset and self.read(min(CHUNK, offset - self.position)):
            pass

    def _inflate(self, size: int) -> bytes:
        """At most ``size`` more bytes; b"" after the last gzip member and any zero padding."""
        while True:
            if self._inflater.eof:  # another member may follow (as GzipFile allows), or zeros
                self._input = self._input.lstrip(b"\0")
                while not self._input and (more := self._raw.read(CHUNK)):
                    self._input = more.lstrip(b"\0")
                if not self._input:
                    return b""
                self._inflater = zlib.decompressobj(wbits=31)
            if not self._input:
                self._input = self._raw.read(CHUNK)
                if not self._input:
                    raise EOFError("the gzip stream is truncated")
            try:
                data = self._inflater.decompress(self._input, size)
            except zlib.error as exc:
                reason = next((text for key, text in _ZLIB_ERRORS.items() if key in str(exc)), str(exc))
                raise CorruptTarError(reason) from None
            self._input = self._inflater.unused_data if self._inflater.eof else self._inflater.unconsumed_tail
            if data:
                return data


class CorruptTarError(Exception):
    """A header that is not a valid tar header, or a stream that ends inside one."""


@dataclass
class TarHeader:
    name: str
    type: bytes
    mode: int
    uid: int
    gid: int
    size: int
    mtime: float
    linkname: str
    uname: str
    gname: str
    pax: dict[str, str] = field(default_factory=dict)


def tar_headers(stream: _Inflated) -> Iterator[TarHeader]:
    """Each member's header, pax and GNU long-name headers applied. The consumer may read some or
    all of a regular member's content from ``stream`` before asking for the next header."""
    global_pax: dict[str, str] = {}
    extended: dict[str, str] = {}
    long_names: dict[bytes, str] = {}
    pending = 0  # bytes of extended headers held, for the next member or (global ones) for all
    while True:
        block = stream.read(BLOCK)
        if len(block) < BLOCK or block == _ZERO_BLOCK:
            if block.strip(b"\0") or extended or long_names:
                raise CorruptTarError("the tar stream ends inside a header")
            return  # the end-of-archive marker, or the end of the data after a whole member
        _check_sum(block)
        kind, size = block[156:157], _number(block[124:136])
        if size < 0:
            raise CorruptTarError(f"a tar header with a negative size ({size})")
        if kind in _EXTENDED:
            pending += size
            if pending > MAX_EXTENDED:
                raise CorruptTarError(f"extended headers of more than {MAX_EXTENDED} bytes")
            data = stream.read(_padded(size))[:size]
            if len(data) < size:
                raise CorruptTarError("the tar stream ends inside an extended header")
            if kind in (b"L", b"K"):
                long_names[kind] = data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            else:
                (global_pax if kind == b"g" else extended).update(_pax_records(data))
            continue
        name = _text(block[:100])
        if block[257:263] == b"ustar\0" and (prefix := _text(block[345:500])):
            name = f"{prefix}/{name}"
        header = TarHeader(
            name=long_names.get(b"L", name), type=kind, mode=_number(block[100:108]),
            uid=_number(block[108:116]), gid=_number(block[116:124]), size=size,
            mtime=_number(block[136:148]), linkname=long_names.get(b"K", _text(block[157:257])),
            uname=_text(block[265:297]), gname=_text(block[297:329]), pax={**global_pax, **extended},
        )  # fmt: skip
        _apply_pax(header)
        extended, long_names, pending = (
            {},
            {},
            sum(len(key) + len(value) for key, value in global_pax.items()),
        )
        end = stream.position + (_padded(header.size) if kind in _REGULAR else 0)
        yield header
        stream.skip_to(end)


def _check_sum(block: bytes) -> None:
    """POSIX's unsigned checksum of the header (the checksum field counted as spaces), or the signed
    one some old tars wrote."""
    stored = _number(block[148:156])
    unsigned = 256 + sum(block) - sum(block[148:156])
    if stored == unsigned:
        return
    high = len(block[:148].translate(None, _HIGH_BYTES)) + len(block[156:].translate(None, _HIGH_BYTES))
    if stored != unsigned - 256 * high:
        raise CorruptTarError("a tar header's checksum does not match")


def _number(field: bytes) -> int:
    """An octal number field, or GNU's base-256 for large and negative values."""
    if field[0] & 0x80:
        value = int.from_bytes(field[1:], "big")
        return value - 256 ** (len(field) - 1) if field[0] == 0xFF else value
    digits = field.split(b"\0", 1)[0]
    try:
        return int(digits, 8) if digits.strip() else 0
    except ValueError:
        raise CorruptTarError(f"a tar header number is not octal ({digits!r})") from None


def _text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def _pax_records(data: bytes) -> dict[str, str]:
    """Pax records, ``"%d %s=%s\\n" % (length, key, value)`` each."""
    records: dict[str, str] = {}
    at = 0
    while at < len(data) and data[at:].strip(b"\0"):
        space = data.find(b" ", at)
        try:
            end = at + int(data[at:space])
        except ValueError:
            raise CorruptTarError("a pax record has no valid length") from None
        key, equals, value = data[space + 1 : end - 1].partition(b"=")
        if space < 0 or end <= space + 1 or end > len(data) or data[end - 1 : end] != b"\n" or not equals:
            raise CorruptTarError("a pax record is malformed")
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        at = end
    return records


def _apply_pax(header: TarHeader) -> None:
    pax = header.pax
    try:
        header.name, header.linkname = pax.get("path", header.name), pax.get("linkpath", header.linkname)
        header.uname, header.gname = pax.get("uname", header.uname), pax.get("gname", header.gname)
        header.size, header.uid, header.gid = (
            int(pax.get(key, getattr(header, key))) for key in ("size", "uid", "gid")
        )
        header.mtime = float(pax["mtime"]) if "mtime" in pax else header.mtime
        if header.size < 0 or not math.isfinite(header.mtime):
            raise ValueError
    except ValueError:
        raise CorruptTarError(f"a pax record of {printable(header.name)!r} is not a valid number") from None


class TarListing(Listing):
    """An sdist's members, read in one streaming pass; a second pass fetches texts to diff."""

    kind = "sdist"

    def __init__(self, path: Path, limits: Limits) -> None:
        self.path, self.limits = path, limits
        self._owners: dict[tuple[int, int, str, str], Owner] = {}  # one object per distinct owner
        with open_binary(path) as raw:
            self.gzip = read_gzip_header(raw, str(path))
        entries: list[Entry] = []
        self._walk(entries.append, set(), {})
        self._digests: tuple[str, str] | None = None
        super().__init__(str(path), entries)

    def stream_digests(self) -> tuple[str, str]:
        """The sha256 of the tar stream, and of the compressed bytes after the gzip header: read
        again, and only when asked (when every member is the same, to say what else differs)."""
        if self._digests is None:
            tar, body = hashlib.sha256(), hashlib.sha256()
            with open_binary(self.path) as raw:
                stream = _Inflated(raw, str(self.path), self.limits.max_total_size + (1 << 20))
                while chunk := stream.read(CHUNK):
                    tar.update(chunk)
                raw.seek(self.gzip.size)
                while chunk := raw.read(CHUNK):
                    body.update(chunk)
            self._digests = tar.hexdigest(), body.hexdigest()
        return self._digests

    def read_texts(self, names: Collection[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        self._walk(lambda _: None, set(names), found)
        return found

    def _walk(self, emit: Callable[[Entry], None], wanted: Collection[str], found: dict[str, bytes]) -> None:
        label, limits, current = str(self.path), self.limits, None
        seen: dict[str, MemberType] = {}
        with open_binary(self.path) as raw:
            stream = _Inflated(raw, label, limits.max_total_size + (1 << 20))
            try:
                for header in tar_headers(stream):
                    current = header.name
                    if len(seen) >= limits.max_members:
                        raise refuse(label, f"more than {limits.max_members} members")
                    entry = self._entry(stream, header, seen, wanted, found)
                    seen[entry.name] = entry.type
                    emit(entry)
                while chunk := stream.read(CHUNK):
                    if chunk.strip(b"\0"):
                        raise refuse(label, f"data after the end of the tar archive, after {_at(current)}")
            except (CorruptTarError, OSError, EOFError, zlib.error) as exc:
                raise refuse(label, f"corrupt or truncated archive, at {_at(current)}: {exc}") from None

    def _owner(self, header: TarHeader) -> Owner:
        key = (header.uid, header.gid, header.uname, header.gname)
        if (owner := self._owners.get(key)) is None:
            owner = Owner(header.uid, header.gid, printable(header.uname), printable(header.gname))
            self._owners[key] = owner
        return owner

    def _entry(self, stream: _Inflated, header: TarHeader, seen: dict[str, MemberType],
               wanted: Collection[str], found: dict[str, bytes]) -> Entry:  # fmt: skip
        label, pax = str(self.path), header.pax
        name = checked_name(label, header.name)
        if name in seen:
            raise refuse(label, f"duplicate archive member {name!r}")
        others = {key: printable(value) for key, value in pax.items() if key not in _PAX_KNOWN}
        common: dict[str, Any] = {
            "name": name, "mode": header.mode & 0o7777, "mtime": header.mtime,
            "owner": self._owner(header),
            "times": {key: pax[key] for key in _PAX_TIMES if key in pax},
            "encoding": {"pax": others} if others else {},
        }  # fmt: skip
        if header.type in _REGULAR:
            if header.size > self.limits.max_member_size:
                raise refuse(label, f"member {name!r} is larger than {self.limits.max_member_size} bytes")
            sink = bytearray() if name in wanted and header.size <= TEXT_CAP else None
            digest = hash_member(stream, header.size, label, name, sink)
            if sink is not None:
                found[name] = bytes(sink)
            return Entry(type=MemberType.FILE, size=header.size, digest=digest, **common)
        kind = _TYPES.get(header.type)
        if kind is MemberType.DIR:
            return Entry(type=kind, **common)
        if kind is MemberType.SYMLINK:
            return Entry(type=kind, linkname=checked_link(label, name, header.linkname), **common)
        if kind is MemberType.HARDLINK:
            if seen.get(header.linkname.rstrip("/")) is not MemberType.FILE:
                raise refuse(label, f"hard link {name!r} points to {printable(header.linkname)!r}, "
                             "not an earlier file")  # fmt: skip
            return Entry(type=kind, linkname=printable(header.linkname), **common)
        if header.type in (b"3", b"4", b"6"):
            raise refuse(label, f"member {name!r} is a device, FIFO or other special file")
        raise refuse(label, f"member {name!r} has a type tar readers do not agree on ({header.type!r})")


def _at(member: str | None) -> str:
    return "the first header" if member is None else f"member {printable(member)!r}"
