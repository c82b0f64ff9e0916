"""The one seam between vouch and the machine it runs on: processes, HTTP, the clock, the cache.

Every process vouch starts (git, uv, a build backend, gpg, ssh-keygen, twine, zizmor, diffoscope,
vouch itself from the runbook runner) goes through a :class:`Runner`; :func:`run_process` is the
only caller of ``subprocess`` (a test in ``tests/test_host.py`` keeps it so). Tools are found by
:meth:`Host.tool`, which knows how to get each one (:data:`TOOLS`). Every HTTP client is made by
:meth:`Host.http_client`, or by ``vouch.index.http.BoundedClient`` (the index's bounded streaming,
part of this seam), on the host's transport; the time comes from :attr:`Host.clock`. The CLI
builds one :class:`Host` and hands it down; tests build their own with a recording runner, a
loopback transport or a fixed clock, and never patch a global.

Two tools have a small wrapper of their own beside this module: ``vouch.git`` (the environment
git runs in) and ``vouch.gpg`` (gpg in the user's home or in a scratch one).

As pypa/build's ``runner=`` does for its hooks: a small protocol, a real default, nothing else.
"""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import httpx

from vouch.errors import ToolError

TOOLS: Mapping[str, str] = {
    "git": "install git and try again",
    "uv": "python -m pip install uv",
    "gpg": "install GnuPG 2.2 or later",
    "gpgconf": "install GnuPG 2.2 or later",
    "ssh-keygen": "install OpenSSH",
    "twine": "python -m pip install twine",
    "zizmor": "python -m pip install zizmor",
    "diffoscope": "pip install diffoscope",
}
"""The external tools vouch runs, and how to get each: the hint of :meth:`Host.tool`."""

BESIDE_PYTHON = frozenset({"uv", "twine", "zizmor"})
"""vouch's own dependencies: pip puts them beside the interpreter, whether that is on PATH or not."""

Progress = Callable[[str], None]
"""Told what a long step is doing now ("resolving the build requirements"); the CLI shows it."""


@dataclass(frozen=True)
class Completed:
    """What a process did: its exit code and its output, as bytes (``out``/``err`` decode them)."""

    argv: tuple[str, ...]
    returncode: int
    stdout: bytes = b""
    stderr: bytes = b""

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", errors="replace")

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", errors="replace")

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class Runner(Protocol):
    """Runs one process to its end. A missing executable or a timeout raises :class:`ToolError`."""

    def __call__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        stdin: bytes | None = None,
        timeout: float | None = None,
        umask: int = -1,
        capture: bool = True,
    ) -> Completed: ...


def run_process(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    timeout: float | None = None,
    umask: int = -1,
    capture: bool = True,
) -> Completed:
    """The real runner: ``subprocess.run`` with a list of arguments (never a shell)."""
    command = tuple(argv)
    try:
        result = subprocess.run(
            command, cwd=cwd, env=None if env is None else dict(env), input=stdin,
            capture_output=capture, timeout=timeout, umask=umask, check=False,
        )  # fmt: skip
    except FileNotFoundError:
        raise ToolError(f"{Path(command[0]).name} is not installed (or not on PATH)") from None
    except subprocess.TimeoutExpired:
        name = " ".join([Path(command[0]).name, *command[1:2]])
        raise ToolError(f"{name} did not finish in {timeout} s") from None
    except OSError as exc:
        raise ToolError(f"cannot run {Path(command[0]).name}: {exc.strerror}") from exc
    return Completed(command, result.returncode, result.stdout or b"", result.stderr or b"")


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def default_cache_dir() -> Path:
    """``$VOUCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/vouch``, else ``~/.cache/vouch``."""
    if env := os.environ.get("VOUCH_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vouch"


def which(name: str) -> str | None:
    """A tool on PATH; one of vouch's own dependencies also beside this Python (a venv's ``bin/``)."""
    found = shutil.which(name)
    if found is None and name in BESIDE_PYTHON:
        found = shutil.which(name, path=str(Path(sys.executable).parent))
    return found


@dataclass(frozen=True)
class Host:
    """The machine as vouch sees it. One is made by the CLI and passed down."""

    run: Runner = run_process
    transport: httpx.BaseTransport | None = None
    clock: Callable[[], datetime.datetime] = utcnow
    cache_dir: Path = field(default_factory=default_cache_dir)
    find: Callable[[str], str | None] = which

    def tool(self, name: str, *, hint: str | None = None) -> str:
        """The path of an external tool, or :class:`ToolError` saying how to get it (``hint``, else
        the one :data:`TOOLS` has for it)."""
        found = self.find(name)
        if found is None:
            raise ToolError(f"{name} is not installed (or not on PATH)", hint=hint or TOOLS.get(name))
        return found

    def http_client(
        self, *, timeout: float = 30.0, headers: Mapping[str, str] | None = None
    ) -> httpx.Client:
        """An HTTP client on this host's transport; redirects are never followed silently.

        httpx is imported here, not at the top: commands that never touch the network (``vouch
        diff``) start 0.1 s sooner without it."""
        import httpx  # noqa: PLC0415 - see above

        return httpx.Client(
            transport=self.transport, timeout=timeout, headers=dict(headers or {}), follow_redirects=False
        )
