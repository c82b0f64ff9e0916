"""What the checks may touch: commands run read-only, files read, the platform. Injected in tests.

Commands go through a :class:`~vouch.host.Runner` (the host's); one that is missing, times out or
cannot start gives ``None`` (the check says ``unknown``).
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vouch.errors import ToolError
from vouch.host import Completed, Runner, run_process

Read = Callable[[Path], "str | None"]
_TIMEOUT = 60.0


def read_file(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


@dataclass(frozen=True)
class Machine:
    run: Runner = run_process
    read: Read = read_file
    system: str = field(default_factory=platform.system)  # Linux, Darwin, Windows
    home: Path = field(default_factory=Path.home)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    def command(self, argv: Sequence[str]) -> Completed | None:
        """What a command did (in the C locale), or None when it could not run."""
        env = dict(self.environ) | {"LC_ALL": "C", "LANG": "C"}
        try:
            return self.run(argv, env=env, timeout=_TIMEOUT)
        except ToolError:
            return None

    def output(self, *argv: str) -> str | None:
        """stdout of a command that succeeded, else None."""
        result = self.command(argv)
        if result is None or not result.ok:
            return None
        return result.out

    @property
    def gnupg_home(self) -> Path:
        return Path(self.environ.get("GNUPGHOME") or self.home / ".gnupg")
