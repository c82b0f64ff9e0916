"""Hostile archives, one class of attack each, crafted here: refused naming the member, by the reader
that the normalizer and the build use, by the differ, and by extraction; nothing written outside."""

from __future__ import annotations

import gzip
import io
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from vouch.archive.diff import diff_paths
from vouch.archive.safe import Limits, Member, MemberType, extract_sdist, read_tar_gz, read_zip
from vouch.cli import main
from vouch.errors import ArchiveError, OutputError

Entry = tuple[tarfile.TarInfo, bytes]


def t(name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, link: str = "") -> Entry:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mtime = kind, link, 1_700_000_000
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    return info, data


def tar(*entries: Entry, fmt: int = tarfile.PAX_FORMAT) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=fmt) as out:
        for info, data in entries:
            info.size = len(data) if info.isreg() else 0
            out.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return raw.getvalue()


def raw_header(kind: bytes, payload: bytes, name: str = "././@PaxHeader") -> bytes:
    """An extended header block ('x', 'g', 'L', 'K') with its payload, as it is."""
    info = tarfile.TarInfo(name)
    info.type, info.size = kind, len(payload)
    return info.tobuf(tarfile.USTAR_FORMAT) + payload + bytes(-len(payload) % 512)


def record(key: str, value: str) -> bytes:
    body = f" {key}={value}\n".encode()
    length = len(body) + len(str(len(body)))
    length += len(str(length)) > len(str(len(body)))
    return str(length).encode() + body


def ustar(*entries: Entry) -> bytes:
    """Members without an end-of-archive marker, to put after hand-made headers."""
    out = b""
    for info, data in entries:
        info.size = len(data)
        out += info.tobuf(tarfile.USTAR_FORMAT) + data + bytes(-len(data) % 512)
    return out


def sized_link() -> bytes:
    """A symbolic link whose header declares 512 bytes of content, which tar readers skip or not."""
    info = tarfile.TarInfo("demo-1.0/l")
    info.type, info.linkname, info.size = tarfile.SYMTYPE, "x", 512
    return info.tobuf(tarfile.USTAR_FORMAT) + b"y" * 512


