"""``vouch verify --rebuild``: the pure-Python wheels of each release rebuilt from its published sdist.

A rebuild is a pure function of (release, index, the recipe inferred from the archives):
``rebuild_release`` runs ``vouch.rebuild.published.rebuild_published`` on a worker and returns,
per published wheel (by sha256), the verdict and a note; it raises nothing. The client stores one
row per wheel (subject: the wheel's sha256; inputs: the index, the release and the sdist's sha256),
so a re-run does not rebuild again unless ``--refresh``.

How a verdict changes a wheel's state (``fold``):

```
bit-identical     unchanged
equivalent        failed, unless the verify policy accepts "equivalent" for the project
different         failed, with the rebuild's note: "code differs" or "recipe not reproduced"
not rebuilt       unchanged (a compiled wheel: vouch rebuilds pure-Python wheels only)
not checked       "not checked" unless already failed, drift or lost (the rebuild could not run or
                  timed out, or the input pins no sdist of the release to rebuild from)
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from vouch.errors import VouchError
from vouch.rebuild.verdict import ArtifactVerdict, code_members, differing_members
from vouch.rebuild.verdict import Verdict as RebuildVerdict
from vouch.verify.continuity import Judgement
from vouch.verify.model import State

REBUILT = frozenset(str(v) for v in RebuildVerdict)  # a stored rebuild in one of these is settled
NOT_REBUILT = "not rebuilt"
NOT_CHECKED = "not checked"
COMPILED = "not rebuilt: compiled"


@dataclass(frozen=True)
class RebuildTask:
    """Rebuild every pure-Python wheel of ``project`` ``version`` from its sdist on the index."""

    index_url: str
    project: str
    version: str
    deadline: float

    @property
    def release(self) -> str:
        return f"{self.project}=={self.version}"

    def inputs(self, shown_index: str, sdist_sha256: str) -> dict[str, Any]:
        """What determines a wheel's rebuild (stored with the wheel's sha256 and vouch's version)."""
        return {"index": shown_index, "release": self.release, "sdist": sdist_sha256}


@dataclass(frozen=True)
class Rebuilt:
    """One wheel's rebuild: a verdict of ``vouch rebuild`` or "not rebuilt" / "not checked"."""

    verdict: str
    note: str = ""

    def to_json(self) -> dict[str, str]:
        return {"verdict": self.verdict, "note": self.note}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Rebuilt:
        return cls(str(document["verdict"]), str(document.get("note") or ""))

    @property
    def settled(self) -> bool:
        return self.verdict in REBUILT or self.verdict == NOT_REBUILT


@dataclass(frozen=True)
class ReleaseRebuild:
    """What a worker returns: each published wheel's rebuild by its sha256, or why none ran."""

    wheels: dict[str, Rebuilt] = field(default_factory=dict)
    problem: str | None = None

    def of(self, sha256: str) -> Rebuilt:
        if self.problem is not None:
            return Rebuilt(NOT_CHECKED, self.problem)
        return self.wheels.get(sha256, Rebuilt(NOT_CHECKED, "the rebuild did not rebuild this wheel"))


def is_pure(filename: str) -> bool:
    try:
        tags = parse_wheel_filename(filename)[3]
    except InvalidWheelFilename:
        return False
    return all(t.abi == "none" and t.platform == "any" for t in tags)


def rebuild_release(task: RebuildTask) -> ReleaseRebuild:
    from vouch.rebuild.published import PublishedOptions, rebuild_published  # noqa: PLC0415 - heavy

    try:
        report = rebuild_published(PublishedOptions(f"pypi:{task.release}", index_url=task.index_url))
    except VouchError as exc:
        return ReleaseRebuild(problem=f"the rebuild could not run: {exc}")
    return ReleaseRebuild({a.expected_sha256: Rebuilt(str(a.verdict), note_of(a))
                           for a in report.artifacts if a.expected_sha256})  # fmt: skip


def note_of(artifact: ArtifactVerdict) -> str:
    if artifact.verdict is RebuildVerdict.BIT_IDENTICAL:
        return "bit-identical to its rebuild from the sdist"
    if artifact.verdict is RebuildVerdict.EQUIVALENT:
        aspects = sorted({n.aspect for n in artifact.normalisations})
        return f"identical to its rebuild only after normalising {', '.join(aspects) or 'the archive'}"
    members = differing_members(artifact.differences)  # without those compressed after the build
    code = code_members(members)
    shown = code or members
    more = f" and {len(shown) - 8} more" if len(shown) > 8 else ""
    listed = f"{', '.join(shown[:8])}{more}"
    # as `vouch rebuild` heads its report: content the environment does not write is "code differs"
    kind = "code differs" if code else "recipe not reproduced (the build environment differs)"
    detail = "; ".join(part for part in (artifact.note, f"differs in {listed}" if shown else "") if part)
    return f"{kind}: {detail or 'differs from its rebuild from the sdist'}"


def fold(judgement: Judgement, rebuilt: Rebuilt, *, accept_equivalent: bool) -> Judgement:
    """The wheel's state once its rebuild is known (see the module's table)."""
    state, reasons = judgement.state, judgement.reasons
    if rebuilt.verdict == str(RebuildVerdict.EQUIVALENT) and not accept_equivalent:
        reason = (
            f"rebuild: equivalent, not bit-identical ({rebuilt.note}); the verify policy does not "
            "accept equivalent for this project"
        )
    elif rebuilt.verdict == str(RebuildVerdict.DIFFERENT):
        reason = f"rebuild: different: {rebuilt.note}"
    elif rebuilt.verdict == NOT_CHECKED:
        reason = f"rebuild not checked: {rebuilt.note}"
        # asked for and not done: never passed over, even where "no provenance" would be accepted
        new = state if state in {State.FAILED, State.DRIFT, State.LOST} else State.UNCHECKED
        return Judgement(new, (*reasons, reason), judgement.identity, judgement.earlier)
    else:
        return judgement
    new = state if state in {State.FAILED, State.DRIFT, State.LOST} else State.FAILED
    return Judgement(new, (*reasons, reason), judgement.identity, judgement.earlier)
