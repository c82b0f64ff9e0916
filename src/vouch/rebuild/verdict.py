"""Verdicts of a rebuild, never blurred.

``bit-identical``: the same bytes. ``equivalent``: the same after the named, minimal
normalisations (each listed with the members it touched) and positively checked by normalising
both archives and comparing the bytes; when the deflate streams alone differ, the verdict says
"compression differs" and names the compressors it knows of. ``different``: anything else, with
the members and aspects that differ. An artifact that could not be compared is ``different``, with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# members that record the build environment (generator, metadata version, file list), not the code
_ENVIRONMENT_MEMBER = re.compile(r"(\.dist-info/(WHEEL|METADATA|RECORD)|(^|/)PKG-INFO|\.egg-info/[^/]+)$")


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


#: aspects of a real difference proven to be a step after the build (:mod:`vouch.rebuild.gzipped`):
#: "recipe not reproduced", never "code differs" and never "equivalent"
GZIPPED_AFTER_BUILD = "gzipped-after-build"
AFTER_BUILD_ASPECTS = frozenset({GZIPPED_AFTER_BUILD})


def code_members(members: Sequence[str]) -> list[str]:
    """The differing members that are not what the build environment writes (PKG-INFO, egg-info, a
    wheel's METADATA, WHEEL and RECORD): a difference there is "code differs", elsewhere only
    "recipe not reproduced"."""
    return [member for member in members if not _ENVIRONMENT_MEMBER.search(member)]


def after_build(difference: dict[str, Any]) -> bool:
    """Whether ``difference`` is proven to be a step after the build, and nothing else."""
    aspects = set(difference.get("aspects") or ())
    return bool(aspects) and aspects <= AFTER_BUILD_ASPECTS


def differing_members(differences: Sequence[dict[str, Any]]) -> list[str]:
    """The members of ``differences`` but those that a step after the build explains."""
    return [str(d.get("member") or "(archive)") for d in differences if not after_build(d)]


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


class SourceClass(StrEnum):
    """Where an sdist member comes from, against the release's git tag."""

    FROM_GIT = "from-git"  # the tagged file, same bytes
    GENERATED = "generated"  # not the tagged bytes, explained by a named rule of the backend or a plugin
    MODIFIED = "modified"  # in git, other bytes, not explained
    NOT_IN_GIT = "not-in-git"  # neither in git nor explained


@dataclass(frozen=True)
class SourceMember:
    member: str  # the path inside the sdist's top folder
    kind: SourceClass
    rule: str = ""  # for generated: the rule that explains it; otherwise a note (mode, line endings)
    diff: str = ""  # for modified: a bounded unified diff, or a summary for binary content

    def to_json(self) -> dict[str, Any]:
        return {"member": self.member, "class": str(self.kind), "rule": self.rule, "diff": self.diff}


@dataclass(frozen=True)
class SourceFidelity:
    """Every member of a published sdist classified against the tree of the release's tag."""

    repository: str
    tag: str
    commit: str
    members: tuple[SourceMember, ...]
    omitted: int  # files of the tag that the sdist leaves out
    omitted_examples: tuple[str, ...] = ()
    via: str = ""  # how the repository was named and reached: "--source", "Project-URL 'Source'", ...

    def of(self, kind: SourceClass) -> tuple[SourceMember, ...]:
        return tuple(m for m in self.members if m.kind is kind)

    @property
    def ok(self) -> bool:
        return not self.of(SourceClass.MODIFIED) and not self.of(SourceClass.NOT_IN_GIT)

    def to_json(self) -> dict[str, Any]:
        counts = {str(k): len(self.of(k)) for k in SourceClass}
        return {
            "verdict": "from-git" if self.ok else "differs-from-git",
            "repository": self.repository,
            "via": self.via,
            "tag": self.tag,
            "commit": self.commit,
            "counts": counts,
            "omitted_from_sdist": self.omitted,
            "omitted_examples": list(self.omitted_examples),
            "members": [m.to_json() for m in self.members if m.kind is not SourceClass.FROM_GIT],
        }


_ALARMS = (SourceClass.MODIFIED, SourceClass.NOT_IN_GIT)


@dataclass(frozen=True)
class RebuildReport:
    recipe: dict[str, Any]
    artifacts: tuple[ArtifactVerdict, ...]
    warnings: tuple[str, ...] = field(default=())
    source: SourceFidelity | None = None

    @property
    def verdict(self) -> Verdict:
        verdicts = {a.verdict for a in self.artifacts}
        if not self.artifacts or Verdict.DIFFERENT in verdicts:
            return Verdict.DIFFERENT
        if Verdict.EQUIVALENT in verdicts:
            return Verdict.EQUIVALENT
        return Verdict.BIT_IDENTICAL

    def headline(self) -> str:
        """What a person can act on: reproduced; reproduced after named normalisations; recipe
        not reproduced (only what the environment writes differs: build metadata, another tag,
        a Windows build); code differs (with the members)."""
        if self.source is not None and not self.source.ok:
            alarms = [m.member for m in self.source.members if m.kind in _ALARMS]
            return f"code differs: the sdist is not tag {self.source.tag}: {', '.join(alarms[:8])}"
        if self.verdict is Verdict.BIT_IDENTICAL:
            return "reproduced"
        if self.verdict is Verdict.EQUIVALENT:
            aspects = sorted({n.aspect for a in self.artifacts for n in a.normalisations})
            return f"reproduced after named normalisations: {', '.join(aspects)}"
        members = differing_members([d for a in self.artifacts for d in a.differences])
        code = code_members(members)
        if code:
            more = f" and {len(code) - 8} more" if len(code) > 8 else ""
            return f"code differs: {', '.join(code[:8])}{more}"
        notes = "; ".join(a.note for a in self.artifacts if a.verdict is Verdict.DIFFERENT and a.note)
        shown = ", ".join(members[:8]) or notes or "no member named"
        if any(after_build(d) for a in self.artifacts for d in a.differences) and members:
            shown = f"{shown}; {notes}"  # what the members alone do not say
        return f"recipe not reproduced: the environment differs ({shown})"

    def exit_code(self, *, accept_equivalent: bool = False) -> int:
        if self.source is not None and not self.source.ok:
            return 1
        if self.verdict is Verdict.BIT_IDENTICAL:
            return 0
        if self.verdict is Verdict.EQUIVALENT and accept_equivalent:
            return 0
        return 1

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": str(self.verdict),
            "headline": self.headline(),
            "recipe": self.recipe,
            "artifacts": [a.to_json() for a in self.artifacts],
            "warnings": list(self.warnings),
        } | ({"source": self.source.to_json()} if self.source is not None else {})
