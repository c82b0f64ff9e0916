"""diffoscope, on request (``vouch diff --diffoscope``): its text report of the same two paths."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vouch.errors import ToolError
from vouch.host import Host


@dataclass(frozen=True)
class DiffoscopeResult:
    command: tuple[str, ...]
    exit_code: int
    output: str


def find_diffoscope(host: Host | None = None) -> str:
    """The diffoscope executable, or a ToolError that says how to install it."""
    return (host or Host()).tool("diffoscope")


def run_diffoscope(
    a: Path, b: Path, *, executable: str, host: Host | None = None, extra: Sequence[str] = ()
) -> DiffoscopeResult:
    """Run diffoscope on the two paths; its text report, and its exit code (0 same, 1 different)."""
    command = (executable, "--no-progress", "--text", "-", *extra, str(a), str(b))
    result = (host or Host()).run(command)
    if result.returncode not in (0, 1):
        tail = (result.err or result.out).strip().splitlines()[-1:] or ["no output"]
        raise ToolError(f"diffoscope failed with exit code {result.returncode}: {tail[0]}")
    return DiffoscopeResult(command, result.returncode, result.out)
