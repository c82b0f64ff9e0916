"""The one reader of sdists (.tar.gz): one streaming pass, headers parsed by hand, strictly.

The gzip header is parsed as RFC 1952 (2.3) lays it out, so that its fields can be compared. Then the
inflated stream is read front to back as a tar archive (POSIX.1-2001: ustar headers, pax extended
headers, global ones; and GNU long names). Every member goes through the rules of
:mod:`vouch.archive.members` (names, duplicates, links); this module adds the tar format's own.

Refused, naming the member (or the first header):

- a stream that inflates beyond ``Limits.max_total_size``, or more than ``Limits.max_ratio`` times
  its compressed size once past ``Limits.ratio_floor``: checked while inflating, so a gzip bomb
  costs at most those bytes of work and one chunk of memory;
- a member larger than ``Limits.max_member_size`` (from its header, before reading it);
- a header whose checksum or number fields are wrong, a stream that ends inside a header or a
  member (truncation), a gzip CRC or length that does not match, and anything after the
  end-of-archive marker but zeros;
- devices, FIFOs, sparse members (type ``S`` or ``GNU.sparse`` pax records), multi-volume and
  other types tar readers do not agree on; a link or directory with a size;
- pax and GNU headers that rename or resize inconsistently: two extended headers of one kind for
  one member, a pax header that repeats a key, a pax ``path`` and a GNU long name that disagree,
  a pax ``size`` that contradicts a non-zero size field, a global header that renames or resizes,
  extended headers of more than 1 MiB per member.

Why not ``tarfile``: its header parsing costs tens of microseconds per header in Python, and an sdist
built by setuptools has a pax header before every member (mtimes with fractions), so on Django's sdist
it was most of the run; and in stream mode it ends an archive silently at a corrupt header.
"""

from __future__ import annotations

import io
import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from vouch.archive.gz import CHUNK, CorruptTarError, Inflated, read_gzip_header
from vouch.archive.members import DEFAULT_LIMITS, ArchiveTree, Limits, Member, MemberType, printable
from vouch.errors import ArchiveError

BLOCK = 512
MAX_EXTENDED = 1 << 20  # pax and GNU long-name headers held at once: real ones are a few hundred bytes
REGULAR = (b"0", b"\0", b"7")
_TYPES = {b"1": MemberType.HARDLINK, b"2": MemberType.SYMLINK, b"5": MemberType.DIR}
_SPECIAL = {b"3": "a character device", b"4": "a block device", b"6": "a FIFO", b"S": "a sparse file"}
_EXTENDED = (b"x", b"g", b"L", b"K")
_ZERO_BLOCK = bytes(512)
_HIGH_BYTES = bytes(range(128))  # deleted by translate(), leaving the bytes >= 128
_ADLER_MOD = 65521
_LOW_BITS = int.from_bytes(b"\x01" * BLOCK, "little")  # the lowest bit of each byte of a block
PAX_TIMES = ("atime", "ctime")
PAX_KNOWN = {"path", "linkpath", "size", "mtime", "uid", "gid", "uname", "gname", *PAX_TIMES}
_GLOBAL_REFUSED = ("path", "linkpath", "size")


@dataclass
class TarHeader:
    """One member's header with its pax and GNU headers applied; ``name`` checked by the tree."""

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
    kind: MemberType = MemberType.FILE


