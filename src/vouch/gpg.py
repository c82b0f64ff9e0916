"""gpg, run through the host's :class:`~vouch.host.Runner`: in the user's ``GNUPGHOME`` (signing,
so gpg-agent, pinentry and smartcards work), or in a scratch home that holds only what vouch
imported there, whose daemons are stopped and whose folder is removed afterwards.

(securesystemslib's GPG signer, used by ``vouch.sign.openpgp.signer_for``, starts gpg itself.)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from vouch.errors import ToolError
from vouch.host import Completed, Host


def gpg(
    args: Sequence[str],
    *,
    home: Path | None = None,
    stdin: bytes | None = None,
    host: Host | None = None,
    timeout: float | None = None,
) -> Completed:
    """``gpg --batch ARGS...`` in ``home`` (default: the user's); the caller reads the exit code."""
    host = host or Host()
    env = dict(os.environ) | ({"GNUPGHOME": str(home)} if home is not None else {})
    return host.run([host.tool("gpg"), "--batch", *args], env=env, stdin=stdin, timeout=timeout)


@contextlib.contextmanager
def scratch_home(host: Host | None = None) -> Iterator[Path]:
    """An empty GNUPGHOME (a short path: gpg-agent's socket lives there), cleaned up after."""
    host = host or Host()
    home = Path(tempfile.mkdtemp(prefix="vouch-gpg-"))
    try:
        yield home
    finally:
        gpgconf = host.find("gpgconf")
        if gpgconf is not None:
            with contextlib.suppress(ToolError):
                host.run([gpgconf, "--homedir", str(home), "--kill", "all"], timeout=60)
        shutil.rmtree(home, ignore_errors=True)
