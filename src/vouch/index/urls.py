"""Index and repository URLs: parsed once, and shown without credentials.

A URL given on the command line may hold credentials (``https://user:token@host/simple/``). The
request needs them; nothing that vouch prints, logs or writes (reports, ``--json``, records,
statements) may show them, so every URL that leaves goes through ``redact``.
"""

from __future__ import annotations

import re

import httpx

from vouch.errors import UsageError

_USERINFO = re.compile(r"(?<=://)[^/?#\s]*@")  # greedy: a password may hold a raw "@"


def redact(text: str) -> str:
    """``text`` (a URL, or a message holding URLs) with the userinfo of every URL removed."""
    return _USERINFO.sub("", text)


def parse_url(url: str, what: str) -> httpx.URL:
    """An http(s) URL with a host, or a UsageError (exit 2) that says which option it was."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise UsageError(f"{what} {redact(url)!r} is not a valid URL: {redact(str(exc))}") from exc
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise UsageError(f"{what} {redact(url)!r} is not an http(s) URL with a host")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise UsageError(f"{what} {redact(url)!r} has an invalid port")
    return parsed
