"""`vouch publish` against a real pypiserver: the gate, idempotence, conflicts, interruptions."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import intree
from tests.gitrepo import make_repo
from tests.keys import ssh_key
from tests.localindex import PASSWORD, USER, LocalIndex
from vouch.cli import main
from vouch.errors import CheckError
from vouch.publish.gate import PublishOptions, publish, twine_upload

SDIST, WHEEL = "demo_intree-1.0.tar.gz", "demo_intree-1.0-py3-none-any.whl"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalIndex]:
    server = LocalIndex(tmp_path / "index")
    server.start()
    monkeypatch.setenv("TWINE_USERNAME", USER)
    monkeypatch.setenv("TWINE_PASSWORD", PASSWORD)
    yield server
    server.stop()


@pytest.fixture
def release(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A built release in tmp_path/dist, and a policy trusting alice and carol (threshold 2)."""
    make_repo(tmp_path / "repo", intree.files())
    assert run(["build", str(tmp_path / "repo"), "--out", str(tmp_path / "dist")], capsys)[0] == 0
    keys = [ssh_key(tmp_path / "keys", name) for name in ("alice", "carol")]
    lines = {key.name: " ".join(key.with_name(key.name + ".pub").read_text().split()[:2]) for key in keys}
    signers = "".join(f'[[signers]]\nname = "{name}"\nssh-key = "{line}"\n' for name, line in lines.items())
    (tmp_path / "vouch.toml").write_text(f"threshold = 2\n{signers}")
    return tmp_path


def vouch_for(release: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("alice", "carol"):
        record = release / "dist" / "demo_intree-1.0.buildinfo.json"
        assert run(["sign", str(record), "--key", f"ssh:{release / 'keys' / name}"], capsys)[0] == 0


def publish_args(release: Path, index: LocalIndex) -> list[str]:
    return ["publish", str(release / "dist" / SDIST), str(release / "dist" / WHEEL),
            "--repository", index.upload_url, "--policy", str(release / "vouch.toml"), "--json"]  # fmt: skip


def test_unvouched_artifacts_are_refused_and_the_index_stays_empty(
    release: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    (release / "dist" / "demo_intree-1.0.intoto.jsonl").write_text("")
    code, out, _ = run(publish_args(release, index), capsys)
    assert code == 1
    assert json.loads(out)["check"]["passed"] is False
    assert list(index.packages.iterdir()) == []


def test_vouched_release_uploads_reads_back_installs_and_reruns_idempotently(
    release: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    vouch_for(release, capsys)
    code, out, err = run(publish_args(release, index), capsys)
    assert code == 0, err
    report = json.loads(out)
    assert [(f["filename"], f["action"]) for f in report["files"]] == [
        (SDIST, "uploaded"),
        (WHEEL, "uploaded"),
    ]
    assert all(f["served_sha256"] == f["sha256"] for f in report["files"])
    assert sorted(p.name for p in index.packages.iterdir()) == [WHEEL, SDIST]
    assert PASSWORD not in out + err

    target = tmp_path / "installed"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-cache-dir", "--index-url", index.simple_url,
         "--target", str(target), "demo-intree==1.0"],
        check=True, capture_output=True,
    )  # fmt: skip
    assert (target / "demo_intree" / "__init__.py").read_text() == "X = 1\n"

    code, out, _ = run(publish_args(release, index), capsys)
    assert code == 0
    assert {f["action"] for f in json.loads(out)["files"]} == {"skipped: already on the index"}


def test_another_file_of_the_same_name_on_the_index_is_an_error(
    release: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    vouch_for(release, capsys)
    (index.packages / SDIST).write_bytes(b"someone else's sdist")
    code, _, err = run(publish_args(release, index), capsys)
    assert code == 1
    assert f"already serves {SDIST}" in err
    assert sorted(p.name for p in index.packages.iterdir()) == [SDIST]


def test_dry_run_uploads_nothing(
    release: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    vouch_for(release, capsys)
    code, out, _ = run([*publish_args(release, index), "--dry-run"], capsys)
    assert code == 0
    assert {f["action"] for f in json.loads(out)["files"]} == {"would upload"}
    assert list(index.packages.iterdir()) == []


def test_server_dies_after_the_first_file_and_a_rerun_completes(
    release: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    vouch_for(release, capsys)
    options = PublishOptions(
        artifacts=(release / "dist" / SDIST, release / "dist" / WHEEL),
        repository=index.upload_url,
        evidence=(release / "dist" / "demo_intree-1.0.intoto.jsonl",),
        policy=release / "vouch.toml",
    )

    def upload_then_die(repository: str, dist: Path, attestations: bool) -> None:
        twine_upload(repository, dist, attestations)
        index.stop()

    with pytest.raises(CheckError, match=f"uploading {WHEEL} .* failed"):
        publish(options, uploader=upload_then_die)
    assert [p.name for p in index.packages.iterdir()] == [SDIST]
    index.start()
    code, out, err = run(publish_args(release, index), capsys)
    assert code == 0, err
    actions = [f["action"] for f in json.loads(out)["files"]]
    assert actions == ["skipped: already on the index", "uploaded"]
    assert sorted(p.name for p in index.packages.iterdir()) == [WHEEL, SDIST]
