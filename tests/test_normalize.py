"""The normalizer: canonical bytes from messy archives, content untouched, idempotent."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import zipfile

import pytest

from vouch.archive.normalize import normalize_sdist, normalize_wheel, zip_date_time
from vouch.archive.safe import read_tar_gz, read_zip
from vouch.builder.validate import check_wheel, record_hash

SDE = 1_750_000_000
FILES = {
    "demo-1.0/PKG-INFO": b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
    "demo-1.0/demo/__init__.py": b"X = 1\n",
    "demo-1.0/bin/run": b"#!/bin/sh\necho hi\n",
    "demo-1.0/pyproject.toml": b"[build-system]\n",
}


def messy_sdist(order: list[str], *, uid: int, mtime: float, mode: int, gzip_name: str) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("demo-1.0")
        info.type, info.mode, info.mtime, info.uid, info.uname = (
            tarfile.DIRTYPE,
            0o775,
            mtime,
            uid,
            "alice",
        )
        tar.addfile(info)
        for name in order:
            info = tarfile.TarInfo(name)
            info.size = len(FILES[name])
            info.mode = 0o775 if name.endswith("run") else mode
            info.mtime, info.uid, info.gid = mtime, uid, 20
            info.uname, info.gname = "alice", "staff"
            info.pax_headers = {"atime": "1.5", "ctime": "2.5"}
            tar.addfile(info, io.BytesIO(FILES[name]))
    out = io.BytesIO()
    with gzip.GzipFile(filename=gzip_name, mode="wb", fileobj=out, mtime=int(mtime)) as stream:
        stream.write(raw.getvalue())
    return out.getvalue()


def test_two_messy_sdists_with_the_same_content_normalise_to_the_same_bytes() -> None:
    names = list(FILES)
    a = messy_sdist(names, uid=501, mtime=SDE + 1234.75, mode=0o664, gzip_name="demo-1.0.tar")
    b = messy_sdist(names[::-1], uid=1000, mtime=SDE + 99.5, mode=0o644, gzip_name="x.tar")
    assert a != b
    assert normalize_sdist(a, SDE) == normalize_sdist(b, SDE)


def test_normalised_sdist_has_canonical_metadata_and_unchanged_content() -> None:
    messy = messy_sdist(list(FILES)[::-1], uid=501, mtime=SDE + 10.25, mode=0o664, gzip_name="d.tar")
    data = normalize_sdist(messy, SDE)
    assert data[4:8] == b"\0\0\0\0"  # gzip MTIME
    assert not data[3] & 0x08  # no FNAME flag
    assert data[9] == 255  # OS "unknown", whatever platform normalised it
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == sorted(m.name for m in members)
        for member in members:
            assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "", "")
            assert member.mtime == SDE
            assert "atime" not in member.pax_headers
            assert "ctime" not in member.pax_headers
            if member.isdir() or member.name.endswith("run"):
                assert member.mode == 0o755
            else:
                assert member.mode == 0o644
                extracted = tar.extractfile(member)
                assert extracted is not None
                assert extracted.read() == FILES[member.name]


def test_older_mtimes_are_kept_newer_are_clamped() -> None:
    messy = messy_sdist(list(FILES), uid=0, mtime=SDE - 500, mode=0o644, gzip_name="")
    members = read_tar_gz(normalize_sdist(messy, SDE))
    assert {m.mtime for m in members} == {SDE - 500}


def test_sdist_normalisation_is_idempotent() -> None:
    once = normalize_sdist(messy_sdist(list(FILES), uid=7, mtime=SDE + 3, mode=0o600, gzip_name="a"), SDE)
    assert normalize_sdist(once, SDE) == once


def messy_wheel(order: list[str], *, date_time: tuple[int, ...], mode: int) -> bytes:
    files = {
        "demo/__init__.py": b"X = 1\n",
        "demo/data.txt": b"data\n",
        "demo-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
        "demo-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{n},{record_hash(d)},{len(d)}\n" for n, d in files.items())
    files["demo-1.0.dist-info/RECORD"] = (record + "demo-1.0.dist-info/RECORD,,\n").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in order:
            info = zipfile.ZipInfo(name, date_time=date_time)  # type: ignore[arg-type]
            info.external_attr = (0o100000 | mode) << 16
            archive.writestr(info, files[name], compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
    return out.getvalue()


WHEEL_ORDER = [
    "demo-1.0.dist-info/RECORD",
    "demo-1.0.dist-info/WHEEL",
    "demo/data.txt",
    "demo-1.0.dist-info/METADATA",
    "demo/__init__.py",
]


def test_two_messy_wheels_normalise_to_the_same_valid_wheel() -> None:
    a = messy_wheel(WHEEL_ORDER, date_time=(2030, 1, 2, 3, 4, 6), mode=0o664)
    b = messy_wheel(sorted(WHEEL_ORDER), date_time=(2031, 5, 5, 5, 5, 5), mode=0o644)
    normal = normalize_wheel(a, SDE)
    assert normal == normalize_wheel(b, SDE)
    assert normalize_wheel(normal, SDE) == normal
    with zipfile.ZipFile(io.BytesIO(normal)) as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos] == [
            "demo/__init__.py",
            "demo/data.txt",
            "demo-1.0.dist-info/METADATA",
            "demo-1.0.dist-info/WHEEL",
            "demo-1.0.dist-info/RECORD",
        ]
        assert {i.date_time for i in infos} == {zip_date_time(SDE)}
        assert {i.external_attr >> 16 for i in infos} == {0o100644}
    check_wheel("demo-1.0-py3-none-any.whl", read_zip(normal))


def test_wheel_executable_bit_survives_and_old_dates_clamp_to_1980() -> None:
    data = messy_wheel(WHEEL_ORDER, date_time=(1980, 1, 1, 0, 0, 0), mode=0o775)
    with zipfile.ZipFile(io.BytesIO(normalize_wheel(data, 100))) as archive:
        assert {i.external_attr >> 16 for i in archive.infolist()} == {0o100755}
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_normalisation_never_changes_member_content() -> None:
    data = messy_wheel(WHEEL_ORDER, date_time=(2030, 1, 2, 3, 4, 6), mode=0o664)
    before = {m.name: hashlib.sha256(m.data).hexdigest() for m in read_zip(data)}
    after = {m.name: hashlib.sha256(m.data).hexdigest() for m in read_zip(normalize_wheel(data, SDE))}
    assert before == after


@pytest.mark.parametrize("epoch", [SDE, SDE + 1])
def test_zip_date_time_has_two_second_resolution(epoch: int) -> None:
    assert zip_date_time(epoch)[5] % 2 == 0
