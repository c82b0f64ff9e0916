"""Every supported backend builds the same bytes on two different "machines"."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.gitrepo import make_repo
from tests.projects import ALL, Project
from tests.reproduce import Build, build_on_two_machines

pytestmark = pytest.mark.network


def verify_record(wheel: Path) -> int:
    """Check every RECORD row of ``wheel`` against the member's bytes; return rows checked."""
    with zipfile.ZipFile(wheel) as archive:
        (record_name,) = [n for n in archive.namelist() if n.endswith(".dist-info/RECORD")]
        rows = list(csv.reader(io.StringIO(archive.read(record_name).decode())))
        checked = 0
        for path, digest, size in rows:
            if path == record_name:
                continue
            data = archive.read(path)
            algorithm, _, expected = digest.partition("=")
            actual = base64.urlsafe_b64encode(hashlib.new(algorithm, data).digest()).rstrip(b"=")
            assert actual.decode() == expected, path
            assert int(size) == len(data), path
            checked += 1
        assert sorted(archive.namelist()) == sorted(r[0] for r in rows)
    return checked


def install_and_import(artifact: Path, project: Project, tmp_path: Path) -> None:
    venv = tmp_path / f"venv-{artifact.suffix.strip('.')}"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", str(artifact)],
        capture_output=True, text=True, env=clean, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    package = project.dist
    code = (
        f"import importlib.resources as r, {package}; "
        f"print(r.files('{package}').joinpath('data.txt').read_text())"
    )
    result = subprocess.run([python, "-c", code], check=True, capture_output=True, text=True)
    assert result.stdout.strip() == "some package data"


@pytest.mark.parametrize("project", ALL, ids=[p.id for p in ALL])
def test_backend_builds_reproducibly(
    project: Project,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = tmp_path / "src" / project.id
    make_repo(repo, project.files, executables=project.executables, tag=project.tag)
    first, second = build_on_two_machines(repo, tmp_path, monkeypatch, capsys)

    sdist, wheel_name = sorted(first.digests())[::-1]
    assert sdist == f"{project.dist}-{project.version}.tar.gz"
    assert wheel_name.startswith(f"{project.dist}-{project.version}-")
    assert wheel_name.endswith("-none-any.whl")
    assert first.digests() == second.digests()
    assert first.record["subject"] == second.record["subject"]
    assert {s["name"]: s["digest"]["sha256"] for s in first.record["subject"]} == first.digests()

    wheel = first.artifact(".whl")
    assert verify_record(wheel) >= 3
    with zipfile.ZipFile(wheel) as archive:
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
    assert modes[f"{project.dist}/tool.sh"] == 0o100755
    assert modes[f"{project.dist}/__init__.py"] == 0o100644

    subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(first.artifact(".tar.gz"))],
        check=True, capture_output=True,
    )  # fmt: skip
    install_and_import(wheel, project, tmp_path)
    install_and_import(first.artifact(".tar.gz"), project, tmp_path)
    assert_record_replays(first)


def assert_record_replays(build: Build) -> None:
    """What a rebuilder needs is in the record: the commit, SOURCE_DATE_EPOCH, every package."""
    definition = build.record["predicate"]["buildDefinition"]
    internal = definition["internalParameters"]
    assert len(definition["externalParameters"]["source"]["commit"]) == 40
    assert internal["sourceDateEpoch"] == 1748779200  # 2025-06-01T12:00:00Z, the commit time
    assert internal["sourceDateEpochOrigin"] == "commit-time"
    packages = [d for d in definition["resolvedDependencies"] if d["uri"].startswith("pkg:pypi/")]
    assert packages
    for package in packages:
        assert len(package["digest"]["sha256"]) == 64
        assert package["annotations"]["filename"].endswith(".whl")
    names = {d["name"] for d in definition["resolvedDependencies"]}
    assert {"python", "zlib", "source"} <= names
