"""The outcome of one check: ``pass``, ``fail`` or ``unknown`` (with the reason), never a guess."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STATUSES = ("pass", "fail", "unknown")


@dataclass(frozen=True)
class CheckResult:
    id: str
    status: str
    detail: str
    fix: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")
        if not self.detail:
            raise ValueError(f"check {self.id}: every result needs a detail")

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "detail": self.detail, "fix": self.fix}


def passed(check: str, detail: str) -> CheckResult:
    return CheckResult(check, "pass", detail)


def failed(check: str, detail: str, fix: str) -> CheckResult:
    return CheckResult(check, "fail", detail, fix)


def unknown(check: str, reason: str, fix: str = "") -> CheckResult:
    return CheckResult(check, "unknown", reason, fix)
