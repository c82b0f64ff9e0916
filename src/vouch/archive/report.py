"""What :func:`vouch.archive.diff.diff_paths` reports: differences, and their summary (a pure model).

The summary counts the members that differ in each aspect, content first, and folds the members that
differ only in metadata (``mode``, ``mtime``, ``owner``, ``compression``: no byte of their content)
into one :class:`Fold` per set of aspects, so that a repack that touched every member's mtime does not
hide the one member whose content changed.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

ARCHIVE_ASPECTS = ("gzip-mtime", "gzip-filename", "gzip-os", "gzip-flags", "member-order", "only-in-a",
                   "only-in-b")  # fmt: skip
MEMBER_ASPECTS = ("type", "link-target", "mode", "executable", "mtime", "owner", "compression", "content",
                  "metadata", "wheel", "record")  # fmt: skip
ASPECTS = ARCHIVE_ASPECTS + MEMBER_ASPECTS
METADATA_ASPECTS = frozenset({"mode", "mtime", "owner", "compression"})  # change no byte of the content
CONTENT_ASPECTS = frozenset({"content", "metadata", "wheel", "record"})
# the order of the summary's counts: what the members hold first, then how they are stored
SUMMARY_ORDER = ("content", "metadata", "wheel", "record", "only-in-a", "only-in-b", "type", "link-target",
                 "executable", "mode", "mtime", "owner", "compression")  # fmt: skip
EXAMPLES = 3  # member names shown for a folded group


@dataclass(frozen=True)
class Difference:
    member: str | None  # None for archive-level differences
    aspects: tuple[str, ...]
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def metadata_only(self) -> bool:
        """A member that differs only in how it is stored (mode, mtime, owner, compression)."""
        return self.member is not None and METADATA_ASPECTS.issuperset(self.aspects)

    @property
    def rank(self) -> int:
        """0 content, 1 other member differences, 2 the archive, 3 metadata only (the report's order)."""
        if self.member is None:
            return 2
        if self.metadata_only:
            return 3
        return 0 if CONTENT_ASPECTS.intersection(self.aspects) else 1

    def to_json(self) -> dict[str, Any]:
        return {"member": self.member, "aspects": list(self.aspects), **self.details}


@dataclass(frozen=True)
class Fold:
    """Members that differ only in the same metadata aspects, counted on one line."""

    aspects: tuple[str, ...]
    members: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"aspects": list(self.aspects), "members": len(self.members),
                "examples": list(self.members[:EXAMPLES])}  # fmt: skip


@dataclass(frozen=True)
class Summary:
    """How many members differ, in which aspects (content first), and the metadata-only groups."""

    members: int
    aspects: tuple[tuple[str, int], ...]  # member aspect -> members that differ in it
    archive: tuple[str, ...]  # the archive's own aspects
    folds: tuple[Fold, ...]  # largest first

    def to_json(self) -> dict[str, Any]:
        return {"members": self.members, "aspects": dict(self.aspects), "archive": list(self.archive),
                "metadata_only": [fold.to_json() for fold in self.folds]}  # fmt: skip


def summarise(differences: Sequence[Difference]) -> Summary:
    counts = dict.fromkeys(SUMMARY_ORDER, 0)
    archive: tuple[str, ...] = ()
    groups: dict[tuple[str, ...], list[str]] = {}
    for difference in differences:
        if difference.member is None:
            archive = difference.aspects
            continue
        for aspect in difference.aspects:
            counts[aspect] += 1
        if difference.metadata_only:
            groups.setdefault(difference.aspects, []).append(difference.member)
    folds = sorted((Fold(aspects, tuple(members)) for aspects, members in groups.items()),
                   key=lambda fold: (-len(fold.members), fold.aspects))  # fmt: skip
    members = sum(difference.member is not None for difference in differences)
    aspects = tuple((aspect, count) for aspect, count in counts.items() if count)
    return Summary(members, aspects, archive, tuple(folds))


@dataclass(frozen=True)
class DiffReport:
    a: str
    b: str
    kind: str  # "sdist" | "zip" | "directory"
    differences: tuple[Difference, ...]

    @property
    def identical(self) -> bool:
        return not self.differences

    @functools.cached_property
    def summary(self) -> Summary:
        return summarise(self.differences)

    def to_json(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "kind": self.kind,
            "a": self.a,
            "b": self.b,
            "summary": self.summary.to_json(),
            "differences": [difference.to_json() for difference in self.differences],
        }
