"""What a provenance check found, file by file: pure data, with its JSON form and exit code.

A file is ``verified`` only when every attestation it has verified against the expected
publisher and nothing the index claims contradicts it; ``failed`` and ``no provenance`` are facts
about the release (exit 1); ``not checked`` means vouch could not tell (exit 3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

FORMAT_VERSION = 1


class Status(StrEnum):
    VERIFIED = "verified"
    FAILED = "failed"
    MISSING = "no provenance"
    UNCHECKED = "not checked"


@dataclass(frozen=True)
class AttestationCheck:
    """One attestation: where it came from and either what verified or why it did not."""

    source: str
    predicate_type: str | None = None
    signer: str | None = None
    reason: str | None = None

    @property
    def verified(self) -> bool:
        return self.reason is None

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "verified": self.verified,
            "predicate_type": self.predicate_type,
            "signer": self.signer,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class FileReport:
    filename: str
    sha256: str
    status: Status
    problems: tuple[str, ...] = ()
    source: str | None = None
    attestations: tuple[AttestationCheck, ...] = ()
    claims: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    yanked: bool = False

    @property
    def reason(self) -> str | None:
        """Why the file is not verified: its failed attestations, then the other problems."""
        failed = [f"{check.source}: {check.reason}" for check in self.attestations if not check.verified]
        return "; ".join([*failed, *self.problems]) or None

    def to_json(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "sha256": self.sha256,
            "status": str(self.status),
            "reason": self.reason,
            "problems": list(self.problems),
            "source": self.source,
            "yanked": self.yanked,
            "attestations": [check.to_json() for check in self.attestations],
            "publisher_claims": list(self.claims),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class ProvenanceReport:
    subject: str
    publisher: dict[str, Any]
    trust_root: str
    files: tuple[FileReport, ...]
    index: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return bool(self.files) and all(f.status is Status.VERIFIED for f in self.files)

    @property
    def exit_code(self) -> int:
        """0 all verified; 1 when a file failed or has no provenance; else 3 when one was not checked."""
        statuses = {f.status for f in self.files}
        if statuses & {Status.FAILED, Status.MISSING}:
            return 1
        if Status.UNCHECKED in statuses or not self.files:
            return 3
        return 0

    def count(self, status: Status) -> int:
        return sum(f.status is status for f in self.files)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "ok": self.ok,
            "subject": self.subject,
            "index": self.index,
            "publisher": self.publisher,
            "trust_root": self.trust_root,
            "files": [f.to_json() for f in self.files],
            "notes": list(self.notes),
        }


def one_line(exc: BaseException) -> str:
    """An error as one line: pydantic's first error with its location, else the first line."""
    if isinstance(exc, ValidationError) and exc.errors():
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "document"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        return f"invalid {exc.title}: {where}: {first.get('msg', '')}{more}"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
