"""Verdicts of a rebuild, never blurred.

``bit-identical``: the same bytes. ``equivalent``: the same after the named, minimal
normalisations (each listed with the members it touched) and positively checked by normalising
both archives and comparing the bytes; when the deflate streams alone differ, the verdict says
"compression differs" and names the compressors it knows of. ``different``: anything else, with
the members and aspects that differ. An artifact that could not be compared is ``different``, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    BIT_IDENTICAL = "bit-identical"
    EQUIVALENT = "equivalent"
    DIFFERENT = "different"


# aspects of vouch diff that the normalizer removes; everything else is a real difference
NORMALISABLE_ASPECTS = frozenset(
    {
        "gzip-mtime",
        "gzip-filename",
        "gzip-os",
        "gzip-flags",
        "member-order",
        "mtime",
        "mode",
        "owner",
        "compression",
    }
)


@dataclass(frozen=True)
class Normalisation:
    aspect: str
    members: tuple[str | None, ...]
    detail: str = ""  # what made the difference, when known (e.g. the two compressors)

    def to_json(self) -> dict[str, Any]:
        return {"aspect": self.aspect, "members": list(self.members), "detail": self.detail}


@dataclass(frozen=True)
class ArtifactVerdict:
    filename: str
    expected_sha256: str | None
    rebuilt_sha256: str | None
    verdict: Verdict
    normalisations: tuple[Normalisation, ...] = ()
    differences: tuple[dict[str, Any], ...] = ()
    note: str = ""
    recipe: dict[str, Any] | None = None  # this file's own recipe, when files differ in how they were built

    def to_json(self) -> dict[str, Any]:
        own = {} if self.recipe is None else {"recipe": self.recipe}
        return {
            "filename": self.filename,
            "published_sha256": self.expected_sha256,
            "rebuilt_sha256": self.rebuilt_sha256,
            "verdict": str(self.verdict),
            "normalizations": [n.to_json() for n in self.normalisations],
            "differences": list(self.differences),
            "note": self.note,
        } | own


@dataclass(frozen=True)
class RebuildReport:
    recipe: dict[str, Any]
    artifacts: tuple[ArtifactVerdict, ...]
    warnings: tuple[str, ...] = field(default=())

    @property
    def verdict(self) -> Verdict:
        verdicts = {a.verdict for a in self.artifacts}
        if not self.artifacts or Verdict.DIFFERENT in verdicts:
            return Verdict.DIFFERENT
        if Verdict.EQUIVALENT in verdicts:
            return Verdict.EQUIVALENT
        return Verdict.BIT_IDENTICAL

    def exit_code(self, *, accept_equivalent: bool = False) -> int:
        if self.verdict is Verdict.BIT_IDENTICAL:
            return 0
        if self.verdict is Verdict.EQUIVALENT and accept_equivalent:
            return 0
        return 1

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": str(self.verdict),
            "recipe": self.recipe,
            "artifacts": [a.to_json() for a in self.artifacts],
            "warnings": list(self.warnings),
        }
