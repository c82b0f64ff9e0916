"""Normalizer v3's bytes depend on vouch's pinned compressor only: not on the system's zlib.

The archives here are crafted by the tests; the zlib-ng runs replace the ``zlib`` module of a
child process by zlib-ng's compatible one (the ``zlib-ng`` package), as Fedora does system-wide.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import zipfile
import zlib

import pytest

from vouch.archive.compress import (
    ZipEntry,
    libdeflate,
    probe,
    system_zlib,
    verified_libdeflate,
    write_zip,
)
from vouch.archive.normalize import (
    GZIP_LEVEL,
    ZIP_LEVEL,
    canonical_members,
    compressor_for,
    normalize_sdist,
    normalize_wheel,
    pack_sdist,
    pack_wheel,
    zip_date_time,
    zip_order_key,
)
from vouch.archive.safe import Member, MemberType, read_tar_gz, read_zip
from vouch.errors import ArchiveError, CheckError

SDE = 1_750_000_000


WORDS = [hashlib.sha256(b"word %d" % i).hexdigest()[: 2 + i % 8].encode() for i in range(300)]


def text(seed: int, lines: int) -> bytes:
    """Python-like text, different for every seed, compressible as source code is."""
    out = []
    for index in range(lines):
        digest = hashlib.sha256(f"{seed}:{index}".encode()).digest()
        line = b" ".join(WORDS[(digest[i] * 256 + digest[i + 1]) % len(WORDS)] for i in range(1, 17, 2))
        out.append(b"    " * (digest[0] % 3) + line)
    return b"\n".join(out) + b"\n"


# an sdist and a wheel made by sloppy backends: group-writable modes, owners, odd order and times
SDIST_FILES = {
    "golden-1.0/PKG-INFO": b"Metadata-Version: 2.1\nName: golden\nVersion: 1.0\n",
    "golden-1.0/pyproject.toml": b'[build-system]\nrequires = ["flit_core"]\n',
    "golden-1.0/golden/__init__.py": text(1, 3000),
    "golden-1.0/golden/caf\u00e9.py": text(2, 200),
    "golden-1.0/golden/empty.py": b"",
    "golden-1.0/bin/run": b"#!/bin/sh\nexec python -m golden\n",
}
WHEEL_FILES = {
    "golden/__init__.py": text(1, 3000),
    "golden/caf\u00e9.py": text(2, 200),
    "golden/empty.py": b"",
    "golden-1.0.data/scripts/run": b"#!/bin/sh\nexec python -m golden\n",
    "golden-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: golden\nVersion: 1.0\n",
    "golden-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}


def input_sdist() -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for index, (name, data) in enumerate(sorted(SDIST_FILES.items(), reverse=True)):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.uid, info.uname = len(data), SDE + 1000 + index, 501, "alice"
            info.mode = 0o775 if name.endswith("/run") else 0o664
            tar.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo("golden-1.0/golden")
        info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o775, SDE - 50
        tar.addfile(info)
    return gzip.compress(raw.getvalue(), compresslevel=1, mtime=SDE)


def input_wheel() -> bytes:
    files = dict(WHEEL_FILES)
    record = "".join(f"{name},sha256={_urlsafe_sha256(data)},{len(data)}\n" for name, data in files.items())
    files["golden-1.0.dist-info/RECORD"] = (record + "golden-1.0.dist-info/RECORD,,\n").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in sorted(files, reverse=True):
            info = zipfile.ZipInfo(name, date_time=(2031, 2, 3, 4, 5, 6))
            info.external_attr = (0o100775 if name.endswith("/run") else 0o100664) << 16
            archive.writestr(info, files[name], compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return out.getvalue()


def _urlsafe_sha256(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


# Normalizer v3 of the two inputs above. Any machine running the suite checks that it makes the
# same bytes as the machine that wrote these; moving them means bumping NORMALIZER_VERSION.
GOLDEN_SDIST = "8b1821d73139397a78e2e34618ac6d9f5b04935b916f0f4b845c6d6c8cb7976b"
GOLDEN_WHEEL = "d7990dd1289c1527d0e15feafaa988dbf50daabbe7670479abe4deffd3e4d82c"


def test_golden_normalised_bytes() -> None:
    assert hashlib.sha256(normalize_sdist(input_sdist(), SDE)).hexdigest() == GOLDEN_SDIST
    assert hashlib.sha256(normalize_wheel(input_wheel(), SDE)).hexdigest() == GOLDEN_WHEEL


CHILD = r"""
import hashlib, json, sys
if sys.argv[1] == "zlib-ng":
    import zlib_ng.zlib_ng as ng
    for name in ("gzip", "zipfile", "tarfile"):  # imported by zlib_ng itself: import them again
        sys.modules.pop(name, None)
    sys.modules["zlib"] = ng
import gzip, zipfile, zlib
from vouch.archive.compress import system_zlib
from vouch.archive.normalize import normalize_sdist, normalize_wheel
inputs = json.loads(sys.stdin.read())
sdist, wheel = bytes.fromhex(inputs["sdist"]), bytes.fromhex(inputs["wheel"])
digests = {"zlib": [zlib.__name__, gzip.zlib.__name__, zipfile.zlib.__name__, str(system_zlib())]}
for version, compressor in (("v3", None), ("v2", system_zlib())):
    digests[version] = [
        hashlib.sha256(normalize_sdist(sdist, inputs["sde"], compressor=compressor)).hexdigest(),
        hashlib.sha256(normalize_wheel(wheel, inputs["sde"], compressor=compressor)).hexdigest(),
    ]
