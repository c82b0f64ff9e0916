"""Publisher continuity, and the one state each file ends in: a pure function of what was found.

```
lock names identities  the provenance verified against one of them: verified; else failed;
                       none at all: no provenance
else (continuity)      this release's verified publisher against the publishers of the earlier
                       releases and the one recorded before (trust on first use):
                         all the same, or nothing earlier: verified
                         another repository, workflow, environment or kind: drift
                         no provenance now, but earlier releases had it: provenance lost
                         no provenance now, nor before: no provenance
```

A drift to an identity that the verify policy accepts for the project is verified (with a note).
The index check comes first: a file the index does not serve with the locked sha256 has failed,
whatever its provenance. A history that could not be read leaves continuity not checked.
"""

from __future__ import annotations

from dataclasses import dataclass

from vouch.verify.model import FileOutcome, History, State


@dataclass(frozen=True)
class Judgement:
    state: State
    reasons: tuple[str, ...]
    identity: str | None
    earlier: tuple[str, ...]


def judge(  # noqa: PLR0911 - one return per state, in the order of the docstring
    found: FileOutcome,
    history: History | None,
    recorded: str | None,
    *,
    from_lock: bool,
    accepted_identities: frozenset[str] = frozenset(),
) -> Judgement:
    """The file's state from its index and provenance outcomes, the history and the recorded identity."""
    index, provenance = found.index, found.provenance
    if index.state is not State.VERIFIED:
        return Judgement(index.state, (index.reason or "the index check did not pass",), None, ())
    if from_lock or provenance.state in {State.FAILED, State.UNCHECKED}:
        reasons = tuple(r for r in [provenance.reason] if r)
        return Judgement(provenance.state, reasons, provenance.identity, ())
    if history is None or history.problem is not None:
        problem = (history.problem if history is not None else None) or "the history was not read"
        return Judgement(State.UNCHECKED, (problem,), provenance.identity, ())
    earlier = _earlier_identities(history, recorded)
    shown = tuple(f"{who} ({where})" for who, where in earlier.items())
    if provenance.state is State.NONE:
        had = [e.version for e in history.releases if e.had_provenance]
        if had or recorded:
            since = f"releases {', '.join(had)} had provenance" if had else "vouch recorded a publisher"
            return Judgement(State.LOST, (f"this release has no provenance; {since}",), None, shown)
        return Judgement(State.NONE, (provenance.reason or "no provenance",), None, shown)
    current = provenance.identity
    others = [who for who in earlier if who != current]
    if not others:
        return Judgement(State.VERIFIED, (), current, shown)
    if current in accepted_identities:
        note = f"the publisher changed to {current}, which the verify policy accepts"
        return Judgement(State.VERIFIED, (note,), current, shown)
    reason = f"the publisher changed: earlier {'; '.join(shown)}, now {current}"
    return Judgement(State.DRIFT, (reason,), current, shown)


def _earlier_identities(history: History, recorded: str | None) -> dict[str, str]:
    """Each earlier identity, with where it was seen (releases, or the record of an earlier run)."""
    seen: dict[str, list[str]] = {}
    for release in history.releases:
        if release.identity is not None:
            seen.setdefault(release.identity, []).append(release.version)
    where = {who: "releases " + ", ".join(versions) for who, versions in seen.items()}
    if recorded is not None:
        where[recorded] = where[recorded] + "; recorded before" if recorded in where else "recorded before"
    return where
