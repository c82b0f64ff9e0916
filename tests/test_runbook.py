"""`vouch runbook`: checklists by release type from the runbook data, refused definitions, and
`vouch runbook run`, which resumes after an interruption without repeating completed steps."""

from __future__ import annotations

import datetime
import html.parser
import io
import json
import shlex
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.clirun import run
from tests.keys import GpgKey, gpg_key
from vouch.cli import make_parser
from vouch.errors import UsageError
from vouch.release.plan import make_plan, release
from vouch.release.runbook import load_runbook, parse_runbook
from vouch.release.runner import run_plan, run_vouch

CVES = ["CVE-2025-48432", "CVE-2025-57833"]
FINGERPRINT = "0123456789ABCDEF0123456789ABCDEF01234567"


def plan_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code, out, err = run(["runbook", *args, "--format", "json"], capsys)
    assert code == 0, err
    document: dict[str, Any] = json.loads(out)
    return document


def step_ids(document: dict[str, Any]) -> list[str]:
    return [step["id"] for step in document["steps"]]


@pytest.mark.parametrize(
    ("version", "kind", "phase"),
    [("5.2", "feature", None), ("5.2.0", "feature", None), ("5.2.3", "bugfix", None),
     ("6.0a1", "prerelease", "alpha"), ("6.0b2", "prerelease", "beta"), ("6.0rc1", "prerelease", "rc")],
)  # fmt: skip
def test_the_release_type_is_inferred_from_the_version(version: str, kind: str, phase: str | None) -> None:
    chosen = release(version)
    assert (chosen.type, chosen.phase) == (kind, phase)