print(json.dumps(digests))
"""


def normalise_in_child(zlib_module: str) -> dict[str, list[str]]:
    """Normalise the inputs in a fresh interpreter whose ``zlib`` is ``zlib_module``."""
    inputs = json.dumps({"sdist": input_sdist().hex(), "wheel": input_wheel().hex(), "sde": SDE})
    result = subprocess.run(
        [sys.executable, "-c", CHILD, zlib_module], input=inputs, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    digests: dict[str, list[str]] = json.loads(result.stdout)
    return digests


def test_zlib_ng_as_the_system_zlib_gives_the_same_bytes() -> None:
    stock = normalise_in_child("stock")
    ng = normalise_in_child("zlib-ng")
    assert stock["zlib"][:3] == ["zlib", "zlib", "zlib"]
    assert ng["zlib"][:3] == ["zlib_ng.zlib_ng"] * 3  # gzip, zipfile and vouch all see zlib-ng
    assert ng["v3"] == stock["v3"] == [GOLDEN_SDIST, GOLDEN_WHEEL]
    # the instrument can fail: normalizer v2, which compressed with the system's zlib, differs
    assert ng["v2"][0] != stock["v2"][0]
    assert ng["v2"][1] != stock["v2"][1]


def v2_pack_sdist(members: list[Member]) -> bytes:
    """Normalizer v2's sdist writer as it was: tarfile, then gzip.GzipFile at level 9."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as out:
        for member in members:
            info = tarfile.TarInfo(member.name)
            info.mtime, info.mode = int(member.mtime), member.mode
            if member.type is MemberType.DIR:
                info.type = tarfile.DIRTYPE
                out.addfile(info)
            else:
                info.size = len(member.data)
                out.addfile(info, io.BytesIO(member.data))
    stream = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=stream, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return stream.getvalue()


def v2_pack_wheel(members: list[Member]) -> bytes:
    """Normalizer v2's wheel writer as it was: zipfile.ZipFile.writestr, deflate level 6."""
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
                out.writestr(info, b"")
            else:
                info.compress_type = zipfile.ZIP_DEFLATED
                out.writestr(info, member.data, compresslevel=6)
    return raw.getvalue()


def test_vouch_framing_with_zlib_is_byte_for_byte_normalizer_v2() -> None:
    """The gzip and zip framing vouch writes now is the one gzip and zipfile wrote for v2:
    with the system's zlib behind it, it rebuilds v2 records bit for bit."""
    sdist = canonical_members(read_tar_gz(input_sdist()), SDE)
    assert pack_sdist(sdist, system_zlib()) == v2_pack_sdist(sdist)
    wheel = read_zip(input_wheel())
    wheel.append(Member(name="golden/sub", type=MemberType.DIR, mode=0o775, mtime=SDE))
    wheel = canonical_members(wheel, SDE, zip_order_key)
    assert pack_wheel(wheel, system_zlib()) == v2_pack_wheel(wheel)
    assert compressor_for(2) == system_zlib()


def test_v3_outputs_are_valid_and_keep_every_member() -> None:
    sdist = normalize_sdist(input_sdist(), SDE)
    assert sdist[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # no time, no name, OS 255
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(sdist))) as tar:
        contents = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
    assert contents == SDIST_FILES
    wheel = normalize_wheel(input_wheel(), SDE)
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        assert archive.testzip() is None  # every CRC checked
        infos = archive.infolist()
        assert {archive.read(i).decode(errors="replace") for i in infos} >= {
            d.decode(errors="replace") for d in WHEEL_FILES.values()
        }
        caf = next(i for i in infos if i.filename.startswith("golden/caf"))
        assert caf.flag_bits & 0x800  # a non-ASCII name is marked UTF-8
        assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}
        assert {(i.create_system, i.create_version, i.extract_version) for i in infos} == {(3, 20, 20)}


def test_levels_and_compressor_of_v3() -> None:
    assert (GZIP_LEVEL, ZIP_LEVEL) == (9, 6)
    compressor = compressor_for()
    assert (compressor.name, compressor.version, compressor.package) == (
        "libdeflate",
        "1.26",
        "deflate==0.9.0",
    )
    data = text(3, 500)
    assert zlib.decompress(compressor.deflate(data, 9), -15) == data


def test_a_deflate_that_is_not_the_known_libdeflate_is_refused() -> None:
    with pytest.raises(CheckError, match=r"does not compress like libdeflate 1\.26") as caught:
        verified_libdeflate("0.9.0", system_zlib().deflate)
    assert caught.value.hint is not None
    assert "pip install --force-reinstall 'deflate==0.9.0'" in caught.value.hint
    with pytest.raises(CheckError, match=r"deflate 0\.8\.1 is installed") as caught:
        verified_libdeflate("0.8.1", libdeflate().deflate)
    assert caught.value.hint is not None
    assert "deflate==0.9.0" in caught.value.hint
    assert len(probe()) > 128 * 1024  # beyond the 32 KiB window, over more than one block


def test_zip64_is_refused_not_written() -> None:
    entries = [ZipEntry(f"d{i}/", (1980, 1, 1, 0, 0, 0), 0o40755 << 16, deflated=False) for i in range(65536)]
    with pytest.raises(ArchiveError, match="zip64"):
        write_zip(entries, system_zlib(), 6)


def test_v3_differs_from_v2_for_the_same_input() -> None:
    """v3 is a new normalizer version: the same input gives other bytes than v2."""
    data = input_wheel()
    assert normalize_wheel(data, SDE) != normalize_wheel(data, SDE, compressor=system_zlib())
