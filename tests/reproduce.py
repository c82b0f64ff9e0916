"""Two builds of one revision as two different machines would run them."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.gitrepo import GIT_ENV
from vouch.cli import main


@dataclass(frozen=True)
class Build:
    out: Path
    record: dict[str, Any]

    def digests(self) -> dict[str, str]:
        return {
            path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(self.out.iterdir())
            if path.name.endswith((".tar.gz", ".whl"))
        }

    def artifact(self, suffix: str) -> Path:
        (path,) = [p for p in self.out.iterdir() if p.name.endswith(suffix)]
        return path


def run_build(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    code = main(["build", *args, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    record: dict[str, Any] = json.loads(captured.out)
    return record


def second_machine_clone(origin: Path, dest: Path) -> None:
    """Clone with umask 002 (group-writable files) and scramble the working tree's mtimes."""
    old = os.umask(0o002)
    try:
        subprocess.run(
            ["git", "clone", "--quiet", str(origin), str(dest)],
            env=os.environ | GIT_ENV, check=True, capture_output=True,
        )  # fmt: skip
    finally:
        os.umask(old)
    rng = random.Random(7)
    for path in dest.rglob("*"):
        if ".git" not in path.parts and path.is_file():
            stamp = rng.randint(1_000_000_000, 1_900_000_000)
            os.utime(path, (stamp, stamp))


def build_on_two_machines(
    repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    extra_args: tuple[str, ...] = (),
) -> tuple[Build, Build]:
    """Build ``repo`` at HEAD, then a clone of it at another path, with another umask, TZ,
    locale, working-tree mtimes and hostile PIP_/UV_ settings, at least 2 s later."""
    clone = tmp_path / "elsewhere" / "another-checkout"
    second_machine_clone(repo, clone)
    out_a, out_b = tmp_path / "out-a", tmp_path / "out-b"
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    started = time.monotonic()
    old = os.umask(0o022)
    try:
        first = run_build([str(repo), "--out", str(out_a), *extra_args], capsys)
    finally:
        os.umask(old)
    time.sleep(max(0.0, 2.0 - (time.monotonic() - started)))
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    monkeypatch.setenv("LC_ALL", "de_DE.ISO-8859-1")
    monkeypatch.setenv("LANG", "de_DE.ISO-8859-1")
    monkeypatch.setenv("PYTHONHASHSEED", "12345")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple/")
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple/")
    monkeypatch.setenv("UV_EXCLUDE_NEWER", "2001-01-01T00:00:00Z")
    old = os.umask(0o002)
    try:
        second = run_build([str(clone), "--out", str(out_b), *extra_args], capsys)
    finally:
        os.umask(old)
    return Build(out_a, first), Build(out_b, second)
