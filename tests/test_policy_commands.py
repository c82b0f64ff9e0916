"""`vouch policy init|set-threshold|require|remove-signer|rotate-key`: each keeps the file's
comments and layout byte for byte except for its change, refuses an edit that would make a
usable policy unusable (exit 2, nothing written), and prints the effective policy. A rotated
key's statements signed before the rotation keep counting; what it signs afterwards does not."""

from __future__ import annotations

import datetime
import difflib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.clirun import run
from tests.keys import ssh_key
from vouch.cli.policy import ask_threshold
from vouch.errors import UsageError
from vouch.policy.edit import rotate_key
from vouch.policy.model import load_policy

COMMIT = "a" * 40
SDIST = "demo-1.0.tar.gz"
WHEEL = "demo-1.0-py3-none-any.whl"


@dataclass
class Team:
    root: Path
    keys: dict[str, Path]

    def pub(self, name: str) -> str:
        return f"{self.keys[name]}.pub"

    def line(self, name: str) -> str:
        return " ".join(Path(self.pub(name)).read_text().split()[:2])


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("keys")
    return {name: ssh_key(folder, name) for name in ("alice", "bob", "carol", "alice2")}


@pytest.fixture
def team(tmp_path: Path, keys: dict[str, Path]) -> Team:
    return Team(tmp_path, keys)


