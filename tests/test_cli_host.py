"""The command line makes one Host per run and hands it down: a caller's own host (here a recording
runner and a fixed clock) sees every process the command starts and dates what it writes."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from tests import intree
from tests.gitrepo import make_repo
from tests.recording import Recorder
from vouch.cli import main
from vouch.host import Host, run_process

WHEN = datetime.datetime(2031, 2, 3, 4, 5, 6, tzinfo=datetime.UTC)


def test_vouch_build_runs_every_process_and_reads_the_time_through_the_given_host(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_repo(tmp_path / "repo", intree.files())
    recorder = Recorder(through=run_process)
    code = main(["build", str(tmp_path / "repo"), "--out", str(tmp_path / "dist"), "--json"],
                host=Host(run=recorder, clock=lambda: WHEN))  # fmt: skip
    assert code == 0
    record = json.loads(capsys.readouterr().out)
    metadata = record["predicate"]["runDetails"]["metadata"]
    assert metadata["startedOn"] == metadata["finishedOn"] == "2031-02-03T04:05:06Z"
    programs = {Path(argv[0]).name for argv in recorder.argvs()}
    assert {"git", "uv", "python"} <= programs


def test_checksums_dated_today_take_the_date_from_the_given_hosts_clock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sdist = tmp_path / "demo-1.0.tar.gz"
    sdist.write_bytes(b"not really an sdist, but a file with a sha256")
    argv = ["checksums", str(sdist), "--date", "today", "--key-id", "0123456789ABCDEF", "--out", "-"]
    code = main(argv, host=Host(clock=lambda: WHEN))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "2031-02-03" in captured.err  # "the release date is today's date, 2031-02-03 (UTC)"
    assert "February 3, 2031" in captured.out or "2031-02-03" in captured.out
