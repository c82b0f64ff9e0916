"""What the checks may touch: commands run read-only, files read, the platform. Injected in tests.

A command that is missing, times out or cannot start gives ``None`` (the check says ``unknown``).
"""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

Run = Callable[[Sequence[str]], "subprocess.CompletedProcess[str] | None"]
Read = Callable[[Path], "str | None"]


def run_command(argv: Sequence[str]) -> subprocess.CompletedProcess[str] | None:
    env = dict(os.environ) | {"LC_ALL": "C", "LANG": "C"}
    try:
        return subprocess.run(list(argv), capture_output=True, text=True, check=False, timeout=60, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return None


def read_file(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


@dataclass(frozen=True)
class Machine:
    run: Run = run_command
    read: Read = read_file
    system: str = field(default_factory=platform.system)  # Linux, Darwin, Windows
    home: Path = field(default_factory=Path.home)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    def output(self, *argv: str) -> str | None:
        """stdout of a command that succeeded, else None."""
        result = self.run(argv)
        if result is None or result.returncode != 0:
            return None
        return result.stdout

    @property
    def gnupg_home(self) -> Path:
        return Path(self.environ.get("GNUPGHOME") or self.home / ".gnupg")
