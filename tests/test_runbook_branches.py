"""Security runbooks patch every affected branch: one patch per CVE and branch, from its own commit;
the branches come from --branch or the profile's supported-versions table on the release date."""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.recording import Recorder
from vouch.cli import main
from vouch.errors import UsageError
from vouch.host import Completed, Host
from vouch.release.plan import make_plan, release
from vouch.release.runbook import load_runbook, parse_runbook
from vouch.release.runner import run_plan

CVES = ["CVE-2026-11111", "CVE-2026-22222"]
BRANCHES = ["main", "stable/6.0.x", "stable/5.2.x"]


def plan_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    capsys.readouterr()
    code = main(["runbook", *args, "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    document: dict[str, Any] = json.loads(out)
    return document


def steps(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["id"]: step for step in document["steps"]}


@pytest.mark.parametrize("profile", ["django", "generic"])
def test_two_cves_on_three_branches_give_six_distinct_patch_commands(
    profile: str, capsys: pytest.CaptureFixture[str]
) -> None:
    branch_args = [arg for branch in BRANCHES for arg in ("--branch", branch)]
    document = plan_json(capsys, "5.2.9", "--profile", profile, "--type", "security", "--cve", *CVES,
                         *branch_args, "--date", "2026-12-02")  # fmt: skip
    patches = steps(document)["security-patches"]["commands"]
    assert len(patches) == len(set(patches)) == 6
    for cve in CVES:
        for label in ("main", "6.0.x", "5.2.x"):
            (command,) = [c for c in patches if f"security/{label}/{cve} " in c]
            assert command.endswith(f"> {cve}-{label}.patch")
    verify = steps(document)["verify-security-patches"]["commands"]
    for cve in CVES:
        for branch, label in zip(BRANCHES, ("main", "6.0.x", "5.2.x"), strict=True):
            assert f"git switch --detach {branch} && git apply --check {cve}-{label}.patch" in verify
    assert document["release"]["branches"] == BRANCHES


def test_the_bugfix_runbook_has_no_patch_commands(capsys: pytest.CaptureFixture[str]) -> None:
    document = plan_json(capsys, "5.2.9", "--profile", "django")
    commands = [c for step in document["steps"] for c in step["commands"]]
    assert not any(".patch" in c for c in commands)
    assert document["release"]["branches"] == []


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("2026-11-29", ["main", "stable/6.1.x", "stable/6.0.x", "stable/5.2.x"]),
        ("2025-06-04", ["main", "stable/5.2.x", "stable/4.2.x"]),
        ("2027-06-01", ["main", "stable/6.1.x", "stable/5.2.x"]),
    ],
)
def test_django_derives_the_supported_branches_from_the_release_date(
    date: str, expected: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    document = plan_json(capsys, "5.2.9", "--profile", "django", "--type", "security", "--cve", CVES[0],
                         "--date", date)  # fmt: skip
    assert document["release"]["branches"] == expected
    assert len(steps(document)["security-patches"]["commands"]) == len(expected)
    assert " ".join(expected) in steps(document)["apply-security-fixes"]["description"]


def test_without_a_date_or_branches_the_branch_is_left_to_fill_in(capsys: pytest.CaptureFixture[str]) -> None:
    document = plan_json(capsys, "5.2.9", "--profile", "generic", "--type", "security", "--cve", CVES[0],
                         "--set", "name=demo")  # fmt: skip
    (command,) = steps(document)["security-patches"]["commands"]
    assert "<branch_label>" in command
    assert {"branch_label", "branches"} <= set(document["missing"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["5.2.9", "--branch", "main"], "--branch goes with --type security"),
        (["5.2.9", "--type", "security", "--cve", CVES[0], "--branch", "../x"], "is not a branch name"),
        (["5.2.9", "--type", "security", "--cve", CVES[0], "--branch", "main", "--branch", "main"],
         "given twice"),
    ],
)  # fmt: skip
def test_bad_branches_are_refused(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["runbook", *args, "--profile", "django"]) == 2
    assert message in capsys.readouterr().err


DEFINITION = """format-version = 1
name = "mini"
title = "Mini"
[[steps]]
id = "patch"
title = "Patch"
types = ["security"]
description = "DESCRIPTION"
commands = ["git am {cve}-{branch_label}.patch"]
"""
END = 'commands = ["git am {cve}-{branch_label}.patch"]\n'


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("DESCRIPTION", "on {branch}"), "in a title or description use {branches}"),
        (("DESCRIPTION", "for {cve}"), "in a title or description use {cves}"),
        (('name = "mini"', 'name = "mini"\n[variables]\nx = "{branch}"'), "use it in commands only"),
        ((END, END + '[security]\nmain-branch = "main"\nstable-branch = "s/{series}"\n'
                     '[security.supported]\n"5.2" = 2028-04-30'), 'must be "X.Y" = {from'),
        ((END, END + '[security]\nmain-branch = "main"\nstable-branch = "s/{version}"\n'
                     '[security.supported]\n"5.2" = {from = 2025-01-01, until = 2028-04-30}'),
         "stable-branch may use {series} only"),
    ],
)  # fmt: skip
def test_definitions_that_misuse_branches_are_refused(change: tuple[str, str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_runbook(DEFINITION.replace(*change).encode(), "mini.toml")
    assert message in str(caught.value)


def test_runbook_run_shows_each_steps_description_and_what_it_runs(tmp_path: Path) -> None:
    runbook = load_runbook("django")
    plan = make_plan(
        runbook,
        release("5.2.9", "security", CVES, datetime.date(2026, 12, 2), ["main", "stable/5.2.x"]),
        {"fingerprint": "0123456789ABCDEF0123456789ABCDEF01234567", "key_url": "https://example.org/k.asc"},
    )
    lines: list[str] = []
    answers = iter([True, False])
    result = run_plan(plan, tmp_path / "state.json", confirm=lambda _: next(answers), say=lines.append)
    assert result.stopped_at == "security-patches"
    text = "\n".join(lines)
    assert "Reserve one CVE ID per vulnerability" in text  # the description of the first step
    assert "One commit per issue on each affected branch (main stable/5.2.x)" in " ".join(text.split())
    assert f"    git format-patch --stdout -1 security/5.2.x/{CVES[1]} > {CVES[1]}-5.2.x.patch" in lines


def test_automated_steps_run_this_interpreters_vouch_on_the_hosts_runner_and_clock(tmp_path: Path) -> None:
    definition = (
        'format-version = 1\nname = "mini"\ntitle = "Mini"\n[[steps]]\nid = "check"\ntitle = "Check"\n'
        'types = ["bugfix"]\ndescription = "D"\nautomated = true\ncommands = ["vouch doctor --json"]\n'
    )
    plan = make_plan(parse_runbook(definition.encode(), "mini.toml"), release("1.0.1"))
    runner = Recorder(lambda argv: Completed(argv, 0))
    at = datetime.datetime(2026, 12, 2, 9, 30, tzinfo=datetime.UTC)
    host = Host(run=runner, clock=lambda: at)
    result = run_plan(plan, tmp_path / "state.json", confirm=lambda _: False, say=lambda _: None, host=host)
    assert result.completed
    (call,) = runner.calls
    assert call.argv == (sys.executable, "-m", "vouch", "doctor", "--json")
    assert call.capture is False  # its output is the releaser's to read, on the terminal
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["steps"]["check"] == {"status": "done", "how": "ran", "at": "2026-12-02T09:30:00+00:00"}