TOP = t("demo-1.0", kind=tarfile.DIRTYPE)
TAR_CASES: dict[str, tuple[bytes, str]] = {
    "traversal": (tar(TOP, t("demo-1.0/../../x", b"x")), "'demo-1.0/../../x'"),
    "absolute": (tar(t("/etc/x", b"x")), "'/etc/x'"),
    "drive-letter": (tar(t("C:/x", b"x")), "'C:/x'"),
    "backslash": (tar(TOP, t("demo-1.0\\..\\x", b"x")), "demo-1.0\\\\..\\\\x"),
    "nul": (
        raw_header(b"x", record("path", "demo-1.0/a\x00b")) + ustar(t("ignored", b"x")) + bytes(1024),
        "demo-1.0/a\\x00b",
    ),
    "duplicate": (tar(TOP, t("demo-1.0/x", b"1"), t("demo-1.0/x", b"2")), "'demo-1.0/x'"),
    "duplicate-dir-and-file": (
        tar(TOP, t("demo-1.0/a/", kind=tarfile.DIRTYPE), t("demo-1.0/a", b"x")),
        "'demo-1.0/a'",
    ),
    "link-chain": (
        tar(
            TOP,
            t("demo-1.0/l1", kind=tarfile.SYMTYPE, link=".."),
            t("demo-1.0/l2", kind=tarfile.SYMTYPE, link="l1/.."),
        ),
        "'demo-1.0/l2'",
    ),
    "link-chain-declared-backwards": (
        tar(
            TOP,
            t("demo-1.0/d/l2", kind=tarfile.SYMTYPE, link="l1/../.."),
            t("demo-1.0/d/l1", kind=tarfile.SYMTYPE, link=".."),
        ),
        "'demo-1.0/d/l2'",
    ),
    "link-loop": (
        tar(
            TOP,
            t("demo-1.0/l1", kind=tarfile.SYMTYPE, link="l2/x"),
            t("demo-1.0/l2", kind=tarfile.SYMTYPE, link="l1/x"),
        ),
        "'demo-1.0/l",
    ),
    "through-link": (
        tar(TOP, t("demo-1.0/l", kind=tarfile.SYMTYPE, link="."), t("demo-1.0/l/x", b"x")),
        "'demo-1.0/l/x'",
    ),
    "link-over-members": (
        tar(TOP, t("demo-1.0/l/x", b"x"), t("demo-1.0/l", kind=tarfile.SYMTYPE, link=".")),
        "'demo-1.0/l'",
    ),
    "symlink-absolute": (tar(TOP, t("demo-1.0/l", kind=tarfile.SYMTYPE, link="/etc")), "'demo-1.0/l'"),
    "hardlink-out": (tar(TOP, t("demo-1.0/h", kind=tarfile.LNKTYPE, link="../etc/passwd")), "'demo-1.0/h'"),
    "hardlink-to-later": (
        tar(TOP, t("demo-1.0/h", kind=tarfile.LNKTYPE, link="demo-1.0/x"), t("demo-1.0/x", b"x")),
        "'demo-1.0/h'",
    ),
    "char-device": (tar(TOP, t("demo-1.0/tty", kind=tarfile.CHRTYPE)), "'demo-1.0/tty'"),
    "block-device": (tar(TOP, t("demo-1.0/sda", kind=tarfile.BLKTYPE)), "'demo-1.0/sda'"),
    "fifo": (tar(TOP, t("demo-1.0/pipe", kind=tarfile.FIFOTYPE)), "'demo-1.0/pipe'"),
    "sparse-gnu": (tar(TOP, t("demo-1.0/s", kind=tarfile.GNUTYPE_SPARSE)), "'demo-1.0/s'"),
    "sparse-pax": (
        raw_header(b"x", record("GNU.sparse.size", "4096")) + ustar(t("demo-1.0/s", b"x")) + bytes(1024),
        "'demo-1.0/s'",
    ),
    "two-pax-headers": (
        raw_header(b"x", record("path", "demo-1.0/a"))
        + raw_header(b"x", record("path", "demo-1.0/b"))
        + ustar(t("demo-1.0/c", b"x"))
        + bytes(1024),
        "two pax headers",
    ),
    "pax-repeats-a-key": (
        raw_header(b"x", record("path", "demo-1.0/a") + record("path", "demo-1.0/b"))
        + ustar(t("demo-1.0/c", b"x"))
        + bytes(1024),
        "'path' twice",
    ),
    "pax-and-gnu-names-disagree": (
        raw_header(b"L", b"demo-1.0/long\0", "././@LongLink")
        + raw_header(b"x", record("path", "demo-1.0/b"))
        + ustar(t("demo-1.0/c", b"x"))
        + bytes(1024),
        "'demo-1.0/b'",
    ),
    "pax-resizes": (
        raw_header(b"x", record("size", "0")) + ustar(t("demo-1.0/a", b"hidden")) + bytes(1024),
        "'demo-1.0/a'",
    ),
    "global-pax-renames": (
        raw_header(b"g", record("path", "demo-1.0/a")) + ustar(t("demo-1.0/b", b"x")) + bytes(1024),
        "global pax header sets 'path'",
    ),
    "link-with-a-size": (ustar(t("demo-1.0/x", b"x")) + sized_link() + bytes(1024), "'demo-1.0/l'"),
    "truncated-member": (tar(TOP, t("demo-1.0/big", bytes(10_000)))[:3072], "'demo-1.0/big'"),
    "empty": (tar(), "no members"),
}


@pytest.mark.parametrize("case", sorted(TAR_CASES))
def test_hostile_sdists_are_refused_naming_the_member(case: str, tmp_path: Path) -> None:
    data, named = TAR_CASES[case]
    with pytest.raises(ArchiveError) as refused:
        read_tar_gz(gzip.compress(data, mtime=0))
    assert named in str(refused.value)
    sdist = tmp_path / "demo-1.0.tar.gz"
    sdist.write_bytes(gzip.compress(data, mtime=0))
    with pytest.raises(ArchiveError) as refused_by_differ:
        diff_paths(sdist, sdist)
    assert named in str(refused_by_differ.value)
    assert [p.name for p in tmp_path.iterdir()] == ["demo-1.0.tar.gz"]


