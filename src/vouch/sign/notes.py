"""Evidence as git notes: signed statements travel beside the commit they describe, never in it.

A release manager's statement names the tagged commit; committing it (under ``release-evidence/``)
would make a new commit, which no statement names. So ``vouch sign --git-note`` appends the
envelope as one line of the note that ``refs/notes/vouch`` attaches to the statement's commit,
and ``--push REMOTE`` publishes the notes ref; CI fetches it
(``git fetch origin refs/notes/vouch:refs/notes/vouch``) and ``vouch check --git-notes`` reads the
note of the release commit as one more evidence source, each line named
``git-note:refs/notes/vouch@COMMIT:LINE``.

Concurrent signers never lose a line. In one clone, ``git notes append`` alone would lose one: git
moves the notes ref without checking its old value, so of two appends at once the later can write
a note without the other's line (a test saw 6 lines of 8). vouch therefore holds an exclusive lock
(``flock`` on ``vouch-notes.lock`` in the repository's git directory) while it appends, merges or
pushes, and reads the note back after appending: a line that is not there is an error, never a
silent loss. Across clones, publishing fetches the remote's notes, merges them with git's
``cat_sort_uniq`` strategy (the union of the lines of both notes of a commit), and pushes without
force; a push that lost a race is retried from the fetch.

The note is hostile input like any evidence file: it is read only when its blob is at most
``MAX_NOTE_BYTES``, then line by line by the evidence reader (a line longer than ``MAX_LINE``, not
UTF-8, not JSON or nested too deeply is rejected alone, the others count), and a statement in the
note of commit C that names another commit is rejected (``vouch.policy.check``).
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vouch.errors import SourceError, ToolError, UsageError
from vouch.host import Completed, Host
from vouch.sign.envelope import envelope_line
from vouch.sign.evidence import MAX_LINE, EvidenceLine, Signed, locked, read_evidence_stream

NOTES_REF = "refs/notes/vouch"
MAX_NOTE_BYTES = 64 * MAX_LINE  # a release's note holds a few lines of a few KiB each
PUSH_ATTEMPTS = 5
_TIMEOUT = 120.0
_REMOTE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@:/+~-]*")  # a remote's name or URL, never an option
_INCOMING = "refs/notes/vouch-incoming"  # the remote's notes, fetched here to be merged
_IDENTITY_HINT = "git records a note as a commit: set user.name and user.email (git config --global)"


@dataclass(frozen=True)
class Noted:
    commit: str
    remote: str | None  # where the notes ref was pushed, None when not pushed


def _git(repo: Path, *args: str, host: Host, stdin: bytes | None = None) -> Completed:
    git = host.tool("git", hint="install git")
    return host.run([git, "-C", str(repo), *args], stdin=stdin, timeout=_TIMEOUT)


def _failed(what: str, result: Completed, hint: str | None = None) -> ToolError:
    last = result.err.strip().splitlines()[-1:] or ["(no message)"]
    return ToolError(f"{what}: git says {last[0][:300]}", hint=hint)


def resolve_commit(repo: Path, rev: str, *, host: Host) -> str:
    """The full SHA of the commit ``rev`` names in ``repo`` (a tag is peeled to its commit)."""
    if not rev or rev.startswith("-") or any(c.isspace() for c in rev):
        raise UsageError(f"revision {rev!r} is not a plain revision name")
    result = _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", host=host)
    sha = result.out.strip()
    if not result.ok or not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", sha):
        raise SourceError(f"{repo} has no commit {rev!r}", hint="fetch the tag (git fetch origin tag TAG)")
    return sha


def append_note(signed: Signed, repo: Path, *, host: Host | None = None) -> str:
    """Append ``signed``'s envelope as one line of the note of its statement's commit in ``repo``."""
    host = host or Host()
    commit = resolve_commit(repo, signed.statement.commit, host=host)
    line = envelope_line(signed.envelope).encode() + b"\n"
    with notes_lock(repo, host=host):
        result = _git(repo, "notes", "--ref", NOTES_REF, "append", "--file", "-", commit,
                      stdin=line, host=host)  # fmt: skip
        if not result.ok:
            raise _failed(f"cannot append to the note of {commit} in {repo}", result, _IDENTITY_HINT)
        shown = _git(repo, "notes", "--ref", NOTES_REF, "show", commit, host=host)
    if not shown.ok or line not in shown.stdout:
        problem = f"another program changed {NOTES_REF} at the same time"
        raise ToolError(f"the line appended to the note of {commit} in {repo} is not in it: {problem}",
                        hint="run the same command again")  # fmt: skip
    return commit


@contextlib.contextmanager
def notes_lock(repo: Path, *, host: Host) -> Iterator[None]:
    """Hold the exclusive lock that serialises vouch's changes to the notes ref of ``repo``."""
    found = _git(repo, "rev-parse", "--path-format=absolute", "--git-common-dir", host=host)
    common = Path(found.out.strip())
    if not found.ok or not common.is_absolute() or not common.is_dir():
        raise _failed(f"cannot find the git directory of {repo}", found)
    with locked(common / "vouch-notes.lock"):
        yield


