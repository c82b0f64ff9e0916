"""The data of a verification: tasks (what a worker is given), outcomes (what it returns) and the
state each file ends in. Pure, frozen, picklable: a task holds strings and numbers only, so it runs
the same in-process, in a local worker process or on another machine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from vouch.trust import Trust


class State(StrEnum):
    VERIFIED = "verified"
    FAILED = "failed"
    DRIFT = "drift"
    LOST = "provenance lost"
    NONE = "no provenance"
    UNCHECKED = "not checked"


SETTLED = frozenset(State) - {State.UNCHECKED}  # a stored outcome in one of these is not checked again


@dataclass(frozen=True)
class TrustSpec:
    """The Sigstore root, as a task carries it (a ``Trust`` holds a verifier, which is not sent)."""

    staging: bool = False
    pinned: str | None = None

    def trust(self) -> Trust:
        from pathlib import Path  # noqa: PLC0415

        return Trust(staging=self.staging, pinned=Path(self.pinned) if self.pinned else None)

    @property
    def name(self) -> str:
        return self.trust().name


@dataclass(frozen=True)
class FileTask:
    """Check one pinned file: the index serves it with the locked sha256, and its PEP 740
    provenance verifies against ``expected`` (publisher SPECs from the lock) or, when the lock names
    none, against the publisher the index claims for it (continuity is judged afterwards)."""

    index_url: str
    project: str
    version: str
    filename: str | None  # None: find the release's file with this sha256 (requirements.txt)
    sha256: str
    expected: tuple[str, ...]
    trust: TrustSpec
    deadline: float
    run: str = ""  # one verify run: its file tasks share each project's index page (not in inputs)

    def inputs(self, trust_name: str, shown_index: str) -> dict[str, Any]:
        """What determines the outcome (the key it is stored under, with the file's sha256)."""
        return {"index": shown_index, "project": self.project, "version": self.version,
                "filename": self.filename, "expected": list(self.expected), "trust": trust_name}  # fmt: skip


@dataclass(frozen=True)
class HistoryTask:
    """The publishers of the ``count`` releases of ``project`` before ``version``."""

    index_url: str
    project: str
    version: str
    count: int
    trust: TrustSpec
    deadline: float

    def inputs(self, trust_name: str, shown_index: str) -> dict[str, Any]:
        return {"index": shown_index, "project": self.project, "version": self.version,
                "count": self.count, "trust": trust_name}  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    """One check's result. ``identity``: the publisher SPEC whose provenance verified."""

    state: State
    reason: str | None = None
    identity: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"state": str(self.state), "reason": self.reason, "identity": self.identity}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Outcome:
        return cls(State(document["state"]), document.get("reason"), document.get("identity"))


def stored_size(value: object) -> int | None:
    """A size read back from the database (absent from rows stored before sizes were kept)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


@dataclass(frozen=True)
class FileOutcome:
    """What a worker found for one file: its name on the index, the index check, the provenance."""

    filename: str
    sha256: str
    index: Outcome
    provenance: Outcome
    size: int | None = None  # PEP 700: the size the index declares (to schedule the largest work first)

    def to_json(self) -> dict[str, Any]:
        return {"filename": self.filename, "sha256": self.sha256, "size": self.size,
                "index": self.index.to_json(), "provenance": self.provenance.to_json()}  # fmt: skip

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> FileOutcome:
        return cls(document["filename"], document["sha256"], Outcome.from_json(document["index"]),
                   Outcome.from_json(document["provenance"]), stored_size(document.get("size")))  # fmt: skip

    @property
    def settled(self) -> bool:
        """Nothing left to check: a file the index does not serve as locked has failed for good."""
        if self.index.state is State.FAILED:
            return True
        return self.index.state in SETTLED and self.provenance.state in SETTLED


@dataclass(frozen=True)
class Earlier:
    """One earlier release: the publisher whose provenance verified, or why there is none."""

    version: str
    identity: str | None
    had_provenance: bool
    reason: str | None = None


@dataclass(frozen=True)
class History:
    releases: tuple[Earlier, ...] = ()
    problem: str | None = None  # the history could not be read: continuity is not checked

    def to_json(self) -> dict[str, Any]:
        return {"releases": [asdict(e) for e in self.releases], "problem": self.problem}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> History:
        return cls(tuple(Earlier(**e) for e in document["releases"]), document.get("problem"))

    @property
    def settled(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class Verdict:
    """Where one file ends: its state, why, and the identities compared."""

    project: str
    version: str
    filename: str
    sha256: str
    state: State
    reasons: tuple[str, ...] = ()
    identity: str | None = None
    earlier: tuple[str, ...] = ()
    accepted: bool = False  # the verify policy accepts this state for the project
    cached: bool = False
    checks: dict[str, str] = field(default_factory=dict)
    rebuild: dict[str, str] | None = None  # --rebuild: {verdict, note}

    @property
    def ok(self) -> bool:
        return self.state is State.VERIFIED or self.accepted

    def to_json(self) -> dict[str, Any]:
        return {"project": self.project, "version": self.version, "filename": self.filename,
                "sha256": self.sha256, "state": str(self.state), "ok": self.ok,
                "accepted": self.accepted, "reasons": list(self.reasons), "identity": self.identity,
                "earlier_identities": list(self.earlier), "cached": self.cached,
                "checks": dict(self.checks),
                **({} if self.rebuild is None else {"rebuild": dict(self.rebuild)})}  # fmt: skip