@pytest.mark.parametrize(
    ("version", "kind", "cves", "message"),
    [("5.2.3", "feature", [], "is a bugfix release version"),
     ("5.2", "bugfix", [], "is a feature release version"),
     ("5.2.3", "security", [], "names its CVE IDs"),
     ("6.0a1", "security", CVES, "a security release is a bugfix release"),
     ("5.2.3", None, CVES, "--cve goes with --type security"),
     ("5.2.3", "security", ["CVE-25-1"], "is not a CVE ID"),
     ("5.2.3", "security", [CVES[0], CVES[0].lower()], "given twice"),
     ("1.0.post1", None, [], "cannot tell which kind"),
     ("not-a-version", None, [], "is not a version")],
)  # fmt: skip
def test_release_types_that_do_not_fit_are_refused(
    version: str, kind: str | None, cves: list[str], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        release(version, kind, cves)


SECURITY_ONLY = {"reserve-cve", "security-patches", "verify-security-patches", "prenotify",
                 "security-archive", "apply-security-fixes"}  # fmt: skip
FEATURE_CYCLE = {"feature-freeze", "stable-branch"}
VOUCH_STEPS = {"build", "sign", "rebuild-second-releaser", "rebuild-ci", "check", "checksums",
               "verify-checksums", "publish", "verify-index", "provenance"}  # fmt: skip


def test_django_release_types_give_different_step_sets(capsys: pytest.CaptureFixture[str]) -> None:
    security = set(
        step_ids(plan_json(capsys, "5.2.3", "--profile", "django", "--type", "security", "--cve", *CVES))
    )
    bugfix = set(step_ids(plan_json(capsys, "5.2.3", "--profile", "django")))
    feature = set(step_ids(plan_json(capsys, "5.2", "--profile", "django")))
    alpha = set(step_ids(plan_json(capsys, "6.0a1", "--profile", "django")))
    beta = set(step_ids(plan_json(capsys, "6.0b1", "--profile", "django")))
    rc = set(step_ids(plan_json(capsys, "6.0rc1", "--profile", "django")))
    assert security == bugfix | SECURITY_ONLY
    assert not bugfix & (SECURITY_ONLY | FEATURE_CYCLE | {"translations", "prerelease-specifics"})
    assert feature - bugfix == FEATURE_CYCLE | {
        "translations",
        "deprecation-timeline",
        "feature-after-release",
    }
    assert alpha - bugfix == FEATURE_CYCLE | {"prerelease-specifics"}
    assert beta - bugfix == {"prerelease-specifics"}
    assert rc - bugfix == {"prerelease-specifics", "translations-string-freeze"}
    for steps in (security, bugfix, feature, alpha, beta, rc):
        assert steps >= VOUCH_STEPS | {"tag", "bump-version", "release-notes", "announce"}


def test_generic_release_types_give_different_step_sets(capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--profile", "generic", "--set", "name=demo"]
    security = step_ids(plan_json(capsys, "1.2.3", *common, "--type", "security", "--cve", CVES[0]))
    bugfix = step_ids(plan_json(capsys, "1.2.3", *common))
    feature = step_ids(plan_json(capsys, "1.2", *common))
    prerelease = step_ids(plan_json(capsys, "1.3b1", *common))
    assert set(security) - set(bugfix) == {
        "reserve-cve",
        "security-patches",
        "verify-security-patches",
        "prenotify",
    }
    assert "backport" in bugfix
    assert "backport" not in feature
    assert "release-branch" in feature
    assert "prerelease-notes" in prerelease
    assert "prerelease-notes" not in feature
    assert "release-branch" not in prerelease  # a beta: the branch was made at the alpha
    for steps in (security, bugfix, feature, prerelease):
        assert set(steps) >= VOUCH_STEPS


def test_django_security_runbook_names_the_cves_dates_and_prenotification(
    capsys: pytest.CaptureFixture[str],
) -> None:
    document = plan_json(capsys, "5.2.3", "--profile", "django", "--type", "security", "--cve", *CVES,
                         "--date", "2025-06-04", "--set", f"fingerprint={FINGERPRINT}")  # fmt: skip
    steps = {step["id"]: step for step in document["steps"]}
    ids = list(steps)
    assert document["release"] == {"version": "5.2.3", "type": "security", "phase": None, "cves": CVES,
                                   "date": "2025-06-04",
                                   "branches": ["main", "stable/5.2.x", "stable/4.2.x"]}  # fmt: skip
    assert all(cve in steps["reserve-cve"]["description"] for cve in CVES)
    prenotify = steps["prenotify"]["description"]
    assert "On 2025-05-28, one week before the release on 2025-06-04" in prenotify
    assert all(cve in prenotify for cve in CVES)
    assert steps["security-patches"]["commands"] == [
        f"git format-patch --stdout -1 security/{label}/{cve} > {cve}-{label}.patch"
        for cve in CVES
        for label in ("main", "5.2.x", "4.2.x")
    ]
    assert "main stable/5.2.x stable/4.2.x" in steps["verify-security-patches"]["description"]
    # prenotification before the fixes go public, and they before the build; verifications gate publishing
    assert (
        ids.index("reserve-cve")
        < ids.index("prenotify")
        < ids.index("apply-security-fixes")
        < ids.index("tag")
    )
    assert ids.index("tag") < ids.index("build") < ids.index("check") < ids.index("publish")
    assert steps["check"]["verify"]
    assert steps["check"]["automated"]
    assert steps["checksums"]["commands"] == [
        "vouch checksums dist/django-5.2.3.tar.gz dist/django-5.2.3-py3-none-any.whl --project Django "
        f"--commit 5.2.3 --date 2025-06-04 --key-url <key_url> --sign gpg:{FINGERPRINT} --package-url "
        '"https://www.djangoproject.com/download/5.2.3/{kind}/" --out dist/Django-5.2.3.checksum.txt'
    ]
    assert steps["checksums"]["missing"] == ["key_url"]
    assert document["missing"] == ["key_url"]


def _vouch_argv(command: str) -> list[str] | None:
    words = shlex.split(command)
    return words[1:] if words and words[0] == "vouch" else None


@pytest.mark.parametrize("profile", ["generic", "django"])
def test_every_vouch_command_of_the_profiles_is_a_real_vouch_command_line(profile: str) -> None:
    runbook = load_runbook(profile)
    given = {"fingerprint": FINGERPRINT, "key_url": "https://example.org/k.asc"} if profile == "django" else {
        "name": "demo", "dist_name": "demo", "fingerprint": FINGERPRINT}  # fmt: skip
    parser = make_parser()
    checked = 0
    for version, kind, cves in (("5.2.3", "security", CVES), ("5.2", None, []), ("6.0a1", None, [])):
        # the django profile knows its supported branches; the generic one is told them
        branches = ("main", "release/5.2") if kind == "security" and profile == "generic" else ()
        plan = make_plan(runbook, release(version, kind, cves, datetime.date(2025, 6, 4), branches), given)
        assert plan.missing == []
        for step in plan.steps:
            for command in step.commands:
                argv = _vouch_argv(command)
                assert (argv is not None) or not step.automated, command
                if argv is not None:
                    parser.parse_args(argv)  # argparse exits on an unknown command or option
                    checked += 1
    assert checked > 20


class _Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.items = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: Sequence[tuple[str, str | None]]) -> None:
        self.items += tag == "li"

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_markdown_and_html_renderings(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["runbook", "6.0rc1", "--profile", "django", "--date", "2025-11-20"]
    code, md, _ = run(args, capsys)
    assert code == 0
    document = plan_json(capsys, *args[1:])
    assert md.startswith("# Django 6.0rc1: pre-release (rc)\n")
    assert md.count("\n- [ ] **") == len(document["steps"])
    assert "- [ ] **1. Translation string freeze** (`translations-string-freeze`)" in md
    assert "  vouch build . --rev 6.0rc1 --out dist\n" in md
    assert "--key gpg:<fingerprint>" in md
    page = run([*args, "--format", "html"], capsys)[1]
    assert page.lower().startswith("<!doctype html>")
    assert "gpg:&lt;fingerprint&gt;" in page
    assert "<fingerprint>" not in page
    tags = _Tags()
    tags.feed(page)
    assert tags.items == len(document["steps"])
    assert "vouch build . --rev 6.0rc1 --out dist" in "".join(tags.text)


def write_runbook(
    path: Path, steps: str, header: str = 'format-version = 1\nname = "t"\ntitle = "T"\n'
) -> Path:
    path.write_text(header + steps)
    return path


STEP = '[[steps]]\nid = "{id}"\ntitle = "{id}"\ntypes = ["bugfix"]\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (STEP.format(id="a") + 'after = ["b"]\n' + STEP.format(id="b") + 'after = ["c"]\n'
         + STEP.format(id="c") + 'after = ["a"]\n', "in a cycle: a -> b -> c -> a"),
        (STEP.format(id="a") + 'after = ["a"]\n', "in a cycle: a -> a"),
        (STEP.format(id="a") + 'after = ["nope"]\n', "depends on unknown step 'nope'"),
        (STEP.format(id="a") + STEP.format(id="a"), "two steps have the id 'a'"),
        (STEP.format(id="a") + 'colour = "red"\n', "unknown keys \\['colour'\\]"),
        (STEP.format(id="a") + 'commands = ["echo {nope}"]\n', "unknown variable 'nope'"),
        (STEP.format(id="a") + 'commands = ["echo {"]\n', "is not a \\{variable\\}"),
        (STEP.format(id="a") + 'verify = true\nautomated = false\ncommands = ["vouch check x"]\n',
         "a verify step must be automated"),
        (STEP.format(id="a") + 'automated = true\ncommands = ["rm -rf /"]\n', "automated commands are vouch"),
        (STEP.format(id="a").replace('"bugfix"', '"hotfix"'), "types \\['hotfix'\\]"),
        (STEP.format(id="A"), "step id 'A' must match"),
    ],
)  # fmt: skip
def test_broken_definitions_are_refused_when_loaded(
    tmp_path: Path, text: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_runbook(tmp_path / "rb.toml", text)
    with pytest.raises(UsageError, match=message):
        parse_runbook(path.read_bytes(), str(path))
    code, _, err = run(["runbook", "1.0.1", "--profile", str(path)], capsys)
    assert code == 2
    assert "error:" in err


@pytest.mark.parametrize(
    ("header", "message"),
    [('name = "t"\ntitle = "T"\n', "format-version is None"),
     ('format-version = 2\nname = "t"\ntitle = "T"\n', "format-version is 2"),
     ('format-version = 1\nname = "t"\ntitle = "T"\nowner = "me"\n', "unknown keys \\['owner'\\]")],
)  # fmt: skip
def test_the_format_version_is_required(tmp_path: Path, header: str, message: str) -> None:
    path = write_runbook(tmp_path / "rb.toml", STEP.format(id="a"), header)
    with pytest.raises(UsageError, match=message):
        parse_runbook(path.read_bytes(), str(path))


def test_dependencies_order_the_steps_and_survive_dropped_steps(tmp_path: Path) -> None:
    text = (
        '[[steps]]\nid = "announce"\ntitle = "x"\ntypes = ["bugfix", "security"]\nafter = ["fix"]\n'
        '[[steps]]\nid = "notes"\ntitle = "x"\ntypes = ["bugfix", "security"]\n'
        '[[steps]]\nid = "fix"\ntitle = "x"\ntypes = ["security"]\nafter = ["build"]\n'
        '[[steps]]\nid = "build"\ntitle = "x"\ntypes = ["bugfix", "security"]\n'
    )
    runbook = parse_runbook(write_runbook(tmp_path / "rb.toml", text).read_bytes(), "rb.toml")
    assert [step.id for step in runbook.steps] == ["notes", "build", "fix", "announce"]
    bugfix = make_plan(runbook, release("1.0.1"))
    assert [(step.id, step.after) for step in bugfix.steps] == [
        ("notes", ()),
        ("build", ()),
        ("announce", ("build",)),
    ]
    security = make_plan(runbook, release("1.0.1", "security", ["CVE-2025-0001"]))
    assert [step.id for step in security.steps] == ["notes", "build", "fix", "announce"]


def test_variables_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["runbook", "5.2.3", "--profile", "django", "--set", "colour=red"], capsys)
    assert code == 2
    assert "django has no such variable" in err
    code, _, err = run(["runbook", "5.2.3", "--profile", "django", "--set", "version=9"], capsys)
    assert code == 2
    assert "built in" in err
    document = plan_json(capsys, "5.2.3", "--profile", "django", "--set", "stable_branch=stable/five")
    build = next(step for step in document["steps"] if step["id"] == "release-blockers")
    assert "CI of stable/five is green" in build["description"]
    code, _, err = run(["runbook", "5.2.3", "--profile", "nope"], capsys)
    assert code == 2
    assert "no runbook profile 'nope'" in err