def push_notes(repo: Path, remote: str, *, host: Host | None = None) -> None:
    """Publish ``refs/notes/vouch`` to ``remote`` without losing anyone's line: fetch the remote's
    notes, merge them (``cat_sort_uniq``), push without force; retried when another signer won."""
    host = host or Host()
    if not _REMOTE.fullmatch(remote):
        raise UsageError(f"--push {remote!r} is not a remote name or URL")
    for _ in range(PUSH_ATTEMPTS):
        with notes_lock(repo, host=host):
            _fetch_and_merge(repo, remote, host=host)
            pushed = _git(repo, "push", "--quiet", remote, f"{NOTES_REF}:{NOTES_REF}", host=host)
        if pushed.ok:
            return
        if "rejected" not in pushed.err and "fetch first" not in pushed.err:
            raise _failed(f"cannot push {NOTES_REF} to {remote}", pushed)
    raise ToolError(f"{remote}'s {NOTES_REF} kept changing: {PUSH_ATTEMPTS} pushes were rejected",
                    hint="run the same command again")  # fmt: skip


def fetch_notes(repo: Path, remote: str, *, host: Host | None = None) -> None:
    """Merge ``remote``'s ``refs/notes/vouch`` into the local one, keeping every line of both."""
    host = host or Host()
    with notes_lock(repo, host=host):
        _fetch_and_merge(repo, remote, host=host)


def _fetch_and_merge(repo: Path, remote: str, *, host: Host) -> None:
    fetched = _git(repo, "fetch", "--quiet", remote, f"+{NOTES_REF}:{_INCOMING}", host=host)
    if not fetched.ok:
        if "couldn't find remote ref" in fetched.err:
            return  # nobody has pushed notes yet
        raise _failed(f"cannot fetch {NOTES_REF} from {remote}", fetched)
    merged = _git(repo, "notes", "--ref", NOTES_REF, "merge", "--quiet", "--strategy", "cat_sort_uniq",
                  _INCOMING, host=host)  # fmt: skip
    if not merged.ok:
        raise _failed(f"cannot merge {remote}'s {NOTES_REF}", merged, _IDENTITY_HINT)


def read_note(repo: Path, rev: str, *, host: Host | None = None) -> tuple[str, list[EvidenceLine]]:
    """The commit ``rev`` names, and the evidence lines of its note (none when it has no note).

    Every line is tied to that commit: a statement in it that names another one is rejected."""
    host = host or Host()
    commit = resolve_commit(repo, rev, host=host)
    origin = f"git-note:{NOTES_REF}@{commit}"
    listed = _git(repo, "notes", "--ref", NOTES_REF, "list", commit, host=host)
    blob = listed.out.strip()
    if not listed.ok or not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", blob):
        return commit, []
    size = _git(repo, "cat-file", "-s", blob, host=host)
    if not size.ok or not size.out.strip().isdigit():
        raise _failed(f"cannot read the note of {commit}", size)
    if int(size.out) > MAX_NOTE_BYTES:
        problem = f"the note is {int(size.out)} bytes, more than {MAX_NOTE_BYTES}; not read"
        return commit, [EvidenceLine(origin, "", None, problem, commit)]
    content = _git(repo, "cat-file", "blob", blob, host=host)
    if not content.ok:
        raise _failed(f"cannot read the note of {commit}", content)
    return commit, read_evidence_stream(io.BytesIO(content.stdout[: MAX_NOTE_BYTES + 1]), origin, commit)
