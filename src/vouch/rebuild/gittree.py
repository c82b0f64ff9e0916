"""A release's git tag and the tree it names, read from the repository's objects (never a working tree).

The tag is found from the version: ``V``, ``vV``, ``NAME-V`` (with the project name as published,
normalised, and with underscores), or named by ``--rev``. The tree is listed with ``git ls-tree``
and the blobs are read with one ``git cat-file --batch``, only those asked for, bounded in number
and size, with git's system and global configuration switched off (no filter, no autocrlf).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import Version

from vouch.archive.members import DEFAULT_LIMITS, Limits
from vouch.errors import SourceError, ToolError, VerificationError
from vouch.git import HERMETIC_GIT_ENV
from vouch.host import Completed, Host

GIT_TIMEOUT = 300.0


@dataclass(frozen=True)
class TreeEntry:
    path: str
    mode: str  # git's: 100644, 100755, 120000 (a symbolic link), 160000 (a submodule)
    oid: str
    size: int


@dataclass(frozen=True)
class Tag:
    name: str
    commit: str
    commit_time: int
    tried: tuple[str, ...]


def _git(host: Host, repo: Path, args: list[str], stdin: bytes | None = None) -> Completed:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | HERMETIC_GIT_ENV
    return host.run(
        [host.tool("git", hint="install git"), "-C", str(repo), *args],
        env=env, stdin=stdin, timeout=GIT_TIMEOUT,
    )  # fmt: skip


def tag_candidates(name: str, version: str) -> list[str]:
    """The tag names a release of ``name`` ``version`` is usually tagged with, most common first."""
    names = dict.fromkeys([name, canonicalize_name(name), canonicalize_name(name).replace("-", "_")])
    versions = dict.fromkeys([version, str(Version(version))])
    found: list[str] = []
    for text in versions:
        found += [text, f"v{text}"]
        found += [f"{project}-{text}" for project in names]
        found += [f"{project}-v{text}" for project in names]
    return list(dict.fromkeys(found))


def find_tag(repo: Path, name: str, version: str, rev: str | None, host: Host) -> Tag:
    """The commit of the release's tag (or of ``rev``), and its commit time."""
    if not repo.is_dir():
        raise SourceError(f"--source {repo} is not a directory", hint="give a local git clone of the project")
    if not _git(host, repo, ["rev-parse", "--git-dir"]).ok:
        raise SourceError(f"--source {repo} is not a git repository", hint="give a local git clone")
    tried = [rev] if rev is not None else tag_candidates(name, version)
    for candidate in tried:
        ref = candidate if rev is not None else f"refs/tags/{candidate}"
        verify = ["rev-parse", "--verify", "--quiet", "--end-of-options"]
        found = _git(host, repo, [*verify, f"{ref}^{{commit}}"])
        if found.ok:
            commit = found.out.strip()
            when = _git(host, repo, ["show", "-s", "--format=%ct", commit])
            if not when.ok:
                raise ToolError(f"git cannot read commit {commit[:12]}: {when.err.strip()}")
            return Tag(candidate, commit, int(when.out.strip()), tuple(tried))
    if rev is not None:
        raise SourceError(f"{rev!r} is not a revision of {repo}", hint="fetch the tags: git fetch --tags")
    raise SourceError(
        f"no tag for {name} {version} in {repo} (tried {', '.join(tried)})",
        hint="name the release's revision with --rev, or fetch the tags: git fetch --tags",
    )


def list_tree(repo: Path, commit: str, host: Host, limits: Limits = DEFAULT_LIMITS) -> dict[str, TreeEntry]:
    """Every entry of ``commit``'s tree, recursively, by path."""
    listed = _git(host, repo, ["ls-tree", "-r", "-z", "-l", "--full-tree", commit])
    if not listed.ok:
        raise ToolError(f"git ls-tree {commit[:12]} failed: {listed.err.strip()}")
    entries: dict[str, TreeEntry] = {}
    for record in listed.stdout.split(b"\0"):
        if not record:
            continue
        head, _, raw_path = record.partition(b"\t")
        fields = head.split()
        if len(fields) != 4:
            raise ToolError(f"git ls-tree printed an unexpected line: {record[:80]!r}")
        mode, _, oid, size = (f.decode("ascii") for f in fields)
        path = raw_path.decode("utf-8", "surrogateescape")
        entries[path] = TreeEntry(path, mode, oid, int(size) if size.isdigit() else 0)
        if len(entries) > limits.max_members:
            raise VerificationError(f"the tree of {commit[:12]} has more than {limits.max_members} files")
    return entries


def read_blobs(
    repo: Path, entries: Iterable[TreeEntry], host: Host, limits: Limits = DEFAULT_LIMITS
) -> dict[str, bytes]:
    """The content of ``entries`` (blobs: files and symbolic links), by path, in one git process."""
    wanted = [e for e in entries if e.mode != "160000"]
    if sum(e.size for e in wanted) > limits.max_total_size:
        raise VerificationError(f"the tagged files exceed {limits.max_total_size} bytes")
    if not wanted:
        return {}
    batch = _git(host, repo, ["cat-file", "--batch"], stdin=b"".join(f"{e.oid}\n".encode() for e in wanted))
    if not batch.ok:
        raise ToolError(f"git cat-file failed: {batch.err.strip()}")
    out, at, blobs = batch.stdout, 0, {}
    for entry in wanted:
        end = out.find(b"\n", at)
        header = out[at:end].split()
        if end < 0 or len(header) != 3 or header[0].decode() != entry.oid or header[1] != b"blob":
            raise ToolError(f"git cat-file answered unexpectedly for {entry.path}")
        size = int(header[2])
        blobs[entry.path] = out[end + 1 : end + 1 + size]
        at = end + 1 + size + 1
    return blobs
