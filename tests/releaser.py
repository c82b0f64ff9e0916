"""A project "released" by the test: tagged in git, its sdist and wheel built by the backend itself
(pypa/build, SOURCE_DATE_EPOCH = the commit time), served by a real local index (pypiserver).
And the tampering a compromised release pipeline does to the sdist."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path

from tests.gitrepo import GIT_ENV, git


def build_release(
    repo: Path, dest: Path, *, env: Mapping[str, str] | None = None, isolation: bool = True
) -> tuple[Path, Path]:
    """The sdist and the wheel (built from the sdist) of ``repo``'s checkout, as a releaser runs
    ``python -m build`` with SOURCE_DATE_EPOCH set to the commit time."""
    epoch = git(repo, "show", "-s", "--format=%ct", "HEAD")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    environ |= GIT_ENV | {"SOURCE_DATE_EPOCH": epoch, "PYTHONDONTWRITEBYTECODE": "1"} | dict(env or {})
    command = [sys.executable, "-m", "build", "--outdir", str(dest), str(repo)]
    command += ["--installer", "uv"] if isolation else ["--no-isolation"]
    done = subprocess.run(command, env=environ, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (sdist,) = dest.glob("*.tar.gz")
    (wheel,) = dest.glob("*.whl")
    return sdist, wheel


def tamper_sdist(sdist: Path, change: Callable[[dict[str, tuple[tarfile.TarInfo, bytes]]], None]) -> None:
    """Rewrite ``sdist`` with ``change`` applied to its members (name -> (header, bytes)), keeping
    every other member's header as it was."""
    with tarfile.open(sdist, "r:gz") as tar:
        members = {
            m.name: (m, tar.extractfile(m).read() if m.isfile() else b"")  # type: ignore[union-attr]
            for m in tar.getmembers()
        }
    change(members)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members.values():
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    sdist.write_bytes(buffer.getvalue())


def append_line(member: str, line: str) -> Callable[[dict[str, tuple[tarfile.TarInfo, bytes]]], None]:
    def change(members: dict[str, tuple[tarfile.TarInfo, bytes]]) -> None:
        info, data = members[member]
        members[member] = (info, data + line.encode() + b"\n")

    return change


def add_file(member: str, content: bytes) -> Callable[[dict[str, tuple[tarfile.TarInfo, bytes]]], None]:
    def change(members: dict[str, tuple[tarfile.TarInfo, bytes]]) -> None:
        template = next(info for info, _ in members.values() if info.isfile())
        info = tarfile.TarInfo(member)
        info.mtime, info.mode, info.uid, info.gid = template.mtime, 0o644, template.uid, template.gid
        members[member] = (info, content)

    return change


def tag(repo: Path, name: str) -> None:
    dates = {"GIT_COMMITTER_DATE": "2025-06-01T12:00:00+00:00"}
    git(repo, "tag", "-a", name, "-m", name, env=dates)
