"""The release's repository from a URL: ``--source URL``, or ``--source auto`` (the release's Project-URL).

A URL is hostile input, and the release's ``Project-URL`` metadata doubly so. Before git sees it:
- only ``https://`` (plain ``http://`` to a loopback address only through :class:`RemotePolicy`'s
  ``loopback_http``, a seam for tests that is never on by default);
- no credentials, no query, no fragment, no whitespace or control characters, no option-looking
  text, at most :data:`MAX_URL` characters: so no ``ext::``/``file::`` transport, no ``-u...`` option.
Then git runs with every transport switched off but https (``-c protocol.allow=never -c
protocol.https.allow=always`` and ``GIT_ALLOW_PROTOCOL``, which redirects obey too), with no
credential helper, no prompt, no redirect, nobody's configuration, ``--`` before the URL, each step
under the clone's deadline (the host runner's timeout, :data:`CLONE_TIMEOUT` for all of them). Only
the release's tag is fetched, one commit deep (``--depth 1``): one tree, not the project's history
(git has no byte limit for a fetch: the deadline bounds it; the tree is then read within the archive
limits, :mod:`vouch.rebuild.gittree`). The clone goes into a temporary folder that vouch names,
never a path built from the URL.
"""

from __future__ import annotations

import ipaddress
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from vouch.archive.members import Member, MemberType
from vouch.errors import NetworkError, SourceError, ToolError
from vouch.git import HERMETIC_GIT_ENV
from vouch.host import Completed, Host, Progress
from vouch.index.urls import redact
from vouch.rebuild.gittree import tag_candidates

MAX_URL = 2048
CLONE_TIMEOUT = 300.0  # seconds for listing, fetching and checking the release's tag, all together
MAX_REFS_OUTPUT = 1 << 20
LOW_SPEED_BYTES, LOW_SPEED_SECONDS = 1024, 30  # a transfer slower than 1 KiB/s for 30 s is abandoned
# Project-URL labels that name the repository, most specific first (normalised as PEP 753 says)
SOURCE_LABELS = ("source", "sourcecode", "repository", "repo", "code", "git", "github", "gitlab")
FORGES = frozenset({"github.com", "gitlab.com", "codeberg.org", "bitbucket.org"})
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f\\]")
_HEX = re.compile(r"^[0-9a-f]{40}$|^[0-9a-f]{64}$")


@dataclass(frozen=True)
class RemotePolicy:
    """Which URLs may be cloned and how long a clone may take. ``loopback_http`` lets plain http
    reach 127.0.0.1 / ::1 only: the tests' seam (GitHub is not served on loopback); never on by default."""

    loopback_http: bool = False
    timeout: float = CLONE_TIMEOUT


@dataclass(frozen=True)
class Remote:
    url: str
    label: str  # how it was chosen: "--source" or "Project-URL 'Source'"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, policy: RemotePolicy, *, what: str = "--source") -> str:
    """``url`` if git may fetch it (see the module); otherwise a :class:`SourceError` (exit 2)."""
    shown = redact(url) if len(url) <= 200 and not _UNSAFE.search(url) else f"{redact(url[:60])!r}..."
    refuse = f"{what} {shown} is refused"
    if len(url) > MAX_URL or _UNSAFE.search(url):
        raise SourceError(f"{refuse}: too long or holds whitespace or control characters")
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise SourceError(f"{refuse}: not a URL ({exc})") from None
    allowed = url.startswith("https://") or (
        policy.loopback_http and url.startswith("http://") and _loopback(parts.hostname or "")
    )
    if not allowed:
        raise SourceError(f"{refuse}: only https:// URLs are cloned",
                          hint="give an https:// URL of the repository, or a local clone")  # fmt: skip
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise SourceError(f"{what} URL is refused: it carries credentials",
                          hint="give the URL without user:password@")  # fmt: skip
    if not parts.hostname or parts.hostname.startswith("-") or (port is not None and not 0 < port < 65536):
        raise SourceError(f"{refuse}: no usable host")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise SourceError(f"{refuse}: a repository URL has no query or fragment")
    if "::" in parts.path or any(segment.startswith("-") for segment in parts.path.split("/")):
        raise SourceError(f"{refuse}: it looks like a git transport or an option")
    return url