def test_profile_from_the_policy_and_names_from_pyproject(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "My.Project"\n')
    document = plan_json(capsys, "2.1.0")
    assert document["profile"]["name"] == "generic"
    assert document["profile"]["title"] == "My.Project"
    build = next(step for step in document["steps"] if step["id"] == "sign")
    assert build["commands"] == [
        "vouch sign dist/my_project-2.1.0.buildinfo.json --key gpg:<fingerprint> --role releaser"
    ]
    (tmp_path / "vouch.toml").write_text('runbook = "django"\n')
    assert plan_json(capsys, "2.1.0")["profile"]["name"] == "django"
    write_runbook(tmp_path / "ours.toml", STEP.format(id="only"))
    (tmp_path / "vouch.toml").write_text('runbook = "ours.toml"\n')
    assert step_ids(plan_json(capsys, "2.1.1")) == ["only"]


# ---- vouch runbook run -------------------------------------------------------------------------

RUNNER = """format-version = 1
name = "demo"
title = "demo"
[variables]
dist = "dist"
sums = "{dist}/SHA256SUMS"
sdist = "{dist}/demo-{version}.tar.gz"
key = "gpg:{fingerprint}"
[inputs]
fingerprint = "the releaser's key"
keyring = "the releaser's public key file"
[[steps]]
id = "prepare"
title = "Prepare the release notes"
types = ["bugfix"]
[[steps]]
id = "checksums"
title = "Write the signed checksums"
types = ["bugfix"]
after = ["prepare"]
automated = true
commands = ["vouch checksums {sdist} --date {date} --format sha256sum --sign {key} --out {sums}"]
[[steps]]
id = "verify"
title = "Verify the checksums"
types = ["bugfix"]
after = ["checksums"]
automated = true
verify = true
commands = ["vouch checksums verify {sums} --keyring {keyring}"]
[[steps]]
id = "announce"
title = "Announce"
types = ["bugfix"]
after = ["verify"]
"""


class Releaser:
    """Answers the runner's questions (and records them); records the commands it runs."""

    def __init__(self, *, yes: bool = True, after_failure: bool = False) -> None:
        self.yes, self.after_failure = yes, after_failure
        self.questions: list[str] = []
        self.commands: list[list[str]] = []

    def confirm(self, question: str) -> bool:
        self.questions.append(question)
        return self.after_failure if "another way" in question else self.yes

    def execute(self, argv: Sequence[str]) -> int:
        self.commands.append(list(argv))
        return run_vouch(argv)


@pytest.fixture
def releaser_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GpgKey]:
    with gpg_key("rel", tmp_path / "keys") as key:
        monkeypatch.setenv("GNUPGHOME", str(key.home))
        yield key


