"""Release managers' statements reach CI as git notes, and the tagged commit never changes.

End to end with real git and real SSH keys: a bare "origin", a tag, two release managers in their
own clones who build, sign with `--git-note` and push at the same time, and a shell script that
does what the generated workflows' check job does (a fresh clone, the tag and the notes ref
fetched, a build, CI's own signature, `vouch check --git-notes`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests import intree
from tests.gitrepo import GIT_ENV, git, make_repo
from tests.keys import ssh_key
from tests.localindex import PASSWORD, USER, LocalIndex

TAG = "v1.0"
ENV = os.environ | GIT_ENV
CI_JOB = """\
set -eu
git clone --quiet --no-checkout "$ORIGIN" ci
cd ci
git fetch --quiet origin "refs/tags/$TAG:refs/tags/$TAG"
git checkout --quiet "$TAG"
git fetch --quiet origin refs/notes/vouch:refs/notes/vouch
"$VOUCH" build . --out dist > /dev/null
"$VOUCH" sign dist/*.buildinfo.json --key "ssh:$CI_KEY" --role ci --evidence ci.intoto.jsonl > /dev/null
"$VOUCH" check dist/*.tar.gz dist/*.whl --policy vouch.toml --evidence ci.intoto.jsonl \\
  --git-notes --rev "$TAG" --json
"""


def vouch(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vouch", *args], cwd=cwd, env=ENV, capture_output=True,
                          text=True, check=False, timeout=600)  # fmt: skip


def _pub(key: Path) -> str:
    return " ".join(key.with_name(key.name + ".pub").read_text().split()[:2])


def _policy(alice: Path, bob: Path, ci: Path) -> str:
    signers = [("alice", "releaser", alice), ("bob", "releaser", bob), ("ci", "ci", ci)]
    return "threshold = 3\n[require]\nci = 1\n" + "".join(
        f'[[signers]]\nname = "{name}"\nroles = ["{role}"]\nssh-key = "{_pub(key)}"\n'
        for name, role, key in signers
    )


def ci_job(root: Path, ci_key: Path) -> tuple[int, dict[str, Any], str]:
    job = root / "job"
    job.mkdir()
    env = ENV | {"ORIGIN": str(root / "origin.git"), "TAG": TAG, "CI_KEY": str(ci_key),
                 "VOUCH": str(root / "vouch")}  # fmt: skip
    result = subprocess.run(["sh", "-c", CI_JOB], cwd=job, env=env, capture_output=True, text=True,
                            check=False, timeout=900)  # fmt: skip
    try:
        report = json.loads(result.stdout)
    except ValueError:
        report = {}
    (job / "ci").rename(root / f"ci-{len(list(root.glob('ci-*')))}")
    job.rmdir()
    return result.returncode, report, result.stderr


@pytest.fixture
def origin(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    keys = {name: ssh_key(tmp_path / "keys", name) for name in ("alice", "bob", "ci")}
    files = intree.files() | {"vouch.toml": _policy(keys["alice"], keys["bob"], keys["ci"])}
    make_repo(tmp_path / "author", files, tag=TAG)
    git(tmp_path, "init", "--quiet", "--bare", "origin.git")
    git(tmp_path / "author", "push", "--quiet", str(tmp_path / "origin.git"), "main", TAG)
    launcher = tmp_path / "vouch"  # `vouch` as the CI job calls it, run by this Python
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m vouch "$@"\n')
    launcher.chmod(0o755)
    return tmp_path, keys


def _manager(root: Path, name: str) -> Path:
    clone = root / name
    git(root, "clone", "--quiet", str(root / "origin.git"), name)
    built = vouch("build", str(clone), "--rev", TAG, "--out", str(root / f"{name}-dist"), cwd=root)
    assert built.returncode == 0, built.stderr
    return clone


def _note(repository: Path, commit: str) -> list[str]:
    return [line for line in git(repository, "notes", "--ref", "vouch", "show", commit).splitlines() if line]


def test_two_managers_and_ci_pass_through_git_notes_without_touching_the_tag(
    origin: tuple[Path, dict[str, Path]],
) -> None:
    root, keys = origin
    tag_object = git(root / "origin.git", "rev-parse", TAG)
    commit = git(root / "origin.git", "rev-parse", f"{TAG}^{{commit}}")
    clones = {name: _manager(root, name) for name in ("alice", "bob")}
    # both sign and push at once: one of the pushes races the other, and no line is lost
    signing = {
        name: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vouch",
                "sign",
                str(root / f"{name}-dist" / "demo_intree-1.0.buildinfo.json"),
                "--key",
                f"ssh:{keys[name]}",
                "--role",
                "releaser",
                "--git-note",
                "--repo",
                str(clone),
                "--push",
                "origin",
            ],
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, clone in clones.items()
    }
    for name, process in signing.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, (name, err)
        assert f"appended to the note refs/notes/vouch of {commit}, pushed to origin" in out
        assert not list((root / f"{name}-dist").glob("*.intoto.jsonl"))  # the note, not a file
    assert len(_note(root / "origin.git", commit)) == 2

    code, report, err = ci_job(root, keys["ci"])
    assert code == 0, (report, err)
    assert [a["vouched_by"] for a in report["artifacts"]] == [["alice", "bob", "ci"]] * 2
    assert report["commits"] == [commit]
    assert report["rejected"] == []
    # the tagged commit and the tag are what they were: nothing was committed to hand evidence over
    assert git(root / "origin.git", "rev-parse", TAG) == tag_object
    assert git(root / "origin.git", "rev-parse", f"{TAG}^{{commit}}") == commit
    assert git(root / "ci-0", "rev-parse", "HEAD") == commit
    assert git(root / "origin.git", "rev-parse", "main") == commit
    assert git(root / "ci-0", "status", "--porcelain", "--untracked-files=no") == ""

    # without the notes, CI alone is one of three
    code, report, _ = ci_job_without_notes(root, keys["ci"])
    assert code == 1
    assert report["artifacts"][0]["missing"] == ["2 more trusted signer(s) (have 1 of 3)"]

    # the publish job's gate reads the notes itself (as GitLab's generated job does): without them it
    # uploads nothing; with them the release reaches a real index
    server = LocalIndex(root / "index")
    server.start()
    try:
        publish = ["publish", "dist/demo_intree-1.0.tar.gz", "dist/demo_intree-1.0-py3-none-any.whl",
                   "--repository", server.upload_url, "--policy", "vouch.toml",
                   "--evidence", "ci.intoto.jsonl", "--json"]  # fmt: skip
        env = ENV | {"TWINE_USERNAME": USER, "TWINE_PASSWORD": PASSWORD}
        refused = subprocess.run([sys.executable, "-m", "vouch", *publish], cwd=root / "ci-0", env=env,
                                 capture_output=True, text=True, check=False, timeout=600)  # fmt: skip
        assert refused.returncode == 1, refused.stderr
        assert not list(server.packages.iterdir())
        published = subprocess.run([sys.executable, "-m", "vouch", *publish, "--git-notes", "--rev", TAG],
                                   cwd=root / "ci-0", env=env, capture_output=True, text=True, check=False,
                                   timeout=600)  # fmt: skip
        assert published.returncode == 0, published.stderr
        files = json.loads(published.stdout)["files"]
        assert [(f["filename"], f["action"]) for f in files] == [
            ("demo_intree-1.0.tar.gz", "uploaded"), ("demo_intree-1.0-py3-none-any.whl", "uploaded")]
        assert sorted(p.name for p in server.packages.iterdir()) == [
            "demo_intree-1.0-py3-none-any.whl", "demo_intree-1.0.tar.gz"]
    finally:
        server.stop()


def ci_job_without_notes(root: Path, ci_key: Path) -> tuple[int, dict[str, Any], str]:
    clone = root / "ci-0"
    dist = clone / "dist"
    artifacts = [str(dist / "demo_intree-1.0.tar.gz"), str(dist / "demo_intree-1.0-py3-none-any.whl")]
    options = ["--policy", "vouch.toml", "--evidence", "ci.intoto.jsonl", "--json"]
    result = vouch("check", *artifacts, *options, cwd=clone)
    return result.returncode, json.loads(result.stdout), result.stderr


def test_a_line_over_another_commit_and_hostile_lines_are_rejected_alone(
    origin: tuple[Path, dict[str, Path]],
) -> None:
    root, keys = origin
    commit = git(root / "origin.git", "rev-parse", f"{TAG}^{{commit}}")
    alice = _manager(root, "alice")
    bob = _manager(root, "bob")
    for name, clone in (("alice", alice), ("bob", bob)):
        signed = vouch("sign", str(root / f"{name}-dist" / "demo_intree-1.0.buildinfo.json"), "--key",
                       f"ssh:{keys[name]}", "--role", "releaser", "--git-note", "--repo", str(clone),
                       "--push", "origin", cwd=root)  # fmt: skip
        assert signed.returncode == 0, signed.stderr
    # alice also signs the same artifacts as built from another commit (a later one on main) ...
    (alice / "CHANGES").write_text("after the release\n")
    git(alice, "add", "CHANGES")
    git(alice, "commit", "--quiet", "-m", "after")
    other = git(alice, "rev-parse", "HEAD")
    artifacts = sorted(
        str(p) for p in (root / "alice-dist").iterdir() if p.name.endswith((".whl", ".tar.gz"))
    )
    stray = root / "stray.intoto.jsonl"
    signed = vouch("sign", *artifacts, "--source-commit", other, "--key", f"ssh:{keys['alice']}",
                   "--role", "releaser", "--evidence", str(stray), cwd=root)  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    # ... and that line, a huge line, garbage and a deeply nested document land in the tag's note
    hostile = [stray.read_bytes(), b"x" * (2 << 20) + b"\n", b"garbage {\n", b"[" * 100_000 + b"\n"]
    for number, line in enumerate(hostile):
        (root / f"line-{number}").write_bytes(line)
        git(alice, "notes", "--ref", "vouch", "append", "-F", str(root / f"line-{number}"), commit)
    pushed = subprocess.run([sys.executable, "-c", "from pathlib import Path; from vouch.sign.notes import "
                             f"push_notes; push_notes(Path({str(alice)!r}), 'origin')"],
                            env=ENV, capture_output=True, text=True, check=False)  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr
    assert len(_note(root / "origin.git", commit)) == 6

    code, report, err = ci_job(root, keys["ci"])
    assert code == 0, (report, err)
    assert [a["vouched_by"] for a in report["artifacts"]] == [["alice", "bob", "ci"]] * 2
    reasons = {r["reason"]: r["evidence"] for r in report["rejected"]}
    assert len(reasons) == 4, report["rejected"]
    origin_prefix = f"git-note:refs/notes/vouch@{commit}:"
    assert all(source.startswith(origin_prefix) for source in reasons.values())
    assert any(f"signed over commit {other}, but it is in the note of commit {commit}" in r for r in reasons)
    assert any("longer than" in r for r in reasons)
    assert any(r.startswith("malformed") and "nested deeper than" in r for r in reasons)
    assert sum(r.startswith("malformed") for r in reasons) == 2
    assert git(root / "origin.git", "rev-parse", f"{TAG}^{{commit}}") == commit


def test_eight_signers_appending_in_one_clone_at_once_lose_no_line(
    origin: tuple[Path, dict[str, Path]],
) -> None:
    # git updates the notes ref without checking its old value, so two `git notes append` in one
    # clone can each write a note that lacks the other's line; vouch serialises its appends
    root, keys = origin
    clone = _manager(root, "alice")
    commit = git(clone, "rev-parse", f"{TAG}^{{commit}}")
    record = root / "alice-dist" / "demo_intree-1.0.buildinfo.json"
    signers = [keys[("alice", "bob")[index % 2]] for index in range(8)]
    commands = [
        [sys.executable, "-m", "vouch", "sign", str(record), "--key", f"ssh:{key}", "--role", f"role{index}",
         "--git-note", "--repo", str(clone)]
        for index, key in enumerate(signers)
    ]  # fmt: skip
    processes = [subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for command in commands]  # fmt: skip
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    lines = _note(clone, commit)
    assert len(lines) == 8
    assert len(set(lines)) == 8  # each signer's own statement (its role differs), none lost
