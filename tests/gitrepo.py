"""Real git repositories for tests, isolated from the machine's git configuration."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Release Tester",
    "GIT_AUTHOR_EMAIL": "tester@example.org",
    "GIT_COMMITTER_NAME": "Release Tester",
    "GIT_COMMITTER_EMAIL": "tester@example.org",
}


def git(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=os.environ | GIT_ENV | dict(env or {}),
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def make_repo(
    path: Path,
    files: Mapping[str, str | bytes],
    *,
    executables: tuple[str, ...] = (),
    tag: str | None = None,
    commit_date: str = "2025-06-01T12:00:00+00:00",
) -> str:
    """Create a git repository at ``path`` holding ``files``, commit them; return the commit."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "--initial-branch=main")
    for name, content in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
        if name in executables:
            target.chmod(0o755)
    git(path, "add", "--all")
    dates = {"GIT_AUTHOR_DATE": commit_date, "GIT_COMMITTER_DATE": commit_date}
    git(path, "commit", "--quiet", "-m", "release", env=dates)
    if tag is not None:
        git(path, "tag", "-a", tag, "-m", tag, env=dates)
    return git(path, "rev-parse", "HEAD")
