"""``vouch diff``: each aspect alone, text diffs, wheels' metadata, directories, and hostile archives.

Every pair of archives is built here with tarfile, zipfile and gzip, differing in exactly one aspect,
and the report must name exactly that member and that aspect.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import io
import json
import os
import stat
import struct
import tarfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.recording import Recorder
from vouch.archive.diff import DiffReport, diff_paths
from vouch.archive.diffoscope import find_diffoscope, run_diffoscope
from vouch.archive.safe import Limits
from vouch.cli import main
from vouch.errors import ArchiveError, ToolError
from vouch.host import Completed

EPOCH = 1_700_000_000
Tar = list[tuple[tarfile.TarInfo, bytes]]
Zip = list[tuple[zipfile.ZipInfo, bytes]]


def t(
    name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, **attrs: Any
) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.mtime, info.mode = kind, EPOCH, 0o755 if kind == tarfile.DIRTYPE else 0o644
    for key, value in attrs.items():
        setattr(info, key, value)
    return info, data


def tar_bytes(members: Tar, fmt: int = tarfile.PAX_FORMAT, encoding: str = "utf-8") -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=fmt, encoding=encoding) as tar:
        for original, data in members:
            info = copy.copy(original)
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return raw.getvalue()


def gz(data: bytes, *, mtime: int = 0, filename: str = "", level: int = 9) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(filename=filename, mode="wb", fileobj=out, mtime=mtime, compresslevel=level) as stream:
        stream.write(data)
    return out.getvalue()


def patch(data: bytes, offset: int, value: int) -> bytes:
    return data[:offset] + bytes([value]) + data[offset + 1 :]


def z(
    name: str, data: bytes = b"", *, mode: int = 0o644, kind: int = stat.S_IFREG
) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name, (2024, 1, 2, 3, 4, 6))
    info.create_system, info.compress_type = 3, zipfile.ZIP_DEFLATED
    info.external_attr = (kind | mode) << 16 | (0x10 if kind == stat.S_IFDIR else 0)
    return info, data


def zip_bytes(members: Zip, *, level: int | None = None, comment: bytes = b"") -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are written on purpose
        for info, data in members:
            archive.writestr(copy.copy(info), data, compresslevel=level)
        archive.comment = comment
    return raw.getvalue()


def changed(members: list[Any], name: str, **attrs: Any) -> list[Any]:
    """A copy of ``members`` where ``name`` has other attributes (``data`` replaces its content)."""
    out = []
    for original, content in members:
        info, data = original, content
        if (info.name if isinstance(info, tarfile.TarInfo) else info.filename) == name:
            info, data = copy.copy(original), attrs.get("data", content)
            for key, value in attrs.items():
                if key != "data":
                    setattr(info, key, value)
        out.append((info, data))
    return out


SETUP = b"from setuptools import setup\n\nsetup()\n"
TAR = [
    t("demo-1.0", kind=tarfile.DIRTYPE),
    t("demo-1.0/setup.py", SETUP),
    t("demo-1.0/data.bin", bytes(range(256))),
    t("demo-1.0/link", kind=tarfile.SYMTYPE, linkname="setup.py"),
    t("demo-1.0/hard", kind=tarfile.LNKTYPE, linkname="demo-1.0/setup.py"),
]
METADATA = b"Metadata-Version: 2.4\nName: demo\nVersion: 1.0\nClassifier: A\nClassifier: B\n\nLong text.\n"
WHEEL = b"Wheel-Version: 1.0\nGenerator: bdist_wheel (0.45.1)\nRoot-Is-Purelib: true\nTag: py3-none-any\n\n"
RECORD = (
    b"demo/__init__.py,sha256=abc,6\ndemo-1.0.dist-info/METADATA,sha256=def,80\ndemo-1.0.dist-info/RECORD,,\n"
)
ZIP = [
    z("demo/__init__.py", b"x = 1\n" * 50),
    z("demo/run.sh", b"#!/bin/sh\necho hi\n", mode=0o755),
    z("demo/link", b"run.sh", mode=0o777, kind=stat.S_IFLNK),
    z("demo-1.0.dist-info/METADATA", METADATA),
    z("demo-1.0.dist-info/WHEEL", WHEEL),
    z("demo-1.0.dist-info/RECORD", RECORD),
]
UX = struct.pack("<HHBBIBI", 0x7875, 11, 1, 4, 1000, 4, 1000)  # Info-ZIP Unix owner: uid, gid 1000
UT = struct.pack("<HHBi", 0x5455, 5, 1, EPOCH)  # extended timestamp: mtime
UT2 = struct.pack("<HHBi", 0x5455, 5, 1, EPOCH + 1)
SETUP_PY, DATA, LINK, HARD = "demo-1.0/setup.py", "demo-1.0/data.bin", "demo-1.0/link", "demo-1.0/hard"
INIT, RUN, ZLINK = "demo/__init__.py", "demo/run.sh", "demo/link"
DIST_INFO = "demo-1.0.dist-info"
TEXT = "".join(f"line {i}: {i * i % 9973} {'abc' * (i % 7)}\n" for i in range(5000)).encode()
LEVEL_TAR = [t("demo/text", TEXT)]
LONG = [t("demo-1.0/" + "long/" * 30 + "name.py", b"x", uid=3_000_000, mtime=-1)]
Expected = list[tuple[str | None, tuple[str, ...]]]


def sdist(members: Tar = TAR, **gzip_args: Any) -> bytes:
    return gz(tar_bytes(members), **gzip_args)


def wheel(members: Zip = ZIP, **zip_args: Any) -> bytes:
    return zip_bytes(members, **zip_args)


def one(member: str | None, *aspects: str) -> Expected:
    return [(member, aspects)]


def dist_info(name: str, old: bytes, new: bytes) -> bytes:
    original = {info.filename: data for info, data in ZIP}[f"{DIST_INFO}/{name}"]
    return wheel(changed(ZIP, f"{DIST_INFO}/{name}", data=original.replace(old, new)))


# name: (archive A, archive B, the differences expected: [(member, aspects)])
CASES: dict[str, tuple[bytes, bytes, Expected]] = {
    "gzip-mtime": (sdist(), sdist(mtime=EPOCH), one(None, "gzip-mtime")),
    "gzip-filename": (sdist(), sdist(filename="demo-1.0.tar"), one(None, "gzip-filename")),
    "gzip-os": (sdist(), patch(sdist(), 9, 3), one(None, "gzip-os")),
    "gzip-xfl": (sdist(), patch(sdist(), 8, 4), one(None, "gzip-flags")),
    "gzip-ftext": (sdist(), patch(sdist(), 3, 1), one(None, "gzip-flags")),
    "gzip-level": (
        sdist([t("demo/text", TEXT)], level=3),
        sdist([t("demo/text", TEXT)], level=6),
        one(None, "compression"),
    ),
    "tar-format": (sdist(), gz(tar_bytes(TAR, tarfile.GNU_FORMAT)), one(None, "compression")),
    "gzip-two-members": (
        sdist(),
        gz(tar_bytes(TAR)[:1536]) + gz(tar_bytes(TAR)[1536:]),
        one(None, "compression"),
    ),
    "gzip-zero-padding": (sdist(), sdist() + bytes(100), one(None, "compression")),
    # a long name and a uid too large for octal: GNU long-name headers and base-256 against PAX records
    "tar-format-long": (sdist(LONG), gz(tar_bytes(LONG, tarfile.GNU_FORMAT)), one(None, "compression")),
    "tar-member-order": (sdist(), sdist([TAR[0], TAR[2], TAR[1], *TAR[3:]]), one(None, "member-order")),
    "tar-only-in-a": (sdist(), sdist(TAR[:3] + TAR[4:]), one(LINK, "only-in-a")),
    "tar-only-in-b": (sdist(TAR[:3] + TAR[4:]), sdist(), one(LINK, "only-in-b")),
    "tar-mtime": (sdist(), sdist(changed(TAR, SETUP_PY, mtime=EPOCH + 1)), one(SETUP_PY, "mtime")),
    "tar-atime": (sdist(), sdist(changed(TAR, SETUP_PY, pax_headers={"atime": "1"})), one(SETUP_PY, "mtime")),
    "tar-mode": (sdist(), sdist(changed(TAR, SETUP_PY, mode=0o664)), one(SETUP_PY, "mode")),
    "tar-executable": (sdist(), sdist(changed(TAR, SETUP_PY, mode=0o755)), one(SETUP_PY, "executable")),
    "tar-owner": (sdist(), sdist(changed(TAR, DATA, uid=1000, uname="bob")), one(DATA, "owner")),
    "tar-type": (sdist(), sdist(changed(TAR, DATA, type=tarfile.DIRTYPE)), one(DATA, "type")),
    "tar-hardlink-type": (sdist(), sdist([*TAR[:4], t(HARD)]), one(HARD, "type")),
    "tar-link-target": (sdist(), sdist(changed(TAR, LINK, linkname="data.bin")), one(LINK, "link-target")),
    "tar-hardlink-target": (sdist(), sdist(changed(TAR, HARD, linkname=DATA)), one(HARD, "link-target")),
    "tar-content": (sdist(), sdist(changed(TAR, DATA, data=bytes(range(255)))), one(DATA, "content")),
    "tar-pax-record": (
        sdist(),
        sdist(changed(TAR, DATA, pax_headers={"comment": "x"})),
        one(DATA, "compression"),
    ),
    "zip-member-order": (wheel(), wheel([ZIP[1], ZIP[0], *ZIP[2:]]), one(None, "member-order")),
    "zip-only-in-a": (wheel(), wheel(ZIP[1:]), one(INIT, "only-in-a")),
    "zip-only-in-b": (wheel(ZIP[1:]), wheel(), one(INIT, "only-in-b")),
    "zip-mtime": (wheel(), wheel(changed(ZIP, RUN, date_time=(2025, 1, 1, 0, 0, 0))), one(RUN, "mtime")),
    "zip-extra-mtime": (
        wheel(changed(ZIP, RUN, extra=UT)),
        wheel(changed(ZIP, RUN, extra=UT[:-1] + b"\x00")),
        one(RUN, "mtime"),
    ),
    "zip-mode": (wheel(), wheel(changed(ZIP, RUN, external_attr=0o100775 << 16)), one(RUN, "mode")),
    "zip-executable": (
        wheel(),
        wheel(changed(ZIP, RUN, external_attr=0o100644 << 16)),
        one(RUN, "executable"),
    ),
    "zip-owner": (wheel(), wheel(changed(ZIP, RUN, extra=UX)), one(RUN, "owner")),
    "zip-type": (wheel(), wheel(changed(ZIP, ZLINK, external_attr=0o100777 << 16)), one(ZLINK, "type")),
    "zip-link-target": (wheel(), wheel(changed(ZIP, ZLINK, data=b"__init__.py")), one(ZLINK, "link-target")),
    "zip-method": (
        wheel(),
        wheel(changed(ZIP, INIT, compress_type=zipfile.ZIP_STORED)),
        one(INIT, "compression"),
    ),
    "zip-level": (wheel(level=1), wheel(level=9), one(INIT, "compression")),
    "zip-header": (wheel(), wheel(changed(ZIP, RUN, create_system=0)), one(RUN, "compression")),
    "zip-comment": (wheel(), wheel(comment=b"hi"), one(None, "compression")),
    "zip-content": (wheel(), wheel(changed(ZIP, INIT, data=b"x = 2\n")), one(INIT, "content")),
    "metadata": (
        wheel(),
        dist_info("METADATA", b"B", b"C"),
        one(f"{DIST_INFO}/METADATA", "content", "metadata"),
    ),
    "wheel": (wheel(), dist_info("WHEEL", b"45.1", b"46.0"), one(f"{DIST_INFO}/WHEEL", "content", "wheel")),
    "record": (wheel(), dist_info("RECORD", b"abc", b"xyz"), one(f"{DIST_INFO}/RECORD", "content", "record")),
}


def summary(report: DiffReport) -> list[tuple[str | None, tuple[str, ...]]]:
    return [(difference.member, difference.aspects) for difference in report.differences]


def write_pair(tmp_path: Path, a: bytes, b: bytes, suffix: str) -> tuple[Path, Path]:
    (tmp_path / "a").mkdir(parents=True, exist_ok=True)
    (tmp_path / "b").mkdir(parents=True, exist_ok=True)
    path_a, path_b = tmp_path / "a" / f"demo-1.0{suffix}", tmp_path / "b" / f"demo-1.0{suffix}"
    path_a.write_bytes(a)
    path_b.write_bytes(b)
    return path_a, path_b


def suffix_of(data: bytes) -> str:
    return ".tar.gz" if data[:2] == b"\x1f\x8b" else ".whl"


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_aspect_alone_is_named_with_its_member(tmp_path: Path, case: str) -> None:
    a, b, expected = CASES[case]
    assert a != b
    report = diff_paths(*write_pair(tmp_path, a, b, suffix_of(a)))
    assert summary(report) == expected
    assert json.loads(json.dumps(report.to_json()))["identical"] is False


@pytest.mark.parametrize("data", [gz(tar_bytes(TAR)), zip_bytes(ZIP)], ids=["sdist", "wheel"])
def test_identical_archives_exit_0(tmp_path: Path, data: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = write_pair(tmp_path, data, data, suffix_of(data))
    assert main(["diff", str(a), str(b), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    kind = "sdist" if a.name.endswith("gz") else "zip"
    summary = {"members": 0, "aspects": {}, "archive": [], "metadata_only": []}
    assert document == {"identical": True, "kind": kind, "a": str(a), "b": str(b), "summary": summary,
                        "differences": []}  # fmt: skip
    assert main(["diff", str(a), str(b)]) == 0
    assert "identical" in capsys.readouterr().out


def test_differences_exit_1_with_json_and_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = write_pair(tmp_path, *CASES["tar-executable"][:2], ".tar.gz")
    assert main(["diff", str(a), str(b), "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    executable = {"a": False, "b": True, "mode": {"a": "0644", "b": "0755"}}
    expected = {"member": SETUP_PY, "aspects": ["executable"], "executable": executable}
    assert document["differences"] == [expected]
    assert main(["diff", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "1 member differs" in out
    assert "demo-1.0/setup.py  executable" in out


def repacked(count: int) -> tuple[Tar, Tar]:
    """An sdist of ``count`` modules, and a repack of it: every mtime newer, one module's content changed."""
    members = [t("demo-1.0", kind=tarfile.DIRTYPE)]
    members += [t(f"demo-1.0/pkg/m{i:03d}.py", f"x = {i}\n".encode()) for i in range(count)]
    members += [t("demo-1.0/pkg", kind=tarfile.DIRTYPE)]
    later = [(copy.copy(info), data) for info, data in members]
    for info, _ in later:
        info.mtime = EPOCH + 3600
    return members, changed(later, "demo-1.0/pkg/m042.py", data=b"x = 42  # and something else\n")


