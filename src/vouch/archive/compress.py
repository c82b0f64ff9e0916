"""Deflate streams, and the gzip and zip framing around them, written by vouch itself.

Compression is part of an artifact's bytes, so the normalizer must not take it from the system:
Python's ``zlib`` is the operating system's zlib, and Fedora ships zlib-ng as its zlib, whose
deflate streams differ from stock zlib's at the same level. vouch therefore compresses with
libdeflate, through the ``deflate`` package that vouch pins (its wheels bundle libdeflate and link
it statically), and writes every other byte itself: the gzip header and trailer (RFC 1952) and the
zip local headers, central directory and end record, field by field as Python's ``zipfile`` wrote
them for normalizer v2. CRC-32 is defined by the standards, so ``zlib.crc32`` serves whatever
implementation is behind it.

Why libdeflate's output depends only on its version and the level, as checked for this pin:

- its author (ebiggers/libdeflate#400): "The current implementation is deterministic for a
  particular version of libdeflate"; "No version of libdeflate has ever been non-deterministic,
  but the output has varied across versions and will continue to vary across versions";
- its code: the one-shot ``libdeflate_deflate_compress`` has no streaming state, no threads and no
  floating point; its per-CPU code paths are the checksums (not used here: vouch computes CRCs
  with ``zlib.crc32``) and the matchfinder's table initialisation and rebase, which store the
  same values with SSE2, AVX2 or NEON instructions (lib/x86/matchfinder_impl.h);
- the ``deflate`` package (dcwatson/deflate): version 0.9.0 bundles libdeflate 1.26 (its sdist's
  ``libdeflate/libdeflate.h`` and CHANGELOG), allocates a fresh compressor per call and passes the
  level through; its own tests only round-trip, they pin no compressed bytes;
- and, since neither promises anything across builds of the package: :func:`libdeflate` compresses
  a fixed probe at the levels vouch uses and compares the result with the digest recorded here for
  that version, before any archive is written. A ``deflate`` built against another libdeflate, or
  an unknown version, is refused rather than trusted.
"""

from __future__ import annotations

import functools
import hashlib
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata

from vouch.errors import ArchiveError, CheckError

DEFLATE_PACKAGE = "deflate"
# deflate package version -> (bundled libdeflate version, sha256 of the probe's streams)
KNOWN_LIBDEFLATE = {
    "0.9.0": ("1.26", "1f6f2476c519cd5fec887c4f2903613968d41096c6753af42abb8fb6f68e8d68"),
}
PROBE_LEVELS = (6, 9)  # the levels the normalizer uses

_ZIP_VERSION = 20  # "version made by" and "needed to extract": 2.0, deflate (zipfile's default)
_ZIP_UNIX = 3
_ZIP_UTF8 = 0x800
_ZIP64_LIMIT = (1 << 31) - 1  # beyond this, zipfile would have written zip64 records
_ZIP_MAX_ENTRIES = 0xFFFF
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")


@dataclass(frozen=True)
class Compressor:
    """A raw deflate (RFC 1951) compressor, named by what determines its output."""

    name: str  # "libdeflate" or "zlib"
    version: str  # of the library that makes the streams
    package: str  # the requirement that installs it ("deflate==0.9.0"), "" for the system's zlib
    deflate: Callable[[bytes, int], bytes] = field(compare=False, repr=False)

    def __str__(self) -> str:
        origin = self.package or "the system's"
        return f"{self.name} {self.version} ({origin})"


def _zlib_deflate(data: bytes, level: int) -> bytes:
    # the parameters of gzip.GzipFile and zipfile: window 2**15, no zlib header, memLevel 8
    stream = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, zlib.DEF_MEM_LEVEL, 0)
    return stream.compress(data) + stream.flush()


def system_zlib() -> Compressor:
    """Python's ``zlib``: whatever the system links (stock zlib, zlib-ng, ...). Normalizer v2 only."""
    if ng_version := getattr(zlib, "ZLIBNG_VERSION", None):  # zlib-ng's own module, in its place
        return Compressor("zlib-ng", str(ng_version), "", _zlib_deflate)
    return Compressor("zlib", zlib.ZLIB_RUNTIME_VERSION, "", _zlib_deflate)


def probe() -> bytes:
    """About 270 KB that exercise a deflate compressor: text with matches near and far (beyond
    the 32 KiB window too), incompressible runs, repeats, more than one block."""
    words = (
        b"import def return self data value name the of and to in is for with not none true false "
        b"class from as if else elif while try except raise yield lambda pass break continue assert "
        b"global async await print len range dict list set tuple str bytes int float open path file"
    ).split()
    parts: list[bytes] = []
    for index in range(1500):
        seed = hashlib.sha256(index.to_bytes(4, "big")).digest()
        parts.append(b" ".join(words[b % len(words)] for b in seed[:16]) + b"\n")
        if index % 50 == 0:
            parts.append(seed * 4)
        if index % 300 == 0:
            parts.append(bytes([index % 251]) * 700)
    text = b"".join(parts)
    return text + text[:80_000] + text[::-1][:80_000]


