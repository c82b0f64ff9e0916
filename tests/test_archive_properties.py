"""Property-based: whatever bytes or archive structure the readers are given, they return a result or
raise ArchiveError, never anything else; and whatever the sdist reader accepts extracts inside its
target, every link resolving inside it."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import stat
import tarfile
import tempfile
import warnings
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from vouch.archive.diff import diff_paths
from vouch.archive.safe import Limits, extract_sdist, read_tar_gz, read_zip
from vouch.errors import ArchiveError

SETTINGS = settings(
    max_examples=int(os.environ.get("VOUCH_HYPOTHESIS_EXAMPLES", "200")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
LIMITS = Limits(max_members=50, max_member_size=1 << 16, max_total_size=1 << 20, ratio_floor=1 << 16)
COMPONENTS = st.sampled_from(["demo", "a", "b", "l", "..", ".", "", "C:", "x\\y", "n\x00", "é"])
PATHS = st.lists(COMPONENTS, min_size=1, max_size=4).map("/".join) | st.just("/etc/passwd")
TAR_KINDS = st.sampled_from(
    [tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE, tarfile.CHRTYPE]
)
TAR_MEMBERS = st.lists(st.tuples(PATHS, TAR_KINDS, PATHS, st.binary(max_size=64)), max_size=8)


def _read_in_every_way(data: bytes, suffix: str) -> None:
    reader = read_tar_gz if suffix == ".tar.gz" else read_zip
    with contextlib.suppress(ArchiveError):
        reader(data, LIMITS)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "x" + suffix)
        path.write_bytes(data)
        with contextlib.suppress(ArchiveError):
            diff_paths(path, path, limits=LIMITS)


@SETTINGS
@given(st.binary(max_size=2048))
def test_arbitrary_bytes(data: bytes) -> None:
    _read_in_every_way(data, ".tar.gz")
    _read_in_every_way(data, ".whl")


@SETTINGS
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_inside_gzip(data: bytes) -> None:
    _read_in_every_way(gzip.compress(data, mtime=0), ".tar.gz")


def _tar(members: list[tuple[str, bytes, str, bytes]], fmt: int) -> bytes:
    raw = io.BytesIO()
    try:
        with tarfile.open(fileobj=raw, mode="w", format=fmt) as out:
            for name, kind, link, data in members:
                info = tarfile.TarInfo(name)
                info.type, info.linkname = kind, link
                info.size = len(data) if kind == tarfile.REGTYPE else 0
                out.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    except (ValueError, UnicodeError, tarfile.TarError):
        reject()
    return gzip.compress(raw.getvalue(), mtime=0)


@SETTINGS
@given(TAR_MEMBERS, st.sampled_from([tarfile.PAX_FORMAT, tarfile.GNU_FORMAT]))
def test_arbitrary_tar_structures_and_what_is_accepted_extracts_inside(
    members: list[tuple[str, bytes, str, bytes]], fmt: int
) -> None:
    data = _tar(members, fmt)
    _read_in_every_way(data, ".tar.gz")
    try:
        accepted = read_tar_gz(data, LIMITS)
    except ArchiveError:
        return
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        target = base / "box" / "target"
        target.parent.mkdir()
        extract_sdist(accepted, target)
        assert [path.name for path in base.iterdir()] == ["box"]
        for path in target.parent.rglob("*"):
            assert path.is_relative_to(target), path
            assert Path(os.path.realpath(path)).is_relative_to(target.resolve()), path


@SETTINGS
@given(TAR_MEMBERS, st.data())
def test_corrupted_and_truncated_sdists(
    members: list[tuple[str, bytes, str, bytes]], data: st.DataObject
) -> None:
    sdist = bytearray(_tar(members, tarfile.PAX_FORMAT))
    for _ in range(data.draw(st.integers(0, 4))):
        at = data.draw(st.integers(0, len(sdist) - 1))
        sdist[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(sdist)))
    _read_in_every_way(bytes(sdist[:cut]), ".tar.gz")


ZIP_KINDS = st.sampled_from([stat.S_IFREG | 0o644, stat.S_IFDIR | 0o755, stat.S_IFLNK | 0o777, 0])


@SETTINGS
@given(
    st.lists(st.tuples(PATHS, ZIP_KINDS, st.binary(max_size=64), st.booleans()), max_size=8),
    st.data(),
)
def test_arbitrary_zip_structures_corrupted_or_not(
    members: list[tuple[str, int, bytes, bool]], data: st.DataObject
) -> None:
    out = io.BytesIO()
    try:
        with warnings.catch_warnings(), zipfile.ZipFile(out, "w") as archive:
            warnings.simplefilter("ignore")  # duplicate names are what the reader must refuse
            for name, mode, content, deflated in members:
                info = zipfile.ZipInfo(name)
                info.external_attr = mode << 16
                info.compress_type = zipfile.ZIP_DEFLATED if deflated else zipfile.ZIP_STORED
                archive.writestr(info, content)
    except (ValueError, UnicodeError):
        reject()
    wheel = bytearray(out.getvalue())
    _read_in_every_way(bytes(wheel), ".whl")
    for _ in range(data.draw(st.integers(0, 3))):
        at = data.draw(st.integers(0, len(wheel) - 1))
        wheel[at] = data.draw(st.integers(0, 255))
    _read_in_every_way(bytes(wheel[: data.draw(st.integers(0, len(wheel)))]), ".whl")