def test_summary_puts_the_content_difference_first_and_folds_the_mtimes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    members_a, members_b = repacked(120)
    a, b = write_pair(tmp_path, sdist(members_a), sdist(members_b, mtime=EPOCH), ".tar.gz")
    changed_member = "demo-1.0/pkg/m042.py"
    report = diff_paths(a, b)
    assert summary(report)[:2] == [(changed_member, ("mtime", "content")), (None, ("gzip-mtime",))]
    assert len(report.differences) == 2 + 121
    assert all(d.aspects == ("mtime",) for d in report.differences[2:])

    assert main(["diff", str(a), str(b), "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["summary"] == {
        "members": 122,
        "aspects": {"content": 1, "mtime": 122},
        "archive": ["gzip-mtime"],
        "metadata_only": [{"aspects": ["mtime"], "members": 121,
                           "examples": ["demo-1.0", "demo-1.0/pkg", "demo-1.0/pkg/m000.py"]}],
    }  # fmt: skip
    assert document["differences"][0]["member"] == changed_member
    assert len(document["differences"]) == 123  # --json keeps every difference

    assert main(["diff", str(a), str(b)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("122 members and the archive itself differ")
    assert lines[1].strip() == "members: content 1, mtime 122; archive: gzip-mtime"
    assert lines[2].split() == [changed_member, "mtime,", "content"]
    listed = [line.split()[0] for line in lines if line.startswith("  demo-1.0/")]
    assert listed == [changed_member]  # the 121 mtime-only members are one line
    folded = [line for line in lines if "differ only in" in line]
    assert folded == ["  121 members differ only in mtime: demo-1.0, demo-1.0/pkg, demo-1.0/pkg/m000.py, "
                      "… (118 more; --all lists them)"]  # fmt: skip
    assert lines.index(folded[0]) > lines.index(next(line for line in lines if "(archive)" in line))

    assert main(["diff", str(a), str(b), "--all"]) == 1
    lines = capsys.readouterr().out.splitlines()
    listed = [line.split()[0] for line in lines if line.startswith("  demo-1.0")]
    assert listed[0] == changed_member
    assert sorted(listed[1:]) == sorted(info.name for info, _ in members_a if info.name != changed_member)
    assert len(listed) == 122  # every member, past the cap of 100
    assert not any("differ only in" in line for line in lines)


def test_text_members_get_a_unified_diff_capped_by_max_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = "".join(f"line {i}\n" for i in range(100))
    new = old.replace("line 1", "LINE 1").rstrip("\n")  # lines 1 and 10-19 change, the last loses its newline
    a, b = write_pair(
        tmp_path, bad_zip(z("demo/a.txt", old.encode())), bad_zip(z("demo/a.txt", new.encode())), ".zip"
    )
    content = diff_paths(a, b, max_lines=1000).differences[0].details["content"]
    assert content["diff"][:3] == ["--- a/demo/a.txt", "+++ b/demo/a.txt", "@@ -1,5 +1,5 @@"]
    assert content["diff"][3:6] == [" line 0", "-line 1", "+LINE 1"]
    assert content["diff"][-2:] == ["+line 99", "\\ No newline at end of file"]
    assert "diff_lines_cut" not in content
    total = len(content["diff"])
    assert main(["diff", str(a), str(b), "--json", "--max-lines", "5"]) == 1
    capped = json.loads(capsys.readouterr().out)["differences"][0]["content"]
    assert capped["diff"] == content["diff"][:5]
    assert capped["diff_lines_cut"] == total - 5
    assert main(["diff", str(a), str(b), "--max-lines", "2"]) == 1
    assert f"{total - 2} more diff lines" in capsys.readouterr().out
    assert main(["diff", str(a), str(b), "--max-lines", "-1"]) == 2


def test_binary_members_are_compared_by_size_and_sha256(tmp_path: Path) -> None:
    a, b = write_pair(tmp_path, *CASES["tar-content"][:2], ".tar.gz")
    content = diff_paths(a, b).differences[0].details["content"]
    assert content == {
        "a": {"size": 256, "sha256": hashlib.sha256(bytes(range(256))).hexdigest()},
        "b": {"size": 255, "sha256": hashlib.sha256(bytes(range(255))).hexdigest()},
        "binary": True,
    }


def test_wheel_metadata_wheel_and_record_are_compared_field_by_field(tmp_path: Path) -> None:
    details = {}
    for case in ("metadata", "wheel", "record"):
        report = diff_paths(*write_pair(tmp_path / case, *CASES[case][:2], ".whl"))
        details[case] = report.differences[0].details
    assert details["metadata"]["metadata"] == {"fields": {"Classifier": {"a": ["A", "B"], "b": ["A", "C"]}}}
    generator = {"a": "bdist_wheel (0.45.1)", "b": "bdist_wheel (0.46.0)"}
    assert details["wheel"]["wheel"] == {"fields": {"Generator": generator}}
    record = {"a": {"hash": "sha256=abc", "size": "6"}, "b": {"hash": "sha256=xyz", "size": "6"}}
    assert details["record"]["record"] == {"paths": {"demo/__init__.py": record}}


def make_tree(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "mod.py").write_text("x = 1\n")
    (root / "pkg" / "run.sh").write_text("#!/bin/sh\n")
    (root / "pkg" / "link").symlink_to("mod.py")
    for path in (root / "pkg" / "mod.py", root / "pkg" / "run.sh", root / "pkg", root):
        path.chmod(0o755 if path.is_dir() or path.name == "run.sh" else 0o644)
    return root


def settle(root: Path) -> None:
    """Every mtime (links' own too) set to EPOCH, as after an extraction with fixed times."""
    for path in [root, *root.rglob("*")]:
        os.utime(path, (EPOCH, EPOCH), follow_symlinks=False)


def relink(root: Path) -> None:
    (root / "pkg/link").unlink()
    (root / "pkg/link").symlink_to("run.sh")


def add_folder(root: Path) -> None:
    (root / "pkg/new").mkdir()
    (root / "pkg/new").chmod(0o755)


def link_to_folder(root: Path) -> None:
    (root / "pkg/link").unlink()
    (root / "pkg/link").mkdir()
    (root / "pkg/link").chmod(0o777)  # as a symbolic link's mode, so that only the type differs


DIRECTORY_CHANGES: dict[str, tuple[Callable[[Path], object], list[tuple[str | None, tuple[str, ...]]]]] = {
    "identical": (lambda root: None, []),
    "content": (lambda root: (root / "pkg/mod.py").write_text("x = 2\n"), [("pkg/mod.py", ("content",))]),
    "executable": (lambda root: (root / "pkg/run.sh").chmod(0o644), [("pkg/run.sh", ("executable",))]),
    "mode": (lambda root: (root / "pkg/mod.py").chmod(0o664), [("pkg/mod.py", ("mode",))]),
    "link-target": (relink, [("pkg/link", ("link-target",))]),
    "only-in-b": (add_folder, [("pkg/new", ("only-in-b",))]),
    "type": (link_to_folder, [("pkg/link", ("type",))]),
}


@pytest.mark.parametrize("change", sorted(DIRECTORY_CHANGES))
def test_directories_are_compared_file_by_file(tmp_path: Path, change: str) -> None:
    a, b = make_tree(tmp_path / "a"), make_tree(tmp_path / "b")
    alter, expected = DIRECTORY_CHANGES[change]
    alter(b)
    settle(a)
    settle(b)
    report = diff_paths(a, b)
    assert report.kind == "directory"
    assert summary(report) == expected


def test_directory_mtimes_are_compared(tmp_path: Path) -> None:
    a, b = make_tree(tmp_path / "a"), make_tree(tmp_path / "b")
    settle(a)
    settle(b)
    os.utime(b / "pkg" / "mod.py", (EPOCH, EPOCH + 1))
    assert summary(diff_paths(a, b)) == [("pkg/mod.py", ("mtime",))]


def test_mismatched_kinds_and_missing_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sdist, wheel = write_pair(tmp_path, gz(tar_bytes(TAR)), zip_bytes(ZIP), ".tar.gz")
    wheel = wheel.rename(wheel.with_name("demo-1.0-py3-none-any.whl"))
    assert main(["diff", str(sdist), str(wheel)]) == 2
    assert "cannot compare" in capsys.readouterr().err
    # a missing input is a usage error (exit 2), as in every command (issue 16); it was exit 3
    assert main(["diff", str(sdist), str(tmp_path / "missing.tar.gz")]) == 2
    assert capsys.readouterr().err.splitlines()[0].endswith("missing.tar.gz does not exist")


def test_diffoscope_missing_says_how_to_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = write_pair(tmp_path, zip_bytes(ZIP), zip_bytes(ZIP), ".whl")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert main(["diff", str(a), str(b), "--diffoscope"]) == 3
    assert "pip install diffoscope" in capsys.readouterr().err


def test_diffoscope_is_asked_for_a_text_report_of_the_two_paths(tmp_path: Path) -> None:
    a, b = tmp_path / "a.whl", tmp_path / "b.whl"
    runner = Recorder(lambda argv: Completed(argv, 1, b"--- a.whl\n+++ b.whl\n"))
    executable = find_diffoscope(runner.host())
    result = run_diffoscope(a, b, executable=executable, host=runner.host(), extra=("--max-report-size", "9"))
    assert runner.argvs() == [
        ("/fake/bin/diffoscope", "--no-progress", "--text", "-", "--max-report-size", "9", str(a), str(b))
    ]
    assert (result.exit_code, result.output) == (1, "--- a.whl\n+++ b.whl\n")
    failing = Recorder(lambda argv: Completed(argv, 2, b"", b"Traceback\nKeyError: 'x'\n"))
    with pytest.raises(ToolError, match="diffoscope failed with exit code 2: KeyError: 'x'"):
        run_diffoscope(a, b, executable=executable, host=failing.host())


def test_diffoscope_output_is_appended(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = write_pair(tmp_path, *CASES["zip-content"][:2], ".whl")
    assert main(["diff", str(a), str(b), "--json", "--diffoscope"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["diffoscope"]["exit_code"] == 1
    assert "demo/__init__.py" in document["diffoscope"]["output"]


# --------------------------------------------------------------------------- hostile archives


def signatures(data: bytes, signature: bytes) -> list[int]:
    found, at = [], data.find(signature)
    while at >= 0:
        found.append(at)
        at = data.find(signature, at + 1)
    return found


def with_field(data: bytes, at: int, value: int, size: int = 4) -> bytes:
    return data[:at] + value.to_bytes(size, "little") + data[at + size :]


def central_field(data: bytes, index: int, offset: int, value: int) -> bytes:
    """``data`` with a 4-byte field of the ``index``-th central directory header set to ``value``."""
    return with_field(data, signatures(data, b"PK\x01\x02")[index] + offset, value)


def encrypted(data: bytes) -> bytes:
    """Every member flagged as encrypted, in its local header (FLG at 6) and central header (at 8)."""
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        for at in signatures(data, signature):
            data = with_field(data, at + offset, data[at + offset] | 1, 1)
    return data


def corrupted(data: bytes) -> bytes:
    """The first member's compressed bytes with one byte flipped (its CRC and sizes unchanged)."""
    name_length, extra_length = struct.unpack("<HH", data[26:30])
    at = 30 + name_length + extra_length + 2
    return with_field(data, at, data[at] ^ 0xFF, 1)


def bad_tar(
    *members: tuple[tarfile.TarInfo, bytes], fmt: int = tarfile.PAX_FORMAT, encoding: str = "utf-8"
) -> bytes:
    return gz(tar_bytes(list(members), fmt, encoding))


def bad_zip(*members: tuple[zipfile.ZipInfo, bytes]) -> bytes:
    return zip_bytes(list(members))


def crc_zeroed(data: bytes) -> bytes:
    """A gzip stream whose trailer's CRC32 no longer matches its content."""
    return data[:-8] + bytes(4) + data[-4:]


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, bytes]:
    return t(name, kind=kind, linkname=target)


def pax_header(records: bytes, kind: bytes = tarfile.XHDTYPE) -> bytes:
    """A raw pax extended header ('x', or global 'g') holding ``records`` as they are, valid or not."""
    info = tarfile.TarInfo("././@PaxHeader")
    info.type, info.size = kind, len(records)
    return info.tobuf(tarfile.USTAR_FORMAT) + records + bytes(-len(records) % 512)


def pax_record(key: str, value: str) -> bytes:
    body = f" {key}={value}\n"
    length = len(body) + len(str(len(body)))
    return f"{length + (len(str(length)) > len(str(len(body))))}{body}".encode()


def pax_member(records: bytes) -> bytes:
    """A tar of one member, ``demo/a``, preceded by a pax header holding ``records``."""
    return pax_header(records) + tar_bytes([t("demo/a", b"x")], tarfile.USTAR_FORMAT)


CUT_GZIP = gz(tar_bytes([t("demo/a", os.urandom(1 << 16)), t("demo/big", os.urandom(1 << 18))]))[: 1 << 17]
CUT_TAR = tar_bytes([t("demo/a", b"x"), t("demo/big", bytes(10_000))])[:2048]
GARBAGE_HEADER = tar_bytes([t("demo/a", b"x")])[:1024] + b"\x01" * 512 + bytes(1024)
SMALL_ZIP = bad_zip(z("demo/a", b"x" * 100))
HOSTILE: dict[str, tuple[bytes, str]] = {
    "tar-parent": (bad_tar(t("../evil.py", b"x")), "'../evil.py'"),
    "tar-inner-parent": (bad_tar(t("demo/../../evil.py", b"x")), "demo/../../evil.py"),
    "tar-absolute": (bad_tar(t("/etc/passwd", b"x")), "'/etc/passwd'"),
    "tar-drive": (bad_tar(t("C:/windows/evil.py", b"x")), "C:/windows/evil.py"),
    "tar-backslash": (bad_tar(t("demo\\..\\evil.py", b"x")), "evil.py"),
    "tar-symlink-escape": (bad_tar(link("demo/link", "../../etc/passwd")), "'demo/link'"),
    "tar-symlink-absolute": (bad_tar(link("demo/link", "/etc/passwd")), "'demo/link'"),
    "tar-hardlink-escape": (bad_tar(link("demo/hard", "../etc/passwd", tarfile.LNKTYPE)), "'demo/hard'"),
    "tar-hardlink-missing": (bad_tar(link("demo/hard", "demo/x", tarfile.LNKTYPE)), "'demo/hard'"),
    "tar-duplicate": (bad_tar(t("demo/x", b"1"), t("demo/x", b"2")), "'demo/x'"),
    "tar-device": (bad_tar(t("demo/dev", kind=tarfile.CHRTYPE)), "'demo/dev'"),
    "tar-block-device": (bad_tar(t("demo/disk", kind=tarfile.BLKTYPE)), "'demo/disk'"),
    "tar-fifo": (bad_tar(t("demo/fifo", kind=tarfile.FIFOTYPE)), "'demo/fifo'"),
    "tar-sparse": (bad_tar(t("demo/sparse", kind=tarfile.GNUTYPE_SPARSE)), "'demo/sparse'"),
    "tar-pax-zero-length": (gz(pax_member(b"0 ")), "pax record"),
    "tar-pax-infinite-mtime": (gz(pax_member(b"18 mtime=1e400000\n")), "demo/a"),
    "tar-pax-negative-size": (gz(pax_member(b"12 size=-10\n")), "demo/a"),
    "tar-pax-flood": (
        gz(
            b"".join(pax_header(pax_record("comment", "x" * 500_000), tarfile.XGLTYPE) for _ in range(3))
            + bytes(1024)
        ),
        "extended headers",
    ),
    "tar-not-utf8": (
        bad_tar(t("demo/caf\xe9.txt", b"x"), fmt=tarfile.USTAR_FORMAT, encoding="latin-1"),
        "caf\\xe9",
    ),
    "gzip-truncated": (CUT_GZIP, "'demo/big'"),
    "gzip-corrupt-crc": (crc_zeroed(bad_tar(t("demo/a", b"x"))), "CRC-32 does not match"),
    "tar-truncated-member": (gz(CUT_TAR), "'demo/big'"),
    "tar-garbage-header": (gz(GARBAGE_HEADER), "'demo/a'"),
    "not-gzip": (b"this is not gzip at all", "not a gzip file"),
    "zip-parent": (bad_zip(z("../evil.py", b"x")), "'../evil.py'"),
    "zip-absolute": (bad_zip(z("/evil.py", b"x")), "'/evil.py'"),
    "zip-drive": (bad_zip(z("C:/evil.py", b"x")), "C:/evil.py"),
    "zip-backslash": (bad_zip(z("demo/x/evil.py", b"x")).replace(b"o/x/", b"o\\x\\"), "evil.py"),
    "zip-symlink-escape": (bad_zip(z("demo/link", b"../../etc/passwd", kind=stat.S_IFLNK)), "'demo/link'"),
    "zip-duplicate": (bad_zip(z("demo/x", b"1"), z("demo/x", b"2")), "'demo/x'"),
    "zip-encrypted": (encrypted(bad_zip(z("demo/secret.py", b"x"))), "'demo/secret.py'"),
    "zip-not-utf8": (
        bad_zip(z("demo/caf\xe9.py", b"x")).replace(b"caf\xc3\xa9", b"caf\xff\xfe"),
        "caf\\xff\\xfe",
    ),
    "zip-bomb-ratio": (bad_zip(z("demo/zeros.bin", bytes(20 << 20))), "'demo/zeros.bin'"),
    "zip-bomb-declared": (central_field(SMALL_ZIP, 0, 24, 0xF0000000), "'demo/a'"),
    "zip-shorter-than-declared": (central_field(SMALL_ZIP, 0, 24, 5000), "'demo/a'"),
    "zip-longer-than-declared": (central_field(SMALL_ZIP, 0, 24, 10), "'demo/a'"),
    "zip-overlap": (central_field(bad_zip(z("demo/a", b"x" * 100), z("demo/b")), 0, 20, 200), "'demo/a'"),
    "zip-truncated": (wheel()[:-30], "not a valid zip archive"),
    "zip-corrupt": (corrupted(bad_zip(z("demo/a", b"x = 1\n" * 50))), "'demo/a'"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archives_are_refused_naming_the_member(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad, member = HOSTILE[case]
    clean = (
        zip_bytes([z("demo/a", b"other")]) if case.startswith("zip") else gz(tar_bytes([t("demo/a", b"y")]))
    )
    suffix = ".whl" if case.startswith("zip") else ".tar.gz"
    a, b = write_pair(tmp_path, bad, clean, suffix)
    before = sorted(tmp_path.rglob("*"))
    assert main(["diff", str(a), str(b)]) == 1
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {a}: ")
    assert member in lines[0]
    assert sorted(tmp_path.rglob("*")) == before


def test_archive_size_limits_apply(tmp_path: Path) -> None:
    a, b = write_pair(tmp_path, zip_bytes(ZIP), zip_bytes(ZIP), ".whl")
    with pytest.raises(ArchiveError, match="zip bomb"):
        diff_paths(a, b, limits=Limits(max_total_size=100))
    with pytest.raises(ArchiveError, match="more than 2 members"):
        diff_paths(a, b, limits=Limits(max_members=2))
    a, b = write_pair(
        tmp_path, gz(tar_bytes([t("demo/zeros", bytes(1 << 20))])), gz(tar_bytes(TAR)), ".tar.gz"
    )
    with pytest.raises(ArchiveError, match="'demo/zeros' is larger than"):
        diff_paths(a, b, limits=Limits(max_member_size=1000))


def test_special_files_and_undecodable_names_in_directories(tmp_path: Path) -> None:
    a, b = make_tree(tmp_path / "a"), make_tree(tmp_path / "b")
    os.mkfifo(b / "pkg" / "fifo")
    with pytest.raises(ArchiveError, match="'pkg/fifo' is a device, FIFO"):
        diff_paths(a, b)
    (b / "pkg" / "fifo").unlink()
    (b / "pkg").joinpath(os.fsdecode(b"caf\xe9")).write_text("x")
    with pytest.raises(ArchiveError, match="not valid UTF-8"):
        diff_paths(a, b)