def test_the_link_chain_of_the_issue_writes_nothing_outside(tmp_path: Path) -> None:
    """``l1 -> ..``, ``l2 -> l1/..``, then a file under ``l2``: extraction escaped before."""
    l1 = t("demo-1.0/l1", kind=tarfile.SYMTYPE, link="..")
    l2 = t("demo-1.0/l2", kind=tarfile.SYMTYPE, link="l1/..")
    data = gzip.compress(tar(TOP, l1, l2, t("demo-1.0/l2/escaped.txt", b"pwned")))
    with pytest.raises(ArchiveError, match=r"'demo-1\.0/l2/escaped\.txt' lies under 'demo-1\.0/l2'"):
        read_tar_gz(data)
    members = [
        Member("demo-1.0", MemberType.DIR, 0o755, 0),
        Member("demo-1.0/l1", MemberType.SYMLINK, 0o777, 0, linkname=".."),
        Member("demo-1.0/l2", MemberType.SYMLINK, 0o777, 0, linkname="l1/.."),
        Member("demo-1.0/l2/escaped.txt", MemberType.FILE, 0o644, 0, data=b"pwned"),
    ]
    (tmp_path / "box").mkdir()
    with pytest.raises(ArchiveError, match=r"'demo-1\.0/l2/escaped\.txt'"):
        extract_sdist(members, tmp_path / "box" / "t")
    with pytest.raises(ArchiveError, match=r"'demo-1\.0/l2'.*outside"):
        extract_sdist(members[:3], tmp_path / "box" / "t")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["box"]


def test_extraction_writes_members_only_and_never_through_a_link_on_disk(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    module = t("demo-1.0/pkg/mod.py", b"x = 1\n")
    link = t("demo-1.0/pkg/link", kind=tarfile.SYMTYPE, link="mod.py")
    hard = t("demo-1.0/hard", kind=tarfile.LNKTYPE, link="demo-1.0/pkg/mod.py")
    data = gzip.compress(tar(TOP, module, link, hard))
    top = extract_sdist(read_tar_gz(data), tmp_path / "t")
    assert top == tmp_path / "t" / "demo-1.0"
    assert (top / "hard").read_bytes() == b"x = 1\n"
    assert (top / "pkg" / "link").readlink() == Path("mod.py")
    assert list(outside.iterdir()) == []
    # the target already exists, as a link pointing outside: refused, nothing written there
    (tmp_path / "planted").symlink_to(outside)
    with pytest.raises(OutputError, match="planted"):
        extract_sdist(read_tar_gz(data), tmp_path / "planted")
    assert list(outside.iterdir()) == []


def test_an_empty_member_list_is_refused_by_extraction(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="no members"):
        extract_sdist([], tmp_path / "t")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- bombs


def zeros_tar_gz(members: int, size: int) -> bytes:
    """A .tar.gz of ``members`` members of ``size`` zero bytes each, compressed as it is written."""
    out, deflate = io.BytesIO(), zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    for index in range(members):
        info = tarfile.TarInfo(f"demo-1.0/zeros{index}")
        info.size = size
        out.write(deflate.compress(info.tobuf(tarfile.PAX_FORMAT)))
        for start in range(0, size, len(zeros)):
            out.write(deflate.compress(zeros[: min(len(zeros), size - start)]))
    out.write(deflate.compress(bytes(1024)) + deflate.flush())
    return out.getvalue()


def test_a_gzip_bomb_is_refused_by_its_ratio_while_inflating() -> None:
    bomb = zeros_tar_gz(8, 16 << 20)  # 128 MiB of zeros in members under the per-member cap
    assert len(bomb) < 200_000
    with pytest.raises(
        ArchiveError, match=r"inflates more than 200 times \(a gzip bomb\?\), at member 'demo-1.0/zeros0'"
    ):
        read_tar_gz(bomb)


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (Limits(max_total_size=4 << 20, ratio_floor=1 << 30), "inflates beyond 4194304 bytes"),
        (Limits(max_member_size=1 << 20), "'demo-1.0/zeros0' is larger than 1048576 bytes"),
        (Limits(max_members=2), "more than 2 members, at 'demo-1.0/zeros2'"),
    ],
)
def test_sdist_limits_are_configurable(limits: Limits, message: str) -> None:
    with pytest.raises(ArchiveError, match=message):
        read_tar_gz(zeros_tar_gz(3, 2 << 20), limits)


def test_cli_diff_of_a_bomb_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bomb, other = tmp_path / "bomb.tar.gz", tmp_path / "other.tar.gz"
    bomb.write_bytes(zeros_tar_gz(4, 32 << 20))
    other.write_bytes(gzip.compress(tar(TOP, t("demo-1.0/a", b"x"))))
    assert main(["diff", str(bomb), str(other)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"error: {bomb}: the gzip stream inflates more than")
    assert "'demo-1.0/zeros0'" in err[0]
    assert "Traceback" not in err[0]


# --------------------------------------------------------------------------- zips


def zip_of(*entries: tuple[str, bytes], mode: int = 0o644, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))
            info.external_attr = ((stat.S_IFDIR | 0o755) if name.endswith("/") else mode) << 16
            info.compress_type = method
            archive.writestr(info, data)
    return out.getvalue()