def demo_plan(tmp_path: Path, key: GpgKey, date: str = "2025-06-04") -> Any:
    runbook = parse_runbook(RUNNER.encode(), "demo.toml")
    chosen = release("1.0.1", date=datetime.date.fromisoformat(date))
    given = {
        "dist": str(tmp_path / "release files"),
        "fingerprint": key.fingerprint,
        "keyring": str(key.armored),
    }
    return make_plan(runbook, chosen, given)


def test_run_resumes_after_a_failing_step_and_never_repeats_a_completed_one(
    tmp_path: Path, releaser_key: GpgKey
) -> None:
    plan, state = demo_plan(tmp_path, releaser_key), tmp_path / "state.json"
    (tmp_path / "release files").mkdir()
    first = Releaser()
    result = run_plan(plan, state, confirm=first.confirm, execute=first.execute, say=lambda _: None)
    assert (result.completed, result.stopped_at, result.ran) == (False, "checksums", ["prepare"])
    assert "exit 2" in (result.reason or "")  # the sdist is not there yet
    assert first.questions[0] == "Prepare the release notes: done?"
    assert "Did you complete 'Write the signed checksums' another way?" in first.questions[1]
    recorded = json.loads(state.read_text())
    assert (recorded["format"], recorded["format-version"]) == ("vouch-runbook-state", 1)
    assert recorded["steps"]["prepare"]["status"] == "done"
    assert recorded["steps"]["checksums"]["status"] == "failed"
    assert "verify" not in recorded["steps"]

    (tmp_path / "release files" / "demo-1.0.1.tar.gz").write_bytes(b"the sdist\n")
    second = Releaser()
    result = run_plan(plan, state, confirm=second.confirm, execute=second.execute, say=lambda _: None)
    assert result.completed
    assert result.skipped == ["prepare"]
    assert result.ran == ["checksums", "verify", "announce"]
    assert second.questions == ["Announce: done?"]  # prepare is not asked again
    assert [argv[:2] for argv in second.commands] == [["vouch", "checksums"], ["vouch", "checksums"]]
    assert (
        (tmp_path / "release files" / "SHA256SUMS")
        .read_text()
        .startswith("-----BEGIN PGP SIGNED MESSAGE-----")
    )

    third = Releaser()
    result = run_plan(plan, state, confirm=third.confirm, execute=third.execute, say=lambda _: None)
    assert result.completed
    assert (third.questions, third.commands, result.ran) == ([], [], [])
    assert result.skipped == ["prepare", "checksums", "verify", "announce"]