@functools.cache
def libdeflate() -> Compressor:
    """The pinned compressor, checked (once per process) to make the bytes its version is known for."""
    try:
        import deflate  # noqa: PLC0415  # imported on first use
    except ImportError as exc:
        raise CheckError(
            f"the {DEFLATE_PACKAGE} package (libdeflate) is not installed: {exc}",
            hint=f"install vouch with its dependencies: pip install '{_pin(max(KNOWN_LIBDEFLATE))}'",
        ) from exc

    def compress(data: bytes, level: int) -> bytes:
        return bytes(deflate.deflate_compress(data, level))

    return verified_libdeflate(metadata.version(DEFLATE_PACKAGE), compress)


def verified_libdeflate(installed: str, compress: Callable[[bytes, int], bytes]) -> Compressor:
    """``compress`` as the libdeflate of the ``deflate`` package version ``installed``, once it
    has compressed the probe to the digest known for that version; refused otherwise."""
    known = KNOWN_LIBDEFLATE.get(installed)
    if known is None:
        wanted = " or ".join(_pin(v) for v in KNOWN_LIBDEFLATE)
        raise CheckError(
            f"{DEFLATE_PACKAGE} {installed} is installed, whose libdeflate output this vouch does not know",
            hint=f"install the one vouch pins: pip install '{wanted}'",
        )
    libdeflate_version, expected = known
    sample = probe()
    digest = hashlib.sha256(b"".join(compress(sample, level) for level in PROBE_LEVELS)).hexdigest()
    if digest != expected:
        raise CheckError(
            f"{DEFLATE_PACKAGE} {installed} does not compress like libdeflate {libdeflate_version} "
            f"(probe sha256 {digest}, expected {expected}); it may be built against another libdeflate",
            hint=f"reinstall it from its published wheel: pip install --force-reinstall '{_pin(installed)}'",
        )
    return Compressor("libdeflate", libdeflate_version, _pin(installed), compress)


def _pin(version: str) -> str:
    return f"{DEFLATE_PACKAGE}=={version}"


def gzip_member(data: bytes, compressor: Compressor, level: int) -> bytes:
    """One gzip member (RFC 1952) with a fixed header: no name, no comment, MTIME 0, OS 255
    ("unknown", on every platform), XFL 2 at level 9 and above, 4 at level 1, else 0."""
    xfl = 2 if level >= 9 else 4 if level == 1 else 0
    header = b"\x1f\x8b\x08\x00" + b"\x00\x00\x00\x00" + bytes([xfl, 255])
    trailer = struct.pack("<LL", zlib.crc32(data), len(data) & 0xFFFFFFFF)
    return header + compressor.deflate(data, level) + trailer


@dataclass(frozen=True)
class ZipEntry:
    """One member to write: its name (directories end in "/"), time and mode as stored."""

    name: str
    date_time: tuple[int, int, int, int, int, int]
    external_attr: int
    data: bytes = b""
    deflated: bool = True


def _dos_time(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    year, month, day, hour, minute, second = date_time
    if not 1980 <= year <= 2107:
        raise ArchiveError(f"zip cannot hold the year {year}")
    return hour << 11 | minute << 5 | second // 2, (year - 1980) << 9 | month << 5 | day


def write_zip(entries: Sequence[ZipEntry], compressor: Compressor, level: int) -> bytes:
    """A zip archive of ``entries`` in their order: a local header with CRC and sizes (no data
    descriptor, no extra field), the data, then the central directory and the end record, all
    with version 2.0 created on Unix; names in UTF-8 (flag 0x800) only when not ASCII. zip64 is
    refused, not written: a wheel of more than 65,535 members or 2 GiB is not a wheel vouch makes."""
    if len(entries) > _ZIP_MAX_ENTRIES:
        raise ArchiveError(f"{len(entries)} members need zip64, which the normalizer does not write")
    out: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for entry in entries:
        if len(entry.data) * 1.05 > _ZIP64_LIMIT or offset > _ZIP64_LIMIT:
            raise ArchiveError(f"{entry.name}: a zip this large needs zip64, which vouch does not write")
        try:
            name, flags = entry.name.encode("ascii"), 0
        except UnicodeEncodeError:
            name, flags = entry.name.encode("utf-8"), _ZIP_UTF8
        method = zlib.DEFLATED if entry.deflated else 0
        body = compressor.deflate(entry.data, level) if entry.deflated else entry.data
        crc = zlib.crc32(entry.data)
        dos_time, dos_date = _dos_time(entry.date_time)
        common = (flags, method, dos_time, dos_date, crc, len(body), len(entry.data), len(name))
        out += [_LOCAL.pack(b"PK\x03\x04", _ZIP_VERSION, 0, *common, 0), name, body]
        central += [
            _CENTRAL.pack(b"PK\x01\x02", _ZIP_VERSION, _ZIP_UNIX, _ZIP_VERSION, 0, *common,
                          0, 0, 0, 0, entry.external_attr, offset),
            name,
        ]  # fmt: skip
        offset += _LOCAL.size + len(name) + len(body)
    directory = b"".join(central)
    if offset > _ZIP64_LIMIT or len(directory) > _ZIP64_LIMIT:
        raise ArchiveError("a zip this large needs zip64, which the normalizer does not write")
    end = _END.pack(b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), offset, 0)
    return b"".join([*out, directory, end])
