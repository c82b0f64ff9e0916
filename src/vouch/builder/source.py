"""The source of a build: a git revision, exported as a fresh checkout of its tracked tree.

The build never sees the user's working tree. The revision is checked out into a new clone that
shares the repository's objects, with git's system and global configuration switched off (so a
user's ``core.autocrlf`` or filters cannot change the bytes) and umask 022. The clone keeps the
repository's tags, so version plugins (setuptools-scm, hatch-vcs, pdm-backend's scm source) find
the same version a rebuilder finds. Every file's mtime is set to SOURCE_DATE_EPOCH.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from vouch.errors import SourceError, ToolError
from vouch.git import git_environment
from vouch.host import Completed, Runner, run_process
from vouch.index.urls import redact


@dataclass(frozen=True)
class Source:
    """A resolved git revision."""

    toplevel: Path
    repository: str
    commit: str
    ref: str
    subdir: str
    commit_time: int
    dirty: bool


def git(args: Sequence[str], cwd: Path, *, run: Runner = run_process, hermetic: bool = False) -> Completed:
    """Run ``git ARGS`` in ``cwd`` (umask 022), never in a repository named by the caller's
    ``GIT_DIR``/``GIT_WORK_TREE``/``GIT_INDEX_FILE``; ``hermetic`` also switches off git's system
    and global configuration and its prompts (:mod:`vouch.git`'s environment, on an explicit runner)."""
    return run(["git", *args], cwd=cwd, env=git_environment(hermetic=hermetic), umask=0o022)


def check_subdir(subdir: str) -> str:
    path = PurePosixPath(subdir)
    if path.is_absolute() or ".." in path.parts:
        raise SourceError(f"--subdir {subdir!r} must be a relative path inside the repository")
    text = path.as_posix()
    return "" if text == "." else text


def open_source(path: Path, rev: str = "HEAD", subdir: str = "", *, run: Runner = run_process) -> Source:
    """Resolve ``rev`` in the git working tree at ``path``; refuse anything that is not one."""
    if not path.is_dir():
        raise SourceError(f"{path} is not a directory")
    top = git(["rev-parse", "--show-toplevel"], path, run=run)
    if top.returncode != 0:
        raise SourceError(
            f"{path} is not a git repository", hint="vouch builds from a git revision: git init"
        )
    toplevel = Path(top.out.strip())
    verify = ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"]
    resolved = git(verify, path, run=run)
    if resolved.returncode != 0:
        raise SourceError(f"unknown revision {rev!r} in {toplevel}")
    commit = resolved.out.strip()
    subdir = check_subdir(subdir)
    if subdir and git(["cat-file", "-e", f"{commit}:{subdir}"], toplevel, run=run).returncode != 0:
        raise SourceError(f"directory {subdir!r} does not exist at {rev} ({commit[:12]})")
    when = git(["show", "-s", "--format=%ct", commit], toplevel, run=run)
    remote = git(["config", "--get", "remote.origin.url"], toplevel, run=run)
    status = git(["status", "--porcelain", "--untracked-files=no"], toplevel, run=run)
    return Source(
        toplevel=toplevel,
        repository=redact(remote.out.strip()) if remote.returncode == 0 else str(toplevel),
        commit=commit,
        ref=rev,
        subdir=subdir,
        commit_time=int(when.out.strip()),
        dirty=bool(status.out.strip()),
    )


def export_tree(source: Source, dest: Path, source_date_epoch: int, *, run: Runner = run_process) -> Path:
    """Check out ``source.commit`` into a new clone at ``dest``; return the project directory."""
    clone = git(
        ["clone", "--quiet", "--no-checkout", "--shared", "--", str(source.toplevel), str(dest)],
        source.toplevel,
        run=run,
        hermetic=True,
    )
    if clone.returncode != 0:
        raise ToolError(f"git clone of {source.toplevel} failed: {clone.err.strip()}")
    # parallel checkout (one worker per core) writes the same files, faster
    checkout_args = ["-c", "checkout.workers=0", "checkout", "--quiet", "--detach", source.commit]
    checkout = git(checkout_args, dest, run=run, hermetic=True)
    if checkout.returncode != 0:
        raise ToolError(f"git checkout of {source.commit} failed: {checkout.err.strip()}")
    set_mtimes(dest, source_date_epoch)
    return dest / source.subdir if source.subdir else dest


def set_mtimes(root: Path, epoch: int) -> None:
    """Set the mtime (and atime) of everything under ``root`` but ``.git`` to ``epoch``."""
    for dirpath, dirnames, filenames in os.walk(root):
        if ".git" in dirnames:
            dirnames.remove(".git")
        for name in filenames:
            os.utime(Path(dirpath) / name, (epoch, epoch), follow_symlinks=False)
        os.utime(dirpath, (epoch, epoch))