def commented_policy(team: Team) -> Path:
    text = f"""# the release team of demo
threshold = 2   # two of three

[require]
releaser = 1  # at least one human

# alice signs from her laptop
[[signers]]
name = "alice"
roles = ["releaser"]
ssh-key = "{team.line("alice")}"  # yubikey

[[signers]]
name = "bob"
roles = ["releaser"]
ssh-key = "{team.line("bob")}"

[[signers]]
name = "carol"
roles = ["ci"]
ssh-key = "{team.line("carol")}"
# end of the team
"""
    path = team.root / "vouch.toml"
    path.write_text(text)
    return path


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["set-threshold", "3"], ["-threshold = 2   # two of three", "+threshold = 3   # two of three"]),
        (
            ["require", "releaser", "2"],
            ["-releaser = 1  # at least one human", "+releaser = 2  # at least one human"],
        ),
        (["require", "ci", "1"], ["+ci = 1"]),
    ],
)
def test_an_edit_changes_only_its_line_and_prints_the_policy(
    args: list[str], expected: list[str], team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = commented_policy(team)
    before = policy.read_text()
    code, out, err = run(["policy", *args, "--policy", str(policy)], capsys)
    assert code == 0, err
    assert changed_lines(before, policy.read_text()) == expected
    assert f"{policy} (sha256 " in out
    assert "threshold:" in out
    assert "- alice (releaser): ssh SHA256:" in out


def test_remove_signer_removes_its_table_and_nothing_else(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = commented_policy(team)
    before = policy.read_text()
    code, out, err = run(["policy", "remove-signer", "bob", "--policy", str(policy)], capsys)
    assert code == 0, err
    bob = f'[[signers]]\nname = "bob"\nroles = ["releaser"]\nssh-key = "{team.line("bob")}"\n\n'
    assert policy.read_text() == before.replace(bob, "")
    assert "threshold: 2 of 2 distinct signers" in out
    assert "bob" not in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["set-threshold", "4"], ["threshold 4 exceeds the 3 trusted signers", "unchanged"]),
        (["set-threshold", "0"], ["threshold must be an integer of at least 1"]),
        (["require", "ci", "2"], ["require.ci = 2", "1 signers have that role", "unchanged"]),
        (["require", "auditor", "0"], ["no minimum for role auditor"]),
        (["remove-signer", "dave"], ["no signer named dave", "alice, bob, carol"]),
    ],
)
def test_an_edit_that_breaks_the_policy_is_refused_and_writes_nothing(
    args: list[str], words: list[str], team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = commented_policy(team)
    before = policy.read_bytes()
    code, out, err = run(["policy", *args, "--policy", str(policy)], capsys)
    assert code == 2
    assert out == ""
    for word in words:
        assert word in err
    assert policy.read_bytes() == before
    assert sorted(p.name for p in team.root.iterdir()) == ["vouch.toml"]


def test_removing_below_the_threshold_is_refused(team: Team, capsys: pytest.CaptureFixture[str]) -> None:
    policy = commented_policy(team)
    assert run(["policy", "remove-signer", "carol", "--policy", str(policy)], capsys)[0] == 0
    before = policy.read_bytes()
    code, _, err = run(["policy", "remove-signer", "bob", "--policy", str(policy)], capsys)
    assert code == 2
    assert "refused to remove bob: threshold 2 exceeds the 1 trusted signers" in err
    assert "hint: lower the threshold first" in err
    assert policy.read_bytes() == before


def test_init_then_add_signers_until_usable(team: Team, capsys: pytest.CaptureFixture[str]) -> None:
    policy = team.root / "vouch.toml"
    code, out, err = run(["policy", "init", "--policy", str(policy), "--threshold", "2"], capsys)
    assert code == 0, err
    assert policy.read_text().startswith("# vouch trust policy")
    assert "threshold = 2\n" in policy.read_text()
    assert "not usable yet: the policy trusts no signers" in out
    code, _, err = run(["policy", "show", "--policy", str(policy)], capsys)
    assert code == 2  # a draft is never used to check anything
    assert "trusts no signers" in err
    add = ["policy", "add-signer", "--policy", str(policy), "--role", "releaser"]
    code, out, err = run([*add, "--name", "alice", "--ssh-key-file", team.pub("alice")], capsys)
    assert code == 0, err
    assert "not usable yet: threshold 2 exceeds the 1 trusted signers" in out
    code, out, err = run([*add, "--name", "bob", "--ssh-key-file", team.pub("bob"), "--json"], capsys)
    assert code == 0, err
    shown = json.loads(out)
    assert shown["incomplete"] == []
    assert [s["name"] for s in shown["signers"]] == ["alice", "bob"]
    assert load_policy(policy).threshold == 2
    code, _, err = run(["policy", "init", "--policy", str(policy), "--threshold", "1"], capsys)
    assert code == 2
    assert "exists already" in err


def test_init_without_threshold_and_without_a_terminal_refuses(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = team.root / "vouch.toml"
    code, _, err = run(["policy", "init", "--policy", str(policy)], capsys)  # pytest's stdin is no TTY
    assert code == 2
    assert "pass --threshold N" in err
    assert not policy.exists()


def test_init_asks_on_a_terminal() -> None:
    asked: list[str] = []

    def prompt(question: str) -> str:
        asked.append(question)
        return " 3\n"

    assert ask_threshold(prompt) == 3
    assert "how many distinct signers" in asked[0]
    with pytest.raises(UsageError, match="is not a threshold"):
        ask_threshold(lambda _: "two")
    with pytest.raises(UsageError, match="no terminal"):
        ask_threshold(None)


def test_init_in_pyproject_adds_tool_vouch_and_keeps_the_rest(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    pyproject = team.root / "pyproject.toml"
    text = '# demo\n[project]\nname = "demo"  # the name\nversion = "1.0"\n'
    pyproject.write_text(text)
    code, _, err = run(["policy", "init", "--policy", str(pyproject), "--threshold", "1"], capsys)
    assert code == 0, err
    assert pyproject.read_text().startswith(text)
    assert "[tool.vouch]" in pyproject.read_text()
    code, _, err = run(["policy", "add-signer", "--policy", str(pyproject), "--name", "alice",
                        "--ssh-key-file", team.pub("alice")], capsys)  # fmt: skip
    assert code == 0, err
    assert load_policy(pyproject).signers[0].name == "alice"


def test_add_signer_no_longer_creates_a_policy(team: Team, capsys: pytest.CaptureFixture[str]) -> None:
    policy = team.root / "vouch.toml"
    code, _, err = run(["policy", "add-signer", "--policy", str(policy), "--name", "alice",
                        "--ssh-key-file", team.pub("alice")], capsys)  # fmt: skip
    assert code == 2
    assert "no policy at" in err
    assert "vouch policy init" in err
    assert not policy.exists()


def sign(team: Team, key: str, evidence: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    artifacts = [str(team.root / SDIST), str(team.root / WHEEL)]
    code, _, err = run(["sign", *artifacts, "--source-commit", COMMIT, "--key", f"ssh:{team.keys[key]}",
                        "--evidence", str(evidence), *extra], capsys)  # fmt: skip
    assert code == 0, err
    return evidence.read_text().splitlines()[-1]


def check(team: Team, policy: Path, evidence: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    artifacts = [str(team.root / SDIST), str(team.root / WHEEL)]
    code, out, _ = run(["check", *artifacts, "--evidence", str(evidence), "--policy", str(policy), "--json"],
                       capsys)  # fmt: skip
    report: dict[str, object] = json.loads(out)
    assert (code == 0) == report["passed"]
    return report


def test_rotate_key_keeps_what_the_old_key_signed_before_and_nothing_after(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    (team.root / SDIST).write_bytes(b"sdist bytes")
    (team.root / WHEEL).write_bytes(b"wheel bytes")
    policy = commented_policy(team)
    run(["policy", "set-threshold", "2", "--policy", str(policy)], capsys)
    evidence = team.root / "demo-1.0.intoto.jsonl"
    sign(team, "alice", evidence, capsys)
    sign(team, "bob", evidence, capsys)
    assert check(team, policy, evidence, capsys)["passed"] is True

    before = policy.read_text()
    code, out, err = run(["policy", "rotate-key", "alice", "--policy", str(policy), "--ssh-key-file",
                          team.pub("alice2"), "--evidence", str(evidence)], capsys)  # fmt: skip
    assert code == 0, err
    assert "valid before" in out
    assert "1 evidence lines kept" in out
    after = policy.read_text()
    assert after.startswith(before.split('[[signers]]\nname = "bob"')[0].split("# alice signs")[0])
    assert f'ssh-key = "{team.line("alice")}"  # yubikey' in after  # the old entry, comment and all
    rotated = load_policy(policy)
    alices = [s for s in rotated.signers if s.name == "alice"]
    assert len(alices) == 2
    assert alices[0].valid_before is not None
    assert len(alices[0].kept_evidence) == 1
    assert alices[1].valid_before is None
    assert alices[1].roles == ("releaser",)
    assert rotated.names == ["alice", "bob", "carol"]

    # the statement alice signed before the rotation still counts
    assert check(team, policy, evidence, capsys)["passed"] is True

    # the old key signs again after the rotation (a new statement): that line does not count
    late = team.root / "late.intoto.jsonl"
    late.write_text(evidence.read_text().splitlines()[1] + "\n")  # bob's line
    sign(team, "alice", late, capsys, "--role", "releaser")
    report = check(team, policy, late, capsys)
    assert report["passed"] is False
    reasons = [r["reason"] for r in report["rejected"]]  # type: ignore[attr-defined]
    assert any("alice's key is not valid at" in r and "kept-evidence" in r for r in reasons)

    # the new key counts, for the same signer: alice once, not twice
    sign(team, "alice2", late, capsys)
    report = check(team, policy, late, capsys)
    assert report["passed"] is True
    assert report["artifacts"][0]["vouched_by"] == ["alice", "bob"]  # type: ignore[index]


def test_rotating_twice_and_rotating_to_the_same_key(team: Team) -> None:
    policy = commented_policy(team)
    times = iter(
        [
            datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
            datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC),
        ]
    )
    new = {"ssh-key": team.line("alice2")}
    rotate_key(policy, "bob", new, clock=lambda: next(times))
    text = policy.read_text()
    assert "valid-before = 2026-01-01T00:00:00Z" in text
    with pytest.raises(UsageError, match="share the key"):
        rotate_key(policy, "bob", new, clock=lambda: next(times))
    assert policy.read_text() == text


def test_checking_part_of_a_release_says_to_pass_all_its_files(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    (team.root / SDIST).write_bytes(b"sdist bytes")
    (team.root / WHEEL).write_bytes(b"wheel bytes")
    policy = commented_policy(team)
    evidence = team.root / "demo-1.0.intoto.jsonl"
    sign(team, "alice", evidence, capsys)
    code, out, _ = run(
        ["check", str(team.root / SDIST), "--evidence", str(evidence), "--policy", str(policy)], capsys
    )
    assert code == 1
    assert f"names other files ['{WHEEL}']; it vouches for the whole release: pass all its files" in out
    assert f"pass all its files to vouch check ({WHEEL}, {SDIST})" in out
