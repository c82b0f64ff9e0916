"""One file uploaded with twine, whose output is shown only with every secret removed.

twine finds credentials as it always does (keyring, ``TWINE_USERNAME``/``TWINE_PASSWORD``, a
Trusted Publishing token in CI, or userinfo in the repository URL). Its output may echo any of
them, so before it is shown the URLs lose their userinfo and each secret is replaced where it
stands as a whole token: a short password such as ``abc`` is never replaced inside ``abcdef``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote

import httpx

from vouch.errors import CheckError
from vouch.host import Host
from vouch.index.urls import redact

# CSI (colours, cursor), OSC (hyperlinks, titles) up to BEL or ST, and any other escape
_ANSI = re.compile(
    r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?|[\x00-\x08\x0b-\x1f\x7f]"
)
SECRET_VARIABLES = ("TWINE_PASSWORD", "PYPI_TOKEN", "PYPI_API_TOKEN", "TEST_PYPI_TOKEN")


def secrets(repository: str, environ: dict[str, str] | None = None) -> list[str]:
    """What must never be shown: the password-like variables, and the userinfo of ``repository``."""
    environ = dict(os.environ) if environ is None else environ
    found = [environ[name] for name in SECRET_VARIABLES if environ.get(name)]
    try:
        url = httpx.URL(repository)
    except httpx.InvalidURL:
        url = None
    if url is not None and url.password:
        found += [url.password, unquote(url.password)]
    return found


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` without terminal escapes and URL userinfo, and with each secret replaced by ``***``
    as a whole token (not preceded or followed by a letter or digit)."""
    text = redact(_ANSI.sub("", text))
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", "***", text)
    return text


def twine_upload(repository: str, dist: Path, attestations: bool, *, host: Host | None = None) -> None:
    """Upload one file with twine (this interpreter's, on ``host``); its error, without any secret,
    becomes a CheckError."""
    command = [
        sys.executable, "-m", "twine", "--no-color", "upload", "--non-interactive", "--disable-progress-bar",
        "--repository-url", repository, *(["--attestations"] if attestations else []), str(dist),
    ]  # fmt: skip
    result = (host or Host()).run(command)
    if not result.ok:
        output = scrub(result.out + result.err, secrets(repository)).strip().splitlines()
        message = " ".join(line.strip().removeprefix("ERROR").strip() for line in output[-3:])
        hint = None
        if "credential" in message.lower() or "403" in message or "401" in message:
            hint = ("give twine credentials: TWINE_USERNAME=__token__ and TWINE_PASSWORD=an API token, "
                    "a keyring entry, or Trusted Publishing in CI")  # fmt: skip
        raise CheckError(f"uploading {dist.name} to {redact(repository)} failed: {message}", hint=hint)