def test_a_failed_verification_step_cannot_be_passed(tmp_path: Path, releaser_key: GpgKey) -> None:
    plan, state = demo_plan(tmp_path, releaser_key), tmp_path / "state.json"
    (tmp_path / "release files").mkdir()
    sdist = tmp_path / "release files" / "demo-1.0.1.tar.gz"
    sdist.write_bytes(b"the sdist\n")
    tamper = Releaser(after_failure=True)

    def execute(argv: Sequence[str]) -> int:
        if list(argv[:3]) == ["vouch", "checksums", "verify"]:
            sdist.write_bytes(b"swapped\n")  # changed between checksums and their verification
        return tamper.execute(argv)

    result = run_plan(plan, state, confirm=tamper.confirm, execute=execute, say=lambda _: None)
    assert (result.completed, result.stopped_at) == (False, "verify")
    assert "a verification step cannot be passed" in (result.reason or "")
    assert not any("Verify the checksums" in question for question in tamper.questions)
    assert json.loads(state.read_text())["steps"]["verify"]["status"] == "failed"
    # an ordinary step that failed may be confirmed as done another way; it is recorded as such
    sdist.unlink()
    (tmp_path / "release files" / "SHA256SUMS").unlink()
    other = tmp_path / "other-state.json"
    result = run_plan(plan, other, confirm=tamper.confirm, execute=tamper.execute, say=lambda _: None)
    assert json.loads(other.read_text())["steps"]["checksums"]["how"] == "confirmed after a failure"
    assert result.stopped_at == "verify"


