"""Issue 16's messages, as a table: each is one line (plus its hint) with what to do next."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.version import Version

from tests.keys import ssh_key
from vouch.cli import main
from vouch.errors import CheckError, VouchError
from vouch.index.simple import IndexFile, missing_release
from vouch.publish.twine import scrub
from vouch.rebuild.published import rebuildable_files

Setup = Callable[[Path], list[str]]


def _audit_unknown_yaml(root: Path) -> list[str]:
    (root / "notes.yml").write_text("hello: world\nlist:\n  - a\n")
    return ["audit", str(root / "notes.yml")]


def _audit_broken_yaml(root: Path) -> list[str]:
    (root / "broken.yml").write_text("on: [push\n")
    return ["audit", str(root / "broken.yml")]


def _private_key(root: Path) -> list[str]:
    key = ssh_key(root / "keys", "alice")
    (root / "vouch.toml").write_text("threshold = 1\n")
    return [
        "policy",
        "add-signer",
        "--policy",
        str(root / "vouch.toml"),
        "--name",
        "alice",
        "--ssh-key-file",
        str(key),
    ]


def _misnamed_dist(root: Path) -> list[str]:
    (root / "demo.txt").write_text("x")
    (root / "a.json").write_text("{}")
    return ["provenance", "verify", str(root / "demo.txt"), "--attestation", str(root / "a.json"),
            "--publisher", "github:o/r/release.yml"]  # fmt: skip


def _init_without_terminal(root: Path) -> list[str]:
    return ["policy", "init", "--policy", str(root / "vouch.toml")]


def _add_signer_without_policy(root: Path) -> list[str]:
    key = ssh_key(root / "keys", "alice")
    return [
        "policy",
        "add-signer",
        "--policy",
        str(root / "vouch.toml"),
        "--name",
        "a",
        "--ssh-key-file",
        f"{key}.pub",
    ]


CASES: list[tuple[str, Setup, int, list[str]]] = [  # what, setup, exit code, the hint's key words
    (
        "audit of a YAML file that is no CI file",
        _audit_unknown_yaml,
        2,
        ["not a GitHub workflow", "GitLab", "hint: pass"],
    ),
    ("audit of broken YAML", _audit_broken_yaml, 2, ["not valid YAML (line", "hint: fix the YAML"]),
    ("a private key for add-signer", _private_key, 2, ["is a private key", "hint: pass", ".pub"]),
    (
        "provenance verify of a misnamed file",
        _misnamed_dist,
        2,
        ["not an sdist or wheel name", "hint: pass the file"],
    ),
    (
        "policy init with no threshold and no terminal",
        _init_without_terminal,
        2,
        ["no terminal", "--threshold N"],
    ),
    ("add-signer without a policy", _add_signer_without_policy, 2, ["no policy at", "vouch policy init"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_message(
    case: tuple[str, Setup, int, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    what, setup, code, words = case
    args = setup(tmp_path)
    capsys.readouterr()
    assert main(args) == code, what
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert lines[0].startswith("error: ")
    assert len(lines) <= 2, err  # the message, and its hint
    assert all(line.startswith(("error: ", "hint: ")) for line in lines), err
    assert "Traceback" not in err
    assert "\x1b" not in err
    for word in words:
        assert word in err
    assert "validation error" not in err  # pydantic's text


def _file(name: str) -> IndexFile:
    return IndexFile(filename=name, url=f"https://files.example/{name}", sha256="0" * 64)


def test_a_release_that_does_not_exist_names_the_nearest_that_do() -> None:
    files = [_file(f"demo-{v}.tar.gz") for v in ("0.9", "1.0", "1.1", "1.2", "2.0", "2.1", "3.0")]
    files.append(_file("other-1.5.tar.gz"))
    message, hint = missing_release("https://user:pw@pypi.example/simple/", files, "demo", Version("1.5"))
    assert message == (
        "https://pypi.example/simple/ lists no sdist or wheel of demo 1.5; it lists 1.0, 1.1, 1.2, 2.0, 2.1"
    )
    assert hint == "pick a version it lists, e.g. demo==2.1"
    with pytest.raises(CheckError, match=r"lists no sdist or wheel of demo 9\.0; it lists") as raised:
        rebuildable_files(files, "demo", Version("9.0"))
    assert raised.value.hint is not None
    assert "demo==3.0" in raised.value.hint
    message, _ = missing_release("https://pypi.example/simple/", [], "demo", Version("1.0"))
    assert message.endswith("it lists no release of that project")


def test_compiled_wheels_are_one_line() -> None:
    wheels = [_file(f"demo-1.0-cp3{minor}-cp3{minor}-manylinux_2_17_x86_64.whl") for minor in range(8, 14)]
    wheels += [_file(f"demo-1.0-cp3{minor}-cp3{minor}-win_amd64.whl") for minor in range(8, 14)]
    with pytest.raises(VouchError) as raised:
        rebuildable_files([_file("demo-1.0.tar.gz"), *wheels], "demo", Version("1.0"))
    message = str(raised.value)
    assert "\n" not in message
    assert len(message) < 250
    assert "12 wheels hold compiled code, e.g. demo-1.0-cp38" in message
    assert raised.value.hint == "vouch rebuilds pure-Python wheels only (from the sdist)"


def test_a_failed_upload_shows_no_escape_codes() -> None:
    output = "\x1b[31mERROR   \x1b[0m NonInteractive: Credential not found for \x1b]8;;https://x\x1b\\username\x1b]8;;\x1b\\."
    assert scrub(output, []) == "ERROR    NonInteractive: Credential not found for username."