def symlinks_zip(*links: tuple[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, target in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return out.getvalue()


def local_field(data: bytes, offset: int, value: int, size: int) -> bytes:
    """The first local header with the field at ``offset`` replaced."""
    return data[:offset] + value.to_bytes(size, "little") + data[offset + size :]


WHEEL = zip_of(("demo/__init__.py", b"x = 1\n" * 50), ("demo-1.0.dist-info/RECORD", b""))
ZIP_CASES: dict[str, tuple[bytes, str]] = {
    "traversal": (zip_of(("../evil.pth", b"x")), "'../evil.pth'"),
    "absolute": (zip_of(("/evil.pth", b"x")), "'/evil.pth'"),
    "drive-letter": (zip_of(("C:/evil.pth", b"x")), "'C:/evil.pth'"),
    "duplicate-dir-and-file": (zip_of(("demo/a/", b""), ("demo/a", b"x")), "'demo/a'"),
    "through-a-file": (zip_of(("demo/a", b"x"), ("demo/a/b", b"y")), "'demo/a/b'"),
    "local-method-differs": (local_field(WHEEL, 8, 0, 2), "'demo/__init__.py': its local header"),
    "local-crc-differs": (local_field(WHEEL, 14, 1234, 4), "'demo/__init__.py': its local header"),
    "local-size-differs": (local_field(WHEEL, 22, 7, 4), "'demo/__init__.py': its local header"),
    "truncated": (WHEEL[:-40], "not a valid zip archive"),
    "empty": (zip_of(), "no members"),
    "ratio-bomb": (zip_of(("demo/zeros", bytes(32 << 20))), "'demo/zeros' inflates"),
}


@pytest.mark.parametrize("case", sorted(ZIP_CASES))
def test_hostile_zips_are_refused_naming_the_member(case: str, tmp_path: Path) -> None:
    data, named = ZIP_CASES[case]
    with pytest.raises(ArchiveError) as refused:
        read_zip(data)
    assert named in str(refused.value)
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    wheel.write_bytes(data)
    with pytest.raises(ArchiveError) as refused_by_differ:
        diff_paths(wheel, wheel)
    assert named in str(refused_by_differ.value)


def test_zip_link_chains_are_refused_by_the_differ(tmp_path: Path) -> None:
    wheel = tmp_path / "demo.zip"
    wheel.write_bytes(symlinks_zip(("demo/l1", ".."), ("demo/l2", "l1/..")))
    with pytest.raises(ArchiveError, match="'demo/l2' points outside the archive"):
        diff_paths(wheel, wheel)


def test_zip_bomb_cli_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.whl", tmp_path / "b.whl"
    a.write_bytes(zip_of(*[(f"demo/zeros{i}", bytes(12 << 20)) for i in range(3)]))
    b.write_bytes(WHEEL)
    assert main(["diff", str(a), str(b)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: {a}: member 'demo/zeros0' inflates {(12 << 20) // _compressed(a)} times (a zip bomb?)"
    ]


def _compressed(path: Path) -> int:
    with zipfile.ZipFile(path) as archive:
        return archive.infolist()[0].compress_size


def test_a_zip_member_that_holds_more_than_declared_is_refused() -> None:
    data = bytearray(zip_of(("demo/a", b"x" * 1000), method=zipfile.ZIP_DEFLATED))
    central = data.rfind(b"PK\x01\x02")
    for at in (22, central + 24):  # uncompressed size in the local and the central header
        data[at : at + 4] = struct.pack("<I", 10)
    with pytest.raises(ArchiveError, match="'demo/a'"):
        read_zip(bytes(data))


READERS: dict[str, Callable[[bytes], object]] = {"tar.gz": read_tar_gz, "zip": read_zip}


@pytest.mark.parametrize("kind", sorted(READERS))
def test_empty_files_are_archive_errors(kind: str) -> None:
    with pytest.raises(ArchiveError):
        READERS[kind](b"")


def test_nothing_is_left_open(tmp_path: Path) -> None:
    before = len(list(Path("/proc/self/fd").iterdir()))
    sdist = tmp_path / "a.tar.gz"
    sdist.write_bytes(gzip.compress(tar(TOP, t("demo-1.0/a", b"x"))))
    for _ in range(3):
        diff_paths(sdist, sdist)
        with pytest.raises(ArchiveError):
            diff_paths(tmp_path / "a.tar.gz", _write(tmp_path / "b.tar.gz", gzip.compress(tar())))
    assert len(list(Path("/proc/self/fd").iterdir())) == before


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
