"""Turning a build's checkout into its sdist's tree in place gives what extraction gives.

Each test builds a folder as a backend might leave it (extra files, changed files, wrong modes,
links planted where members go, hard links, a FIFO) and checks that ``adopt_tree`` makes it exactly
the tree ``extract_sdist`` writes for the same members: names, kinds, bytes, modes, link targets
and mtimes; and that nothing outside the folder is read through a link or changed.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from vouch.archive.adopt import adopt_tree
from vouch.archive.normalize import canonical_members
from vouch.archive.safe import Member, MemberType, extract_sdist
from vouch.errors import ArchiveError

SDE = 1_700_000_000
TOP = "demo-1.0"


def members(*extra: Member) -> list[Member]:
    """Canonical sdist members, as the build hands them over."""
    raw = [
        Member(TOP, MemberType.DIR, 0o755, SDE),
        Member(f"{TOP}/PKG-INFO", MemberType.FILE, 0o644, SDE + 50, data=b"Name: demo\nVersion: 1.0\n"),
        Member(f"{TOP}/setup.cfg", MemberType.FILE, 0o644, SDE, data=b"[egg_info]\ntag_build =\n"),
        Member(f"{TOP}/run.sh", MemberType.FILE, 0o755, SDE, data=b"#!/bin/sh\n"),
        Member(f"{TOP}/pkg", MemberType.DIR, 0o755, SDE),
        Member(f"{TOP}/pkg/__init__.py", MemberType.FILE, 0o644, SDE, data=b"x = 1\n"),
        Member(f"{TOP}/pkg/same.py", MemberType.FILE, 0o644, SDE, data=b"same\n"),
        Member(f"{TOP}/pkg/hard.py", MemberType.FILE, 0o644, SDE, data=b"hard\n"),
        Member(f"{TOP}/pkg/link.py", MemberType.SYMLINK, 0o777, SDE, linkname="same.py"),
        Member(f"{TOP}/pkg/relink.py", MemberType.SYMLINK, 0o777, SDE, linkname="same.py"),
        Member(f"{TOP}/pkg/data/deep/file.txt", MemberType.FILE, 0o644, SDE, data=b"deep\n"),
        Member(f"{TOP}/demo.egg-info/SOURCES.txt", MemberType.FILE, 0o644, SDE, data=b"PKG-INFO\n"),
        Member(f"{TOP}/was_a_dir.txt", MemberType.FILE, 0o644, SDE, data=b"file now\n"),
        Member(f"{TOP}/was_a_link", MemberType.DIR, 0o755, SDE),
        Member(f"{TOP}/was_a_link/inside.txt", MemberType.FILE, 0o644, SDE, data=b"inside\n"),
        *extra,
    ]
    return canonical_members(raw, SDE)


def snapshot(top: Path, named: frozenset[str] = frozenset()) -> dict[str, tuple[str, int, bytes | str, int]]:
    """Every entry under ``top``: kind, mode, content or link target, and mtime (a folder's only
    when it is in ``named``, a member: extraction leaves the others' mtime to the clock)."""
    found: dict[str, tuple[str, int, bytes | str, int]] = {}
    for folder, dirs, files in os.walk(top):
        for name in [*dirs, *files]:
            path = Path(folder, name)
            info = path.lstat()
            rel = path.relative_to(top).as_posix()
            if stat.S_ISLNK(info.st_mode):
                found[rel] = ("link", 0, path.readlink().as_posix(), 0)
            elif stat.S_ISDIR(info.st_mode):
                mtime = int(info.st_mtime) if rel in named else 0
                found[rel] = ("dir", stat.S_IMODE(info.st_mode), "", mtime)
            else:
                found[rel] = ("file", stat.S_IMODE(info.st_mode), path.read_bytes(), int(info.st_mtime))
    return found


NAMED = frozenset(m.name.removeprefix(f"{TOP}/") for m in members() if m.type is MemberType.DIR)


def messy_checkout(root: Path, outside: Path) -> None:
    """A checkout after the backend built the sdist from it: most members there, some not."""
    (root / "pkg" / "data").mkdir(parents=True)
    (root / ".git" / "objects").mkdir(parents=True)
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / "setup.cfg").write_text("[metadata]\n")  # the backend rewrote it for the sdist
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o644)  # the executable bit lost
    (root / "pkg" / "__init__.py").write_text("x = 1\n")
    (root / "pkg" / "__init__.py").chmod(0o666)
    (root / "pkg" / "same.py").write_text("same\n")
    os.utime(root / "pkg" / "same.py", (SDE, SDE))
    (root / "pkg" / "hard.py").write_text("hard\n")
    os.link(root / "pkg" / "hard.py", outside / "hard-twin")  # same bytes, but shared with outside
    (root / "pkg" / "link.py").symlink_to("same.py")
    (root / "pkg" / "relink.py").symlink_to("__init__.py")
    (root / "pkg" / "data" / "deep").symlink_to(outside)  # a folder member replaced by a link out
    (root / "demo.egg-info").mkdir()
    (root / "demo.egg-info" / "SOURCES.txt").write_text("PKG-INFO\n")
    (root / "demo.egg-info" / "extra.txt").write_text("not in the sdist\n")
    (root / "was_a_dir.txt").mkdir()
    (root / "was_a_dir.txt" / "x").write_text("x\n")
    (root / "was_a_link").symlink_to(outside)
    (root / "tests").mkdir()
    (root / "tests" / "test_it.py").write_text("left out of the sdist\n")
    os.mkfifo(root / "PKG-INFO")  # a FIFO where a member file goes: never opened for reading


