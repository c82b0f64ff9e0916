"""The builder's side effects go through the host it is given: its runner and its clock."""

from __future__ import annotations

import datetime
from pathlib import Path

from tests import intree
from tests.gitrepo import make_repo
from tests.recording import Recorder
from vouch.builder.builder import BuildOptions, build
from vouch.host import Host, run_process

WHEN = datetime.datetime(2031, 2, 3, 4, 5, 6, tzinfo=datetime.UTC)


def test_every_process_of_a_build_runs_through_the_host_and_its_clock_dates_the_record(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, intree.files())
    runner = Recorder(through=run_process)
    result = build(
        BuildOptions(source=repo, out=tmp_path / "dist"), host=Host(run=runner, clock=lambda: WHEN)
    )
    assert result.record.started_on == result.record.finished_on == "2031-02-03T04:05:06Z"
    programs = [Path(argv[0]).name for argv in runner.argvs()]
    assert programs[0] == "git"
    assert {"git", "uv", "python"} <= set(programs)
    pythons = [command for command in runner.argvs() if Path(command[0]).name == "python"]
    hooks, others = [], []
    for command in pythons:  # a hook: [python, (transport.py,) _in_process.py, hook, control folder]
        script = command[2] if command[1].endswith("transport.py") else command[1]
        if script.endswith("_in_process.py"):
            hooks.append((Path(command[1]).name, command[-2]))
        else:
            others.append(tuple(command[1:3]))
    # the build hooks through the script that has their archives written uncompressed
    assert hooks == [
        ("_in_process.py", "get_requires_for_build_sdist"), ("transport.py", "build_sdist"),
        ("_in_process.py", "get_requires_for_build_wheel"), ("transport.py", "build_wheel"),
    ]  # fmt: skip
    # and the build environment's modules compiled once, beside the hooks
    assert others == [("-m", "compileall")]
    uv = [command[1:3] for command in runner.argvs() if Path(command[0]).name == "uv"]
    assert ("venv", "--quiet") in uv  # the in-tree backend needs nothing installed, so no pip install