class TarReader:
    """Reads a ``.tar.gz`` member by member. ``members()`` yields each header once it has passed
    every rule; a regular member's content may be read with ``content()`` before the next."""

    def __init__(self, raw: BinaryIO, limits: Limits = DEFAULT_LIMITS) -> None:
        self.stream = Inflated(raw, limits)
        self.tree = ArchiveTree(limits)
        self.limits = limits
        self.current: str | None = None

    def members(self) -> Iterator[TarHeader]:
        """Every member in archive order; at the end, the tree's last checks and the trailing zeros."""
        try:
            yield from _tar_headers(self.stream, self)
            while chunk := self.stream.read(CHUNK):
                if chunk.strip(b"\0"):
                    raise CorruptTarError("data after the end of the tar archive")
            self.tree.finish()
        except CorruptTarError as exc:
            raise ArchiveError(f"corrupt or truncated archive, at {self.at()}: {exc}") from None
        except ArchiveError as exc:
            raise ArchiveError(self._located(str(exc))) from None

    def content(self, header: TarHeader) -> Iterator[bytes]:
        """The member's content in chunks; refused if it holds less than its header declares."""
        left = header.size
        try:
            while left > 0:
                chunk = self.stream.read(min(CHUNK, left))
                if not chunk:
                    raise CorruptTarError("the tar stream ends inside the member")
                left -= len(chunk)
                yield chunk
        except CorruptTarError as exc:
            raise ArchiveError(f"corrupt or truncated archive, at {self.at()}: {exc}") from None
        except ArchiveError as exc:
            raise ArchiveError(self._located(str(exc))) from None

    def at(self) -> str:
        return "the first header" if self.current is None else f"member {printable(self.current)!r}"

    def _located(self, message: str) -> str:
        if self.current is None or printable(self.current) in message:
            return message
        return f"{message}, at {self.at()}"

    def admit(self, header: TarHeader) -> None:
        """The tar format's own rules for one header, then the tree's."""
        self.current = header.name
        special = _SPECIAL.get(header.type) or (
            "a sparse file" if header.pax and _sparse(header.pax) else None
        )
        if special:
            raise ArchiveError(f"member {printable(header.name)!r} is {special}")
        if header.type in REGULAR:
            header.kind = (
                MemberType.DIR if header.type == b"\0" and header.name.endswith("/") else MemberType.FILE
            )
        elif (kind := _TYPES.get(header.type)) is not None:
            header.kind = kind
        else:
            raise ArchiveError(f"member {printable(header.name)!r} has a type tar readers do not agree on "
                               f"({header.type!r})")  # fmt: skip
        if header.kind is not MemberType.FILE and header.size:
            raise ArchiveError(f"member {printable(header.name)!r} is a {header.kind.value} with a size")
        if header.kind is MemberType.FILE and header.size > self.limits.max_member_size:
            raise ArchiveError(
                f"member {printable(header.name)!r} is larger than {self.limits.max_member_size} bytes"
            )
        header.name = self.tree.admit(header.name, header.kind, header.linkname)
        self.current = header.name


def _sparse(pax: dict[str, str]) -> bool:
    """Whether pax records describe a sparse file (GNU.sparse.*); an mtime alone, the usual, does not."""
    if len(pax) == 1 and "mtime" in pax:
        return False
    return any(key.startswith("GNU.sparse") for key in pax)


class _Extended:
    """The pax and GNU long-name headers met since the last member, and the global pax records."""

    def __init__(self) -> None:
        self.global_pax: dict[str, str] = {}
        self.pax: dict[str, str] | None = None
        self.long_names: dict[bytes, str] = {}
        self.held = 0  # bytes held, for the next member or (global ones) for all

    @property
    def pending(self) -> bool:
        return self.pax is not None or bool(self.long_names)

    def add(self, kind: bytes, size: int, stream: Inflated) -> None:
        self.held += size
        if self.held > MAX_EXTENDED:
            raise CorruptTarError(f"extended headers of more than {MAX_EXTENDED} bytes")
        data = stream.read(_padded(size))[:size]
        if len(data) < size:
            raise CorruptTarError("the tar stream ends inside an extended header")
        if kind in (b"L", b"K"):
            if kind in self.long_names:
                raise CorruptTarError("two GNU long-name headers for one member")
            self.long_names[kind] = data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        elif kind == b"g":
            records = _pax_records(data)
            if refused := [key for key in _GLOBAL_REFUSED if key in records]:
                raise CorruptTarError(f"a global pax header sets {refused[0]!r} for every member")
            self.global_pax.update(records)
        elif self.pax is not None:
            raise CorruptTarError("two pax headers for one member")
        else:
            self.pax = _pax_records(data)

    def header(self, block: bytes, size: int) -> TarHeader:
        """The member's header from its block, with the extended headers applied; then forget them."""
        name = _text(block[:100])
        if block[257:263] == b"ustar\0" and (prefix := _text(block[345:500])):
            name = f"{prefix}/{name}"
        pax, long_names = self.pax or {}, self.long_names
        if "path" in pax and b"L" in long_names and pax["path"] != long_names[b"L"]:
            raise CorruptTarError(f"a pax path and a GNU long name disagree ({printable(pax['path'])!r})")
        if "size" in pax and size and str(size) != pax["size"].strip():
            raise CorruptTarError(f"a pax size contradicts the header's size ({printable(name)!r})")
        header = TarHeader(
            name=long_names.get(b"L", name), type=block[156:157], mode=_number(block[100:108]),
            uid=_number(block[108:116]), gid=_number(block[116:124]), size=size,
            mtime=_number(block[136:148]), linkname=long_names.get(b"K", _text(block[157:257])),
            uname=_text(block[265:297]), gname=_text(block[297:329]),
            pax={**self.global_pax, **pax} if self.global_pax else pax,
        )  # fmt: skip
        _apply_pax(header)
        self.pax, self.long_names = None, {}
        self.held = sum(len(key) + len(value) for key, value in self.global_pax.items())
        return header


