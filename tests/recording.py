"""A recording :class:`vouch.host.Runner` for tests: each call is kept, each answer is scripted."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vouch.host import Completed, Host, Runner


@dataclass(frozen=True)
class Call:
    argv: tuple[str, ...]
    cwd: Path | None
    env: Mapping[str, str] | None
    stdin: bytes | None
    timeout: float | None
    capture: bool


def succeed(argv: tuple[str, ...]) -> Completed:
    return Completed(argv, 0)


@dataclass
class Recorder:
    """Records every process vouch would start, and answers with ``answer(argv)`` instead; or,
    with ``through``, lets that runner (the real one) run it and records it on the way."""

    answer: Callable[[tuple[str, ...]], Completed] = succeed
    through: Runner | None = None
    calls: list[Call] = field(default_factory=list)

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
    ) -> Completed:
        self.calls.append(Call(tuple(argv), cwd, env, stdin, timeout, capture))
        if self.through is not None:
            return self.through(
                argv, cwd=cwd, env=env, stdin=stdin, timeout=timeout, umask=umask, capture=capture
            )
        return self.answer(tuple(argv))

    def host(self) -> Host:
        """A host whose tools are found as ``/fake/bin/NAME`` (real ones with ``through``), run here."""
        if self.through is not None:
            return Host(run=self)
        return Host(run=self, find=lambda name: f"/fake/bin/{name}")

    def argvs(self) -> list[tuple[str, ...]]:
        return [call.argv for call in self.calls]