def project_urls(sdist: Sequence[Member]) -> list[tuple[str, str, str]]:
    """The ``Project-URL`` entries and the ``Home-page`` of the sdist's top ``PKG-INFO``: (label,
    URL, how the report names it)."""
    tops = {m.name.split("/", 1)[0] for m in sdist}
    top = tops.pop() if len(tops) == 1 else ""
    member = next((m for m in sdist if m.name == f"{top}/PKG-INFO" and m.type is MemberType.FILE), None)
    if member is None:
        raise SourceError("the sdist has no PKG-INFO to read a Project-URL from",
                          hint="give --source PATH_OR_URL")  # fmt: skip
    headers = HeaderParser().parsestr(member.data.decode("utf-8", "replace"))
    found = []
    for value in headers.get_all("Project-URL") or []:
        label, _, url = str(value).partition(",")
        found.append((label.strip(), url.strip(), f"Project-URL {label.strip()!r}"))
    if home := headers.get("Home-page"):
        found.append(("Home-page", str(home).strip(), "the Home-page field"))
    return found


def _normalised(label: str) -> str:
    """A label as PEP 753 compares it: lower case, without punctuation or whitespace."""
    return re.sub(r"[\s!-/:-@\[-`{-~]", "", label).lower()


def _forge_repository(url: str) -> str:
    """On a known forge, ``https://github.com/o/r/tree/main`` is the repository ``https://github.com/o/r``."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if (parts.hostname or "") in FORGES and len(segments) >= 2:
        return f"https://{parts.netloc}/{segments[0]}/{segments[1]}"
    return url


def repository_from_metadata(sdist: Sequence[Member], policy: RemotePolicy) -> Remote:
    """The repository named by the release's ``Project-URL`` (labels :data:`SOURCE_LABELS`, in that
    order; a home page only on a known forge), checked by :func:`check_url`."""
    entries = project_urls(sdist)
    by_label = {_normalised(label): (url, named) for label, url, named in reversed(entries)}
    chosen = next((by_label[key] for key in SOURCE_LABELS if key in by_label), None)
    if chosen is None:
        home = by_label.get("homepage")
        if home is not None and (urlsplit(home[0]).hostname or "") in FORGES:
            chosen = home
    if chosen is None:
        listed = ", ".join(label for label, _, _ in entries) or "none"
        raise SourceError(f"no Project-URL of the release names its repository (labels: {listed})",
                          hint="give --source PATH_OR_URL")  # fmt: skip
    url, named = chosen
    return Remote(_forge_repository(check_url(url, policy, what=named)), named)


def _git_env(policy: RemotePolicy) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "SSH_"))} | HERMETIC_GIT_ENV
    return env | {"GIT_ALLOW_PROTOCOL": "https:http" if policy.loopback_http else "https"}


def _protocols(policy: RemotePolicy) -> list[str]:
    allowed = ["-c", "protocol.allow=never", "-c", "protocol.https.allow=always"]
    if policy.loopback_http:
        allowed += ["-c", "protocol.http.allow=always"]
    quiet = ["-c", "credential.helper=", "-c", "core.askPass=", "-c", "http.followRedirects=false"]
    stalled = ["-c", f"http.lowSpeedLimit={LOW_SPEED_BYTES}", "-c", f"http.lowSpeedTime={LOW_SPEED_SECONDS}"]
    return [*allowed, *quiet, *stalled]


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds
        self.seconds = seconds

    def left(self, what: str) -> float:
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            raise NetworkError(f"{what}: the clone did not finish in {self.seconds:.0f} s")
        return remaining


def _run(host: Host, repo: Path, args: list[str], policy: RemotePolicy, deadline: _Deadline) -> Completed:
    git = host.tool("git", hint="install git")
    return host.run([git, "-C", str(repo), *_protocols(policy), *args], env=_git_env(policy),
                    timeout=deadline.left(f"git {args[0]}"), umask=0o022)  # fmt: skip


def fetch_release(
    remote: Remote,
    release: tuple[str, str],
    rev: str | None,
    dest: Path,
    *,
    host: Host,
    policy: RemotePolicy,
    progress: Progress,
) -> Path:
    """A new repository at ``dest`` holding the release's tag (or ``rev``) fetched from ``remote``, one
    commit deep. The tag is looked for among the usual names (``V``, ``vV``, ``NAME-V``)."""
    deadline = _Deadline(policy.timeout)
    dest.mkdir(parents=True)
    init = host.run([host.tool("git"), "init", "--quiet", str(dest)], env=_git_env(policy), umask=0o022,
                    timeout=deadline.left("git init"))  # fmt: skip
    if not init.ok:
        raise ToolError(f"git init failed: {init.err.strip()[:300]}")
    name, version = release
    wanted = [rev] if rev is not None else tag_candidates(name, version)
    patterns = [f"refs/tags/{w}" for w in wanted] + ([f"refs/heads/{rev}"] if rev is not None else [])
    progress(f"listing the tags of {remote.url} ({remote.label})")
    refs = _list_refs(host, dest, remote, patterns, policy=policy, deadline=deadline)
    ref = next((p for p in patterns if p in refs), None)
    refspecs = [f"+{ref}:{ref}"] if ref is not None else []
    if ref is None and rev is not None and _HEX.match(rev):
        # a commit named by its id (GitHub and GitLab serve it), with the tags that name it, which
        # version plugins read; kept on a branch so that the export's clone takes it along
        tags = _list_refs(host, dest, remote, [], policy=policy, deadline=deadline)
        naming = {t.removesuffix("^{}") for t, oid in tags.items() if oid == rev}
        refspecs = [f"+{rev}:refs/heads/vouch-rev", *(f"+{t}:{t}" for t in sorted(naming))]
    if not refspecs:
        raise SourceError(f"no tag for {name} {version} at {remote.url} (tried {', '.join(wanted)})",
                          hint="name the release's revision with --rev")  # fmt: skip
    progress(f"fetching {ref or rev} from {remote.url}, one commit deep")
    fetch = ["fetch", "--quiet", "--depth", "1", "--no-tags", "--no-recurse-submodules", "--update-head-ok",
             "--", remote.url, *refspecs]  # fmt: skip
    fetched = _run(host, dest, fetch, policy, deadline)
    if not fetched.ok:
        raise NetworkError(f"cannot fetch {ref or rev} from {remote.url}: {fetched.err.strip()[:300]}")
    return dest


def _list_refs(
    host: Host, dest: Path, remote: Remote, patterns: list[str], *, policy: RemotePolicy, deadline: _Deadline
) -> dict[str, str]:
    """``git ls-remote``: the remote's refs matching ``patterns`` (every tag: none), name -> object id."""
    which = ["--", remote.url, *patterns] if patterns else ["--tags", "--", remote.url]
    listed = _run(host, dest, ["ls-remote", *which], policy, deadline)
    if not listed.ok:
        raise NetworkError(f"cannot list the tags of {remote.url}: {listed.err.strip()[:300]}",
                           hint=f"check the URL ({remote.label}), or give a local clone")  # fmt: skip
    if len(listed.stdout) > MAX_REFS_OUTPUT:
        raise NetworkError(f"{remote.url} answered with more than {MAX_REFS_OUTPUT} bytes of refs")
    pairs = (line.split("\t", 1) for line in listed.out.splitlines() if "\t" in line)
    return {name: oid for oid, name in pairs}
