"""Malicious and broken archives are refused with one clear error, before anything is written."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile

import pytest

from vouch.archive.normalize import normalize_sdist, normalize_wheel
from vouch.archive.safe import Limits, read_tar_gz, read_zip
from vouch.errors import ArchiveError


def tar_gz(*infos: tuple[tarfile.TarInfo, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in infos:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return gzip.compress(raw.getvalue(), mtime=0)


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../evil.py", "'..'"),
        ("/etc/passwd", "absolute"),
        ("demo-1.0/../../x", "'..'"),
        ("C:/windows/x", "absolute"),
        ("demo-1.0\\..\\x", "backslash"),
    ],
)
def test_escaping_tar_paths_are_refused(name: str, message: str) -> None:
    with pytest.raises(ArchiveError, match=message):
        read_tar_gz(tar_gz((member(name), b"x")))


def test_symlink_out_of_the_archive_is_refused() -> None:
    data = tar_gz((member("demo-1.0/link", tarfile.SYMTYPE, "../../etc/passwd"), b""))
    with pytest.raises(ArchiveError, match="outside the archive"):
        read_tar_gz(data)


def test_device_files_are_refused() -> None:
    with pytest.raises(ArchiveError, match="device"):
        read_tar_gz(tar_gz((member("demo-1.0/dev", tarfile.CHRTYPE), b"")))


def test_duplicate_tar_members_are_refused() -> None:
    with pytest.raises(ArchiveError, match="duplicate"):
        read_tar_gz(tar_gz((member("a/x"), b"1"), (member("a/x"), b"2")))


def test_hard_link_is_materialised_as_a_regular_file() -> None:
    data = tar_gz((member("a/x"), b"content"), (member("a/y", tarfile.LNKTYPE, "a/x"), b""))
    with tarfile.open(fileobj=io.BytesIO(normalize_sdist(data, 2_000_000_000)), mode="r:gz") as tar:
        link = tar.getmember("a/y")
        assert link.isreg()
        extracted = tar.extractfile(link)
        assert extracted is not None
        assert extracted.read() == b"content"


def test_truncated_gzip_is_refused() -> None:
    data = tar_gz((member("a/x"), b"x" * 10_000))
    with pytest.raises(ArchiveError, match="gzip"):
        read_tar_gz(data[: len(data) // 2])


def test_not_gzip_is_refused() -> None:
    with pytest.raises(ArchiveError, match="gzip"):
        read_tar_gz(b"PK\x03\x04 this is not a tarball")


def test_gzip_bomb_is_refused_at_the_limit() -> None:
    bomb = gzip.compress(b"\0" * (8 << 20), mtime=0)
    assert len(bomb) < 20_000
    with pytest.raises(ArchiveError, match="bomb"):
        read_tar_gz(bomb, Limits(max_total_size=1 << 20))


def zip_of(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_zip_bomb_is_refused_from_declared_sizes() -> None:
    data = zip_of({"a.bin": b"\0" * (4 << 20), "b.bin": b"\0" * (4 << 20)})
    with pytest.raises(ArchiveError, match="zip bomb"):
        read_zip(data, Limits(max_total_size=6 << 20))


def test_zip_path_escape_is_refused() -> None:
    with pytest.raises(ArchiveError, match=r"'\.\.'"):
        normalize_wheel(zip_of({"../../evil.pth": b"import os"}), 2_000_000_000)


def test_zip_with_corrupted_member_is_refused() -> None:
    data = bytearray(zip_of({"demo/x.py": b"print('hello world')\n" * 50}))
    start = data.index(b"demo/x.py") + len(b"demo/x.py") + 5
    data[start] ^= 0xFF
    with pytest.raises(ArchiveError):
        read_zip(bytes(data))


def test_truncated_zip_is_refused() -> None:
    data = zip_of({"demo/x.py": b"x = 1\n"})
    with pytest.raises(ArchiveError, match="not a valid zip"):
        read_zip(data[:-30])


def test_symlink_in_wheel_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        info = zipfile.ZipInfo("demo/link")
        info.external_attr = 0o120777 << 16
        archive.writestr(info, "other.py")
    with pytest.raises(ArchiveError, match="'demo/link' is a symbolic link"):
        read_zip(out.getvalue())
