"""`vouch build` end to end without the network (an in-tree backend), and every bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import intree
from tests.clirun import run
from tests.gitrepo import git, make_repo
from tests.reproduce import build_on_two_machines
from vouch.archive.safe import read_tar_gz, read_zip
from vouch.builder.record import BuildRecord
from vouch.cli import main


def test_sloppy_backend_is_made_reproducible(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, intree.files())
    first, second = build_on_two_machines(repo, tmp_path, monkeypatch, capsys)
    assert first.digests() == second.digests()
    assert sorted(first.digests()) == ["demo_intree-1.0-py3-none-any.whl", "demo_intree-1.0.tar.gz"]
    members = read_tar_gz(first.artifact(".tar.gz").read_bytes())
    assert {(m.uid, m.uname) for m in members} == {(0, "")}
    wheel = read_zip(first.artifact(".whl").read_bytes())
    assert wheel[-1].name == "demo_intree-1.0.dist-info/RECORD"


def test_record_round_trips_and_names_the_commit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    commit = make_repo(repo, intree.files())
    code, out, err = run(["build", str(repo), "--out", str(tmp_path / "dist"), "--json"], capsys)
    assert code == 0, err
    document = json.loads(out)
    record = BuildRecord.from_statement(document)
    assert record.source.commit == commit
    assert record.source.repository == str(repo)
    assert record.to_statement() == document
    on_disk = json.loads((tmp_path / "dist" / "demo_intree-1.0.buildinfo.json").read_text())
    assert on_disk == document


def test_table_output_lists_artifacts_with_full_digests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, intree.files())
    code, out, _ = run(["build", str(repo), "--out", str(tmp_path / "dist")], capsys)
    assert code == 0
    record = json.loads((tmp_path / "dist" / "demo_intree-1.0.buildinfo.json").read_text())
    for subject in record["subject"]:
        assert subject["name"] in out
        assert subject["digest"]["sha256"] in out


def test_source_date_epoch_argument_is_used_and_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, intree.files())
    code, out, _ = run(
        [
            "build",
            str(repo),
            "--out",
            str(tmp_path / "d"),
            "--source-date-epoch",
            "1700000000",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    internal = json.loads(out)["predicate"]["buildDefinition"]["internalParameters"]
    assert (internal["sourceDateEpoch"], internal["sourceDateEpochOrigin"]) == (
        1700000000,
        "argument",
    )
    assert {m.mtime for m in read_tar_gz((tmp_path / "d" / "demo_intree-1.0.tar.gz").read_bytes())} == {
        1700000000
    }


def test_dirty_tree_warns_and_builds_the_commit_not_the_working_tree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, intree.files())
    (repo / "demo_intree" / "__init__.py").write_text("X = 'uncommitted'\n")
    code, _, err = run(["build", str(repo), "--out", str(tmp_path / "d")], capsys)
    assert code == 0
    assert "uncommitted changes" in err
    members = {
        m.name: m for m in read_zip((tmp_path / "d" / "demo_intree-1.0-py3-none-any.whl").read_bytes())
    }
    assert members["demo_intree/__init__.py"].data == b"X = 1\n"


def test_older_revision_and_subdir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    first = make_repo(repo, {f"pkg/{name}": text for name, text in intree.files().items()})
    (repo / "pkg" / "demo_intree" / "__init__.py").write_text("X = 2\n")
    git(repo, "commit", "--quiet", "-am", "second")
    code, out, err = run(
        [
            "build",
            str(repo),
            "--rev",
            first[:10],
            "--subdir",
            "pkg",
            "--out",
            str(tmp_path / "d"),
            "--json",
        ],
        capsys,
    )
    assert code == 0, err
    source = json.loads(out)["predicate"]["buildDefinition"]["externalParameters"]["source"]
    assert (source["commit"], source["subdir"], source["ref"]) == (first, "pkg", first[:10])
    members = {
        m.name: m for m in read_zip((tmp_path / "d" / "demo_intree-1.0-py3-none-any.whl").read_bytes())
    }
    assert members["demo_intree/__init__.py"].data == b"X = 1\n"


def test_credentials_in_the_remote_url_are_not_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, intree.files())
    git(repo, "remote", "add", "origin", "https://releaser:s3cr3t-token@example.org/demo.git")
    code, out, err = run(["build", str(repo), "--out", str(tmp_path / "d"), "--json"], capsys)
    assert code == 0
    assert "s3cr3t-token" not in out + err
    assert "s3cr3t-token" not in (tmp_path / "d" / "demo_intree-1.0.buildinfo.json").read_text()
    source = json.loads(out)["predicate"]["buildDefinition"]["externalParameters"]["source"]
    assert source["repository"] == "https://example.org/demo.git"


# --- bad input: one clear line, the documented exit code, nothing written -------------------


def assert_nothing_written(out: Path) -> None:
    assert not out.exists() or list(out.iterdir()) == []


def test_not_a_git_repository(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "pyproject.toml").write_text(intree.PYPROJECT)
    code, _, err = run(["build", str(tmp_path / "plain"), "--out", str(tmp_path / "d")], capsys)
    assert code == 2
    assert "is not a git repository" in err
    assert_nothing_written(tmp_path / "d")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rev", "v9.9.9"], "unknown revision 'v9.9.9'"),
        (["--rev=--upload-pack=evil"], "unknown revision"),
        (["--subdir", "nowhere"], "directory 'nowhere' does not exist"),
        (["--subdir", "../outside"], "must be a relative path"),
    ],
)
def test_bad_revision_or_subdir(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, intree.files())
    code, _, err = run(["build", str(repo), "--out", str(tmp_path / "d"), *args], capsys)
    assert code == 2
    assert message in err
    assert_nothing_written(tmp_path / "d")


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"setup.py": "from setuptools import setup\nsetup()\n"}, "no pyproject.toml"),
        ({"pyproject.toml": "[project]\nname = 'x'\n"}, "no [build-system] table"),
        ({"pyproject.toml": "[build-system\nrequires = [\n"}, "not valid TOML"),
        ({"pyproject.toml": "[build-system]\nrequires = ['setuptools']\n"}, "no build-backend"),
    ],
)
def test_unbuildable_project_configuration(
    files: dict[str, str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, files)
    code, _, err = run(["build", str(repo), "--out", str(tmp_path / "d")], capsys)
    assert code == 2
    assert message in err
    assert_nothing_written(tmp_path / "d")


def test_backend_failure_shows_its_last_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, intree.files("fail"))
    code, _, err = run(["build", str(repo), "--out", str(tmp_path / "d")], capsys)
    assert code == 1
    assert "the compiler exploded" in err
    assert "failed to build the sdist" in err
    assert_nothing_written(tmp_path / "d")


def test_a_backend_warning_is_the_backend_s_output_not_an_error_of_vouch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # pyproject_hooks re-raises the backend's warnings in vouch's process; under `-W error` (this
    # suite's setting) they were exceptions, and a build that python -m build completes failed
    repo = tmp_path / "repo"
    make_repo(repo, intree.files("warn"))
    code, _, err = run(["build", str(repo), "--out", str(tmp_path / "d")], capsys)
    assert code == 0, err
    assert "the backend warns" not in err
    assert sorted(p.name for p in (tmp_path / "d").glob("demo_intree-1.0*")) == [
        "demo_intree-1.0-py3-none-any.whl", "demo_intree-1.0.build-requirements.lock",
        "demo_intree-1.0.buildinfo.json", "demo_intree-1.0.tar.gz"]  # fmt: skip


@pytest.mark.parametrize(("mode", "message"), [("garbage", "gzip"), ("escape", "'..'")])
def test_malformed_archive_from_backend(
    mode: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, intree.files(mode))
    code, _, err = run(["build", str(repo), "--out", str(tmp_path / "d")], capsys)
    assert code == 1
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert_nothing_written(tmp_path / "d")


def test_unwritable_output_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, intree.files())
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    code, _, err = run(["build", str(repo), "--out", str(blocker / "dist")], capsys)
    assert code == 3
    assert "cannot write to the output folder" in err
    assert blocker.read_text() == "not a directory"


SETUPTOOLS_PROJECT = {
    "pyproject.toml": '[build-system]\nrequires = ["setuptools>=70"]\n'
    'build-backend = "setuptools.build_meta"\n[project]\nname = "x"\nversion = "1"\n',
}


@pytest.mark.parametrize(
    ("lock", "message"),
    [
        (
            "setuptools==60.0.0 --hash=sha256:" + "a" * 64 + "\n",
            "but the build requires setuptools>=70",
        ),
        ("wheel==0.45.0 --hash=sha256:" + "a" * 64 + "\n", "does not pin setuptools"),
        ("setuptools>=70\n", "expected 'name==version --hash=sha256:...'"),
        ("setuptools==80.0.0 --hash=md5:abcd\n", "only sha256 hashes"),
    ],
)
def test_lock_that_does_not_match_the_build_requirements(
    lock: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, SETUPTOOLS_PROJECT)
    lock_file = tmp_path / "build.lock"
    lock_file.write_text(lock)
    code, out, err = run(
        [
            "build",
            str(repo),
            "--out",
            str(tmp_path / "d"),
            "--build-lock",
            str(lock_file),
            "--json",
        ],
        capsys,
    )
    assert code == 2
    assert message in err
    assert json.loads(out)["ok"] is False
    assert lock_file.read_text() == lock
    assert_nothing_written(tmp_path / "d")


def test_lock_committed_at_the_revision_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    stale = "setuptools==60.0.0 --hash=sha256:" + "b" * 64 + "\n"
    make_repo(repo, {**SETUPTOOLS_PROJECT, "build-requirements.lock": stale})
    code, _, err = run(["build", str(repo), "--out", str(tmp_path / "d")], capsys)
    assert code == 2
    assert "build-requirements.lock at the revision pins setuptools==60.0.0" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--source-date-epoch", "yesterday"]) == 2
    assert main(["no-such-command"]) == 2


def test_vouch_runs_as_a_module(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "vouch", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("vouch ")