def _tar_headers(stream: Inflated, reader: TarReader) -> Iterator[TarHeader]:
    """Each member's header, pax and GNU long-name headers applied and checked."""
    extended = _Extended()
    while True:
        block = stream.read(BLOCK)
        if len(block) < BLOCK or block == _ZERO_BLOCK:
            if block.strip(b"\0") or extended.pending:
                raise CorruptTarError("the tar stream ends inside a header")
            return  # the end-of-archive marker, or the end of the data after a whole member
        _check_sum(block)
        kind, size = block[156:157], _number(block[124:136])
        if size < 0:
            raise CorruptTarError(f"a tar header with a negative size ({size})")
        if kind in _EXTENDED:
            extended.add(kind, size, stream)
            continue
        header = extended.header(block, size)
        reader.admit(header)
        end = stream.position + (_padded(header.size) if kind in REGULAR else 0)
        yield header
        stream.skip_to(end)


def _check_sum(block: bytes) -> None:
    """POSIX's unsigned checksum of the header (the checksum field counted as spaces), or the signed
    one some old tars wrote."""
    stored = _number(block[148:156])
    if byte_sum_is(block, stored - 256 + sum(block[148:156])):
        return
    unsigned = 256 + sum(block) - sum(block[148:156])
    high = len(block[:148].translate(None, _HIGH_BYTES)) + len(block[156:].translate(None, _HIGH_BYTES))
    if stored != unsigned - 256 * high:
        raise CorruptTarError("a tar header's checksum does not match")


def byte_sum_is(block: bytes, total: int) -> bool:
    """Whether the bytes of a 512-byte ``block`` add up to ``total``, without adding them one by one in
    Python (which cost most of the checksum's time): adler32's low half is 1 + the sum modulo 65521;
    the sum of 512 bytes (at most 130,560, under 2 * 65521) is then one of two numbers 65521 apart,
    which have different parities, and the sum's parity is that of the number of odd bytes."""
    if not 0 <= total <= BLOCK * 255 or zlib.adler32(block) & 0xFFFF != (1 + total) % _ADLER_MOD:
        return False
    return (int.from_bytes(block, "little") & _LOW_BITS).bit_count() % 2 == total % 2


def _number(field: bytes) -> int:
    """An octal number field, or GNU's base-256 for large and negative values."""
    if field[0] & 0x80:
        value = int.from_bytes(field[1:], "big")
        return value - 256 ** (len(field) - 1) if field[0] == 0xFF else value
    digits = field.split(b"\0", 1)[0]
    try:
        return int(digits, 8)
    except ValueError:
        if not digits.strip():  # an empty field (NULs or spaces) is zero
            return 0
        raise CorruptTarError(f"a tar header number is not octal ({digits!r})") from None


def _text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def _pax_records(data: bytes) -> dict[str, str]:
    """Pax records, ``"%d %s=%s\\n" % (length, key, value)`` each; a key given twice is refused."""
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
        text = key.decode("utf-8", "surrogateescape")
        if text in records:
            raise CorruptTarError(f"a pax header sets {printable(text)!r} twice")
        records[text] = value.decode("utf-8", "surrogateescape")
        at = end
    return records


def _apply_pax(header: TarHeader) -> None:
    pax = header.pax
    if not pax:
        return
    try:
        if len(pax) > 1 or "mtime" not in pax:  # most pax headers hold an mtime alone
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


def read_tar_gz(data: bytes | BinaryIO, limits: Limits = DEFAULT_LIMITS) -> list[Member]:
    """Every member of a ``.tar.gz`` with its content, in archive order, each one checked. Hard links
    carry their target's content. Memory: the inflated members, at most ``limits.max_total_size``."""
    raw = io.BytesIO(data) if isinstance(data, bytes) else data
    read_gzip_header(raw)
    raw.seek(0)
    reader = TarReader(raw, limits)
    members: list[Member] = []
    files: dict[str, bytes] = {}
    for header in reader.members():
        content = b""
        if header.kind is MemberType.FILE:
            content = files[header.name] = b"".join(reader.content(header))
        elif header.kind is MemberType.HARDLINK:
            content = files[header.linkname.rstrip("/")]
        members.append(Member(
            name=header.name, type=header.kind, mode=header.mode, mtime=float(header.mtime), data=content,
            linkname=header.linkname.rstrip("/") if header.kind is MemberType.HARDLINK else header.linkname,
            uid=header.uid, gid=header.gid, uname=header.uname, gname=header.gname,
        ))  # fmt: skip
    return members
