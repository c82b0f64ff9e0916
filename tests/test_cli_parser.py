"""The command line's shape: every subcommand has help with examples, errors show the subcommand's
own usage, default verbs keep today's command lines working, options that do not apply are
refused in one line, and a missing input file is exit 2 everywhere."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from tests.clirun import run
from vouch.cli import make_parser
from vouch.cli.parser import VouchParser

FP = "A" * 40
SHA = "0" * 40

# every (sub)command, and arguments that satisfy its required ones (to reach an unknown flag)
COMMANDS: dict[tuple[str, ...], list[str]] = {
    ("build",): [],
    ("rebuild",): ["demo-1.0.buildinfo.json"],
    ("diff",): ["a.tar.gz", "b.tar.gz"],
    ("sign",): ["demo-1.0.tar.gz", "--key", "ssh:key"],
    ("check",): ["demo-1.0.tar.gz"],
    ("policy",): ["show"],
    ("policy", "show"): [],
    ("policy", "add-signer"): ["--name", "alice"],
    ("policy", "init"): [],
    ("policy", "set-threshold"): ["2"],
    ("policy", "require"): ["ci", "1"],
    ("policy", "remove-signer"): ["alice"],
    ("policy", "rotate-key"): ["alice"],
    ("attest",): ["demo-1.0.tar.gz"],
    ("provenance",): ["demo==1.0"],
    ("provenance", "published"): ["demo==1.0"],
    ("provenance", "verify"): ["demo-1.0.tar.gz"],
    ("publish",): ["demo-1.0.tar.gz"],
    ("ci",): ["github"],
    ("ci", "github"): [],
    ("ci", "gitlab"): [],
    ("audit",): [],
    ("doctor",): [],
    ("checksums",): ["demo-1.0.tar.gz"],
    ("checksums", "make"): ["demo-1.0.tar.gz"],
    ("checksums", "verify"): ["demo-1.0.checksum.txt"],
    ("runbook",): ["1.0"],
    ("runbook", "show"): ["1.0"],
    ("runbook", "run"): ["1.0"],
    ("report",): ["demo-1.0.tar.gz"],
    ("verify",): ["pylock.toml"],
}
DEFAULT_VERBS = {"checksums": "make", "provenance": "published", "runbook": "show"}


def _usage(path: tuple[str, ...]) -> str:
    """The usage line's program for the parser that handles ``path`` (a default verb left out or
    named shows as ``[verb]``)."""
    if len(path) == 1 and path[0] in DEFAULT_VERBS:
        path = (*path, DEFAULT_VERBS[path[0]])
    if len(path) == 2 and DEFAULT_VERBS.get(path[0]) == path[1]:
        return f"usage: vouch {path[0]} [{path[1]}]"
    return f"usage: vouch {' '.join(path)}"


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    found = {path} if path else set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found |= _walk(child, (*path, name))
    return found


def test_the_table_names_every_subcommand() -> None:
    assert _walk(make_parser()) == set(COMMANDS)


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_help_exits_0_with_a_description_and_an_example(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run([*path, "--help"], capsys)
    assert code == 0
    assert "$ vouch" in out  # an example
    head = out.split("\n\n")
    assert len(head) >= 3
    assert head[1].strip()
    if len(path) == 1 or path[-1] != DEFAULT_VERBS.get(path[0]):
        assert out.startswith(f"usage: vouch {' '.join(path)}")


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_an_unknown_flag_shows_the_subcommands_own_usage(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run([*path, *COMMANDS[path], "--no-such-flag"], capsys)
    assert code == 2
    assert out == ""
    assert err.startswith(_usage(path) + " ")
    assert err.rstrip().endswith("error: unrecognized arguments: --no-such-flag")
    assert "usage: vouch [-h]" not in err  # not the top-level usage


def test_the_top_level_help_names_pypi_targets_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    commands = out.split("examples:")[0]
    assert "pypi:NAME==VERSION" in commands
    assert "exit codes: 0 ok" in out


@pytest.mark.parametrize(
    ("argv", "verb", "positional"),
    [
        (["checksums", "a.tar.gz", "b.whl"], "make", ("artifacts", [Path("a.tar.gz"), Path("b.whl")])),
        (["checksums", "--date", "2025-06-04", "a.tar.gz"], "make", ("date", "2025-06-04")),
        (["checksums", "--out=-", "a.tar.gz"], "make", ("out", "-")),
        (["checksums", "--json", "a.tar.gz"], "make", ("json", True)),
        (["checksums", "make", "a.tar.gz"], "make", ("artifacts", [Path("a.tar.gz")])),
        (["checksums", "verify", "c.txt", "--keyring", "k.asc"], "verify", ("file", Path("c.txt"))),
        (["checksums", "--keyring", "k.asc", "verify", "c.txt"], "verify", ("keyring", Path("k.asc"))),
        (["checksums", "--", "verify"], "make", ("artifacts", [Path("verify")])),
        (["provenance", "django==5.2.3"], "published", ("release", "django==5.2.3")),
        (["provenance", "--publisher", "verify", "demo==1.0"], "published", ("publisher", "verify")),
        (["provenance", "verify", "demo-1.0.tar.gz"], "verify", ("dist", Path("demo-1.0.tar.gz"))),
        (["provenance", "verify", "--filename", "d-1.0.tar.gz", "--sha256", "0"], "verify", ("dist", None)),
        (["runbook", "5.2.3", "--profile", "django"], "show", ("version", "5.2.3")),
        (["runbook", "--profile", "django", "5.2.3"], "show", ("profile", "django")),
        (["runbook", "run", "5.2.3", "--state", "s.json"], "run", ("state", Path("s.json"))),
        (["runbook", "5.2.3", "--type", "security", "--cve", "C-1", "C-2"], "show", ("cve", ["C-1", "C-2"])),
    ],
)
def test_command_lines_without_the_default_verb_still_parse(
    argv: list[str], verb: str, positional: tuple[str, object]
) -> None:
    args = make_parser().parse_args(argv)
    assert args.verb == verb
    name, value = positional
    assert getattr(args, name) == value


def test_the_pre_parse_step_leaves_help_and_known_verbs_alone() -> None:
    parser = make_parser()
    checksums = next(
        child
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name, child in action.choices.items()
        if name == "checksums"
    )
    assert isinstance(checksums, VouchParser)
    assert checksums.with_verb(["--help"]) == ["--help"]
    assert checksums.with_verb(["verify", "x"]) == ["verify", "x"]
    assert checksums.with_verb(["x", "verify"]) == ["make", "x", "verify"]
    assert checksums.with_verb(["--dir", "d", "verify", "x"]) == ["verify", "--dir", "d", "x"]
    assert checksums.with_verb([]) == ["make"]  # which then says ARTIFACT is required


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["checksums", "verify", "c.txt", "--sign", "gpg:X"],
         "--sign applies to making a checksum file (`vouch checksums ARTIFACT...`), "
         "not to `vouch checksums verify`"),
        (["checksums", "a.tar.gz", "--keyring", "k.asc"], "--keyring applies to `vouch checksums verify`"),
        (["provenance", "verify", "d.tar.gz", "--index", "https://example.org/simple/"],
         "--index applies to NAME==VERSION, not to `vouch provenance verify`"),
        (["provenance", "demo==1.0", "--filename", "x"], "--filename applies to `vouch provenance verify`"),
        (["runbook", "run", "1.0", "--format", "json"], "--format applies to `vouch runbook VERSION`"),
        (["runbook", "1.0", "--state", "s.json"], "--state applies to `vouch runbook run`"),
        (["ci", "gitlab", "--tag-pattern", "v*"],
         "--tag-pattern applies to `vouch ci github`, not to `vouch ci gitlab`"),
        (["ci", "github", "--image=python@sha256:0"], "--image applies to `vouch ci gitlab`"),
        (["rebuild", "pypi:demo==1.0", "--against", "."], "--against applies to a build record"),
        (["rebuild", "pypi:demo==1.0", "--rev", "v1.0"], "--rev needs --source"),
        (["rebuild", "demo-1.0.buildinfo.json", "--rev", "v1.0"], "--rev applies to pypi:NAME==VERSION"),
        (["sign", "demo-1.0.buildinfo.json", "--key", "ssh:k", "--source-commit", SHA],
         "--source-commit applies to artifacts"),
        (["doctor", "--evidence", "e.jsonl"], "--evidence is where --sign appends"),
        (["audit", ".", "--no-workflows"], "--no-workflows audits no workflows"),
        (["checksums", "a.tar.gz", "--tag", "v1"], "--tag names the tag of --commit"),
        (["policy", "add-signer", "--name", "a", "--openpgp-key-file", "k.asc"],
         "--openpgp-key-file goes with --openpgp-fingerprint"),
        (["policy", "add-signer", "--name", "a", "--sigstore-issuer", "https://x"],
         "--sigstore-issuer goes with --sigstore-identity"),
    ],
)  # fmt: skip
def test_an_option_that_does_not_apply_is_refused_in_one_line(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo-1.0.buildinfo.json").write_text("{}")
    code, out, err = run(argv, capsys)
    assert code == 2
    assert out == ""
    assert err.splitlines() == [f"error: {err.splitlines()[0].removeprefix('error: ')}"]
    assert message in err


def test_an_option_that_does_not_apply_is_json_with_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["checksums", "verify", "c.txt", "--json", "--date", "2025-06-04"], capsys)
    assert code == 2
    assert '"type": "UsageError"' in out
    assert "--date applies to making a checksum file" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["diff", "{missing}", "{missing}"],
        ["build", "{missing}"],
        ["check", "{missing}", "--policy", "{policy}"],
        ["sign", "{missing}", "--key", "ssh:{missing}", "--source-commit", SHA],
        ["sign", "{missing}.buildinfo.json", "--key", "ssh:{missing}"],
        ["checksums", "verify", "{missing}", "--key-fingerprint", FP],
        ["checksums", "{missing}", "--date", "2025-06-04"],
        ["provenance", "verify", "{missing}", "--attestation", "{missing}", "--publisher", "github:a/b/c"],
        ["rebuild", "{missing}.buildinfo.json"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_a_missing_input_file_is_exit_2_everywhere(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "vouch.toml"
    policy.write_text(f'threshold = 1\n[[signers]]\nname = "a"\nopenpgp-fingerprint = "{FP}"\n')
    missing = tmp_path / "nowhere" / "demo-1.0.tar.gz"
    code, _out, err = run([word.format(missing=missing, policy=policy) for word in argv], capsys)
    assert code == 2, err
    assert "Traceback" not in err
    assert str(missing) in err
    assert err.startswith("error: ")
