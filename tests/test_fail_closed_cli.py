"""The command line fails closed: hostile inputs get one line and the right exit code, never a
traceback; anything unexpected is exit 3 ("could not check"), never 1 ("found wanting")."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests import intree
from tests.clirun import run
from tests.gitrepo import git, make_repo


def test_a_deeply_nested_record_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = tmp_path / "deep.buildinfo.json"
    record.write_text("[" * 200_000 + "]" * 200_000)
    code, _, err = run(["rebuild", str(record)], capsys)
    assert code == 2
    assert "nested" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_fifo_given_as_a_record_is_refused_without_reading_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "record.json"
    os.mkfifo(fifo)  # reading it would block forever: nothing writes to it
    code, _, err = run(["rebuild", str(fifo)], capsys)
    assert code == 2
    assert "not a regular file" in err


def test_a_symlinked_lock_pointing_outside_the_repository_is_refused_and_not_echoed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("hunter2-the-secret-first-line\n")
    repo = tmp_path / "origin"
    make_repo(repo, intree.files())
    (repo / "build-requirements.lock").symlink_to(secret)
    git(repo, "add", "build-requirements.lock")
    git(repo, "commit", "--quiet", "-m", "lock")
    code, out, err = run(["build", str(repo), "--out", str(tmp_path / "dist")], capsys)
    assert code == 2
    assert "outside the project" in err
    assert "hunter2" not in out + err
    assert not (tmp_path / "dist").exists() or not any((tmp_path / "dist").iterdir())


def test_a_lock_that_is_not_a_lock_is_not_echoed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "origin"
    not_a_lock = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n"
    make_repo(repo, intree.files() | {"build-requirements.lock": not_a_lock})
    code, out, err = run(["build", str(repo), "--out", str(tmp_path / "dist"), "--json"], capsys)
    assert code == 2
    assert "BEGIN" not in out + err
    assert "b3Blbn" not in out + err
    assert json.loads(out)["ok"] is False


def test_anything_unexpected_is_exit_3_with_one_line_and_debug_shows_the_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import vouch.rebuild.replay  # noqa: PLC0415

    def explode(*_: object, **__: object) -> None:
        raise RuntimeError("a bug in vouch")

    monkeypatch.setattr(vouch.rebuild.replay, "rebuild_record", explode)
    record = tmp_path / "r.json"
    record.write_text("{}")
    code, out, err = run(["rebuild", str(record), "--json"], capsys)
    assert code == 3
    assert "unexpected error, nothing was verified: RuntimeError: a bug in vouch" in err
    assert "Traceback" not in err
    assert "--debug" in err
    assert json.loads(out) == {
        "ok": False,
        "error": {"type": "UnexpectedError",
                  "message": "unexpected error, nothing was verified: RuntimeError: a bug in vouch"},
    }  # fmt: skip
    code, _, err = run(["--debug", "rebuild", str(record)], capsys)
    assert code == 3
    assert "Traceback" in err
    assert "explode" in err


def test_a_fifo_given_as_an_artifact_is_refused_without_reading_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "demo-1.0.tar.gz"
    os.mkfifo(fifo)
    evidence = tmp_path / "demo-1.0.intoto.jsonl"
    evidence.write_text("")
    policy = tmp_path / "vouch.toml"
    policy.write_text(
        'threshold = 1\n[[signers]]\nname = "a"\n'
        'ssh-key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEDy2p2s0nyqh5jLDr1B1q4n7wfnnEFQm7DTtUmZsdMa a"\n'
    )
    code, _, err = run(["check", str(fifo), "--evidence", str(evidence), "--policy", str(policy)], capsys)
    assert code == 2  # refused up front; reading it would have blocked this test forever
    assert str(fifo) in err


def test_a_deeply_nested_runbook_state_is_refused_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    state.write_text('{"a":' * 100_000 + "1" + "}" * 100_000)
    code, _, err = run(["runbook", "run", "5.2.1", "--state", str(state), "--date", "2026-01-05",
                         "--set", "fingerprint=ABCD"], capsys)
    assert code == 2
    assert "nested" in err
    assert "Traceback" not in err


def test_a_reader_that_closes_the_pipe_early_gets_no_traceback(tmp_path: Path) -> None:
    import io  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415
    import tarfile  # noqa: PLC0415

    for name, content in (("a", b"x" * 10), ("b", b"y" * 10)):
        with tarfile.open(tmp_path / f"{name}.tar.gz", "w:gz") as archive:
            for i in range(300):
                data = content + str(i).encode()
                info = tarfile.TarInfo(f"demo-1.0/f{i}.txt")
                info.size, info.mtime = len(data), i
                archive.addfile(info, io.BytesIO(data))
    vouch = subprocess.Popen(
        [sys.executable, "-m", "vouch", "diff", str(tmp_path / "a.tar.gz"), str(tmp_path / "b.tar.gz"),
         "--json", "--all"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert vouch.stdout is not None
    assert vouch.stderr is not None
    vouch.stdout.read(100)
    vouch.stdout.close()  # as `| head -c 100` does
    err = vouch.stderr.read().decode()
    vouch.stderr.close()
    assert vouch.wait(timeout=60) == 3
    assert "Traceback" not in err
    assert "reader closed the pipe" in err