def test_a_state_file_of_another_plan_is_refused_and_inputs_are_required(
    tmp_path: Path, releaser_key: GpgKey
) -> None:
    state = tmp_path / "state.json"
    (tmp_path / "release files").mkdir()
    first = Releaser()
    result = run_plan(demo_plan(tmp_path, releaser_key), state, confirm=first.confirm, execute=first.execute,
                      say=lambda _: None)  # fmt: skip
    assert result.stopped_at == "checksums"
    with pytest.raises(UsageError, match="belongs to another plan"):
        run_plan(demo_plan(tmp_path, releaser_key, "2025-06-05"), state, confirm=lambda _: True)
    runbook = parse_runbook(RUNNER.encode(), "demo.toml")
    with pytest.raises(UsageError, match="automated steps need date, fingerprint, keyring"):
        run_plan(make_plan(runbook, release("1.0.1")), tmp_path / "new.json", confirm=lambda _: True)


def test_cli_run_asks_for_manual_steps_and_stops_when_not_confirmed(
    tmp_path: Path, releaser_key: GpgKey, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    definition = tmp_path / "demo.toml"
    definition.write_text(RUNNER)
    (tmp_path / "release files").mkdir()
    (tmp_path / "release files" / "demo-1.0.1.tar.gz").write_bytes(b"the sdist\n")
    args = ["runbook", "run", "1.0.1", "--profile", str(definition), "--date", "2025-06-04",
            "--set", f"dist={tmp_path / 'release files'}", "--set", f"fingerprint={releaser_key.fingerprint}",
            "--set", f"keyring={releaser_key.armored}", "--state", str(tmp_path / "state.json")]  # fmt: skip
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # nobody answers: not confirmed
    code, out, _ = run(args, capsys)
    assert code == 1
    assert "STOPPED at prepare: not confirmed" in out
    assert not (tmp_path / "state.json").exists()
    monkeypatch.setattr("sys.stdin", io.StringIO("y\ny\n"))
    code, out, _ = run(args, capsys)
    assert code == 0, out
    assert "COMPLETE" in out
    steps = json.loads((tmp_path / "state.json").read_text())["steps"]
    assert {name: step["how"] for name, step in steps.items()} == {
        "prepare": "confirmed", "checksums": "ran", "verify": "ran", "announce": "confirmed",
    }  # fmt: skip
