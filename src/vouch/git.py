"""git, run through the host's :class:`~vouch.host.Runner`, in the one environment vouch gives it.

The user's ``GIT_DIR``, ``GIT_WORK_TREE`` and ``GIT_INDEX_FILE`` never point vouch at another
repository than the one it names. ``hermetic`` also leaves out the system and global configuration
and any prompt: a clone of a recorded source depends on nobody's settings and waits for no password.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from vouch.host import Completed, Host

HERMETIC_GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ADVICE": "0",
}
_REDIRECTING = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")


def git_environment(*, hermetic: bool = False) -> dict[str, str]:
    """This process's environment without the variables that redirect git (see the module)."""
    env = {key: value for key, value in os.environ.items() if key not in _REDIRECTING}
    return env | HERMETIC_GIT_ENV if hermetic else env


def git(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    host: Host | None = None,
    hermetic: bool = False,
    hint: str | None = None,
) -> Completed:
    """``git ARGS...`` to its end; the caller reads the exit code (a missing git is a ToolError)."""
    host = host or Host()
    return host.run(
        [host.tool("git", hint=hint), *args], cwd=cwd, env=git_environment(hermetic=hermetic), umask=0o022
    )
