"""Sigstore identity patterns of a policy: what ``*`` may match, and which patterns are unsafe.

A pattern is a certificate identity (a workflow URL, an e-mail address) in which ``*`` matches
any run of characters. A pattern is unsafe when it is a bare ``*``, when its first ``*`` comes
before the end of the repository part of a CI identity (``https://github.com/OWNER/REPO/``, or a
GitLab project path up to its ``//``), so that it matches workflows of other repositories, or
when it can match the same identity as another signer's pattern on the same issuer (one
certificate would then stand for two people). Unsafe patterns are configuration errors unless
the signer says ``unsafe-wildcard = true``.
"""

from __future__ import annotations

import re
from collections import deque

_URL = re.compile(r"https?://(?P<host>[^/*]+)/(?P<path>.*)", re.IGNORECASE)


def identity_regex(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$", re.DOTALL)


def _repository_end(pattern: str) -> int | None:
    """Where the repository part of a CI identity URL ends (None: not such a URL)."""
    match = _URL.match(pattern)
    if match is None:
        return None
    host, start = match["host"].lower(), match.start("path")
    if host == "github.com" or host.endswith(".ghe.com"):
        slashes = [m.start() for m in re.finditer("/", pattern[start:])]
        return start + slashes[1] + 1 if len(slashes) > 1 else len(pattern) + 1
    if "gitlab" in host:
        end = pattern.find("//", start)
        return end + 2 if end != -1 else len(pattern) + 1
    return start


def spans_repositories(pattern: str) -> str | None:
    """Why ``pattern`` may match identities of more than one repository, or None."""
    if pattern.strip("*") == "":
        return "a bare * matches every identity"
    star = pattern.find("*")
    if star == -1:
        return None
    if pattern.lower().startswith(("http://", "https://")):
        end = _repository_end(pattern)
        if end is None:
            return "its * is inside the host name"
        if star < end:
            return "its * is inside the owner/repository part, so it matches other repositories"
    return None


def patterns_overlap(first: str, second: str) -> bool:
    """Whether some identity matches both patterns (the intersection of two ``*`` globs)."""
    seen = {(0, 0)}
    queue = deque(seen)
    while queue:
        i, j = queue.popleft()
        if i == len(first) and j == len(second):
            return True
        steps = []
        a = first[i] if i < len(first) else None
        b = second[j] if j < len(second) else None
        if a == "*":
            steps.append((i + 1, j))  # the star matches nothing more
            if b is not None and b != "*":
                steps.append((i, j + 1))  # the star swallows second's next character
        if b == "*":
            steps.append((i, j + 1))
            if a is not None and a != "*":
                steps.append((i + 1, j))
        if a is not None and b is not None and a != "*" and b != "*" and a == b:
            steps.append((i + 1, j + 1))
        for step in steps:
            if step not in seen:
                seen.add(step)
                queue.append(step)
    return False
