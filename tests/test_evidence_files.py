"""Evidence and policy files on disk: concurrent `vouch sign` never loses a line, a BOM is
tolerated, an unreadable or over-long line is rejected alone, `policy add-signer` writes
atomically and never through a link out of the project, and no message quotes a key file."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.attack import COMMIT, Small, small_release
from tests.clirun import run
from tests.keys import ssh_key
from vouch.sign.evidence import MAX_LINE, append_evidence


@pytest.fixture
def small(tmp_path: Path) -> Small:
    return small_release(tmp_path)


def _append_many(evidence: str, worker: int, count: int) -> None:
    for index in range(count):
        # big lines: interleaved or lost writes would show
        append_evidence(Path(evidence), {"worker": worker, "index": index, "pad": "x" * 65536})


def test_concurrent_appends_never_lose_a_line(tmp_path: Path) -> None:
    evidence = tmp_path / "demo-1.0.intoto.jsonl"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(str(evidence), w, 25)) for w in range(8)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
        assert process.exitcode == 0
    lines = [json.loads(line) for line in evidence.read_text().splitlines()]
    assert sorted((line["worker"], line["index"]) for line in lines) == [
        (w, i) for w in range(8) for i in range(25)
    ]


def test_eight_concurrent_vouch_sign_processes_all_count(
    small: Small, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = [ssh_key(small.root / "team", f"s{index}") for index in range(8)]
    policy = small.root / "team.toml"
    policy.write_text("threshold = 8\n" + "".join(
        f'[[signers]]\nname = "{k.name}"\nssh-key = "{" ".join(Path(f"{k}.pub").read_text().split()[:2])}"\n'
        for k in keys
    ))  # fmt: skip
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vouch",
                "sign",
                *map(str, small.artifacts),
                "--key",
                f"ssh:{key}",
                "--source-commit",
                COMMIT,
                "--evidence",
                str(small.evidence),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for key in keys
    ]
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    code, report, _ = small.check(capsys, policy=policy)
    assert code == 0, report
    assert report["artifacts"][0]["vouched_by"] == [f"s{i}" for i in range(8)]


def test_a_bom_is_tolerated(small: Small, capsys: pytest.CaptureFixture[str]) -> None:
    small.sign(small.statement())
    small.evidence.write_bytes(b"\xef\xbb\xbf" + small.evidence.read_bytes())
    code, report, _ = small.check(capsys)
    assert code == 0, report


def test_bad_lines_are_rejected_alone(small: Small, capsys: pytest.CaptureFixture[str]) -> None:
    small.sign(small.statement())
    good = small.evidence.read_bytes()
    small.evidence.write_bytes(b"\xff\xfe{}\n" + b"[" + b" " * MAX_LINE + b"]\n" + good + b"{\x80}\n")
    code, report, _ = small.check(capsys)
    assert code == 0, report
    assert [(r["evidence"].rsplit(":", 1)[1], r["reason"]) for r in report["rejected"]] == [
        ("1", "unreadable: not UTF-8 (byte 0)"),
        ("2", f"unreadable: the line is longer than {MAX_LINE} bytes"),
        ("4", "unreadable: not UTF-8 (byte 1)"),
    ]
    assert report["artifacts"][0]["vouched_by"] == ["alice"]


def test_a_torn_last_line_does_not_swallow_the_next_append(
    small: Small, capsys: pytest.CaptureFixture[str]
) -> None:
    small.evidence.write_text('{"payload": "cut sho')
    small.sign(small.statement())
    code, report, _ = small.check(capsys)
    assert code == 0, report
    assert len(report["rejected"]) == 1


def test_a_fifo_as_evidence_is_refused_not_read(small: Small, capsys: pytest.CaptureFixture[str]) -> None:
    os.mkfifo(small.evidence)
    code, _, err = small.check(capsys)
    assert code == 2
    assert "is not a regular file" in err


def test_add_signer_writes_no_probe_and_follows_no_link(
    small: Small, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = small.policy()
    outside = small.root / "outside.txt"
    outside.write_text("do not touch\n")
    (small.root / ".vouch.toml.probe").symlink_to(outside)
    code, _, err = run(["policy", "add-signer", "--policy", str(policy), "--name", "mallory",
                        "--ssh-key-file", f"{small.keys['mallory']}.pub"], capsys)  # fmt: skip
    assert code == 0, err
    assert outside.read_text() == "do not touch\n"
    assert "mallory" in policy.read_text()
    assert sorted(p.name for p in small.root.iterdir() if p.name.startswith(".")) == [".vouch.toml.probe"]


def test_a_policy_linking_out_of_the_project_is_refused(
    small: Small, capsys: pytest.CaptureFixture[str]
) -> None:
    project = small.root / "project"
    project.mkdir()
    elsewhere = small.policy()
    text = elsewhere.read_text()
    (project / "vouch.toml").symlink_to(elsewhere)
    code, _, err = run(["policy", "add-signer", "--policy", str(project / "vouch.toml"), "--name", "mallory",
                        "--ssh-key-file", f"{small.keys['mallory']}.pub"], capsys)  # fmt: skip
    assert code == 2
    assert "points outside" in err
    assert elsewhere.read_text() == text
    code, _, err = run(["policy", "show", "--policy", str(project / "vouch.toml")], capsys)
    assert code == 2
    assert "points outside" in err


def test_a_policy_link_inside_the_project_is_written_through(
    small: Small, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = small.policy()
    (small.root / "policy").mkdir()
    real = policy.rename(small.root / "policy" / "team.toml")
    policy.symlink_to(real)
    code, _, err = run(["policy", "add-signer", "--policy", str(policy), "--name", "mallory",
                        "--ssh-key-file", f"{small.keys['mallory']}.pub"], capsys)  # fmt: skip
    assert code == 0, err
    assert policy.is_symlink()
    assert "mallory" in real.read_text()


@pytest.mark.parametrize("what", ["private", "binary", "two-lines"])
def test_a_key_file_that_is_no_public_key_is_not_quoted(
    what: str, small: Small, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = small.policy()
    before = policy.read_text()
    key_file = small.keys["mallory"]
    if what == "binary":
        key_file = small.root / "blob"
        key_file.write_bytes(os.urandom(300) + b"\n")
    elif what == "two-lines":
        key_file = small.root / "two"
        key_file.write_text("ssh-ed25519 AAAA x\nsecret line\n")
    code, _, err = run(["policy", "add-signer", "--policy", str(policy), "--name", "mallory",
                        "--ssh-key-file", str(key_file)], capsys)  # fmt: skip
    assert code == 2
    assert "is not an SSH public key" in err
    assert "PRIVATE" not in err
    assert "secret" not in err
    secret_body = small.keys["mallory"].read_text().splitlines()[1]
    assert secret_body[:20] not in err
    assert policy.read_text() == before
