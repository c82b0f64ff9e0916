"""Where a project's vouch evidence is: a path beside the verify policy, or an https URL.

```toml
[projects.django]
evidence-policy = "https://example.org/django/vouch.toml"
evidence = ["https://example.org/django/Django-5.1.4.intoto.jsonl", "local/extra.intoto.jsonl"]
```

A URL must be ``https``: plain ``http`` is refused (exit 2), except to a loopback address when the
caller opts in (``unsafe_http_loopback``: the tests' seam, never a command-line flag). A URL may
hold credentials (``https://user:token@host/...``): the request sends them, and every message,
report and database row shows the URL without them (``vouch.index.urls.redact``); results are
keyed by the sha256 of the bytes read, never by the URL.

What a URL serves is hostile input: fetched through the host's transport by the bounded client
(``vouch.index.http.BoundedClient``: a deadline, same-host redirects, a size cap that refuses a body
while it streams), held in memory and parsed by the bounded readers; it is never written to a path
made from the URL. A fetch that fails (no answer, not 200, too large) is a ``NetworkError``: the
caller makes it "not checked", never a pass.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from vouch.errors import NetworkError, ProjectConfigError, UsageError
from vouch.host import Host
from vouch.index.http import BoundedClient
from vouch.index.urls import parse_url, redact
from vouch.untrusted import MAX_DOCUMENT_BYTES, DocumentError, read_regular_file

MAX_EVIDENCE_BYTES = 16 << 20  # an evidence file at a URL: one line per signer and release, a few KiB each
MAX_LOCAL_EVIDENCE_BYTES = 256 << 20  # a local one (vouch check reads thousands of lines)
FETCH_TIMEOUT = 30.0


@dataclass(frozen=True)
class Source:
    """One place to read a policy or evidence file from: ``url`` (with any credentials) or ``path``."""

    path: Path | None = None
    url: str | None = None

    @property
    def shown(self) -> str:
        """The form to print, store or report: a URL without its credentials."""
        return redact(self.url) if self.url is not None else str(self.path)

    @property
    def name(self) -> str:
        """The last segment of the URL's path, or the file's name (for ``pyproject.toml`` policies)."""
        if self.url is not None:
            return parse_url(self.url, "the evidence URL").path.rstrip("/").rsplit("/", 1)[-1]
        assert self.path is not None  # noqa: S101 - a Source is a path or a URL
        return self.path.name


@dataclass(frozen=True)
class Fetched:
    """The bytes read from a source, and their sha256 (what a stored result is keyed by)."""

    source: Source
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def parse_source(value: str, base: Path, where: str, *, unsafe_http_loopback: bool = False) -> Source:
    """A verify policy's value: an https URL (http only to loopback, when allowed), else a path
    relative to ``base`` (the verify policy's folder)."""
    if "://" not in value:
        return Source(path=base / value)
    shown = redact(value)
    try:
        url = parse_url(value, f"{where}:")
    except UsageError as exc:
        raise ProjectConfigError(str(exc)) from None
    if url.scheme == "https":
        return Source(url=value)
    if unsafe_http_loopback and _loopback(url.host):
        return Source(url=value)
    raise ProjectConfigError(f"{where}: {shown} is not an https URL",
                             hint="evidence is read over https only (or given as a path)")  # fmt: skip


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Reader:
    """Reads sources: paths from disk, URLs through the host's transport, each up to a size cap."""

    def __init__(self, host: Host, *, deadline: float) -> None:
        self._http = BoundedClient(transport=host.transport, timeout=min(FETCH_TIMEOUT, deadline),
                                   deadline=deadline)  # fmt: skip

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def read(self, source: Source, what: str, *, max_bytes: int = MAX_EVIDENCE_BYTES,
             local_max_bytes: int | None = None) -> Fetched:  # fmt: skip
        """The bytes of ``source``, at most ``max_bytes`` (``local_max_bytes`` for a path, if given).
        A path that cannot be read is a configuration error (exit 2); a URL that does not serve the
        file is a ``NetworkError`` naming it without credentials."""
        if source.url is None:
            assert source.path is not None  # noqa: S101 - a Source is a path or a URL
            limit = max_bytes if local_max_bytes is None else local_max_bytes
            return Fetched(source, read_local(source.path, what, max_bytes=limit))
        shown = source.shown
        with self._http.stream(source.url, doing=f"fetching {what}") as response:
            if response.status_code != 200:
                raise NetworkError(f"{what} at {shown} answered HTTP {response.status_code}")
            data = self._http.read(response, max_bytes, f"{what} at {shown}")
        return Fetched(source, data)


def read_local(path: Path, what: str, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> bytes:
    """The bytes of a local policy or evidence file the verify policy names: a missing or unreadable
    file is a usage error, one that is not a regular file or too large a configuration error."""
    try:
        return read_regular_file(path, what, max_bytes=max_bytes)
    except FileNotFoundError:
        raise UsageError(f"{what} {path} does not exist") from None
    except DocumentError as exc:
        raise ProjectConfigError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from exc