def test_a_messy_checkout_becomes_exactly_the_extracted_sdist(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "file.txt").write_text("do not touch\n")
    checkout = tmp_path / "src"
    messy_checkout(checkout, outside)
    outside_before = snapshot(outside)
    wanted = members()
    old_mask = os.umask(0o022)
    try:
        expected = snapshot(extract_sdist(wanted, tmp_path / "extracted"), NAMED)
        adopted = adopt_tree(wanted, checkout, tmp_path / "sdist")
    finally:
        os.umask(old_mask)
    assert adopted == tmp_path / "sdist" / TOP
    assert not checkout.exists()
    assert snapshot(adopted, NAMED) == expected
    assert snapshot(outside) == outside_before
    assert (outside / "hard-twin").read_text() == "hard\n"
    assert (adopted / "pkg" / "hard.py").stat().st_nlink == 1


def test_modes_do_not_depend_on_the_umask(tmp_path: Path) -> None:
    checkout = tmp_path / "src"
    checkout.mkdir()
    (checkout / "pkg").mkdir()
    wanted = members()
    old_mask = os.umask(0o077)
    try:
        adopted = adopt_tree(wanted, checkout, tmp_path / "sdist")
    finally:
        os.umask(old_mask)
    modes = {name: entry[1] for name, entry in snapshot(adopted).items() if entry[0] != "link"}
    assert modes["run.sh"] == 0o755
    assert modes["pkg"] == 0o755
    assert modes["pkg/data/deep"] == 0o755
    assert {mode for name, mode in modes.items() if name.endswith(".py")} == {0o644}


def test_a_folder_that_cannot_be_moved_is_extracted_instead(tmp_path: Path) -> None:
    wanted = members()
    expected = snapshot(extract_sdist(wanted, tmp_path / "extracted"), NAMED)
    adopted = adopt_tree(wanted, tmp_path / "missing", tmp_path / "sdist")
    assert snapshot(adopted, NAMED) == expected


def test_unsafe_members_are_refused_before_anything_moves(tmp_path: Path) -> None:
    checkout = tmp_path / "src"
    checkout.mkdir()
    (checkout / "keep.txt").write_text("mine\n")
    escape = Member(f"{TOP}/pkg/up", MemberType.SYMLINK, 0o777, SDE, linkname="../../..")
    with pytest.raises(ArchiveError, match="outside"):
        adopt_tree(members(escape), checkout, tmp_path / "sdist")
    two_tops = [*members(), Member("other/file", MemberType.FILE, 0o644, SDE, data=b"")]
    with pytest.raises(ArchiveError, match="2 top-level entries"):
        adopt_tree(two_tops, checkout, tmp_path / "sdist")
    assert (checkout / "keep.txt").read_text() == "mine\n"
    assert not (tmp_path / "sdist").exists()


def test_a_checkout_that_cannot_be_cleaned_is_set_aside_and_the_sdist_extracted(tmp_path: Path) -> None:
    checkout = tmp_path / "src"
    (checkout / "build" / "stuck").mkdir(parents=True)
    stuck = checkout / "build" / "stuck" / "file"
    stuck.write_text("the backend left this\n")
    # an entry that cannot be removed: an immutable file for root, a read-only folder for others
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(stuck)], capture_output=True, check=False).returncode:
            pytest.skip("root, and chattr +i does not work on this file system")
    else:
        stuck.parent.chmod(0o500)
    try:
        wanted = members()
        expected = snapshot(extract_sdist(wanted, tmp_path / "extracted"), NAMED)
        adopted = adopt_tree(wanted, checkout, tmp_path / "sdist")
        assert adopted == tmp_path / "sdist" / TOP
        assert snapshot(adopted, NAMED) == expected
        assert (tmp_path / "sdist.discarded" / TOP / "build" / "stuck" / "file").exists()
    finally:
        held = tmp_path / "sdist.discarded" / TOP / "build" / "stuck"
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(held / "file")], capture_output=True, check=False)
        else:
            held.chmod(0o700)
