"""The page's sections from what the library returns: pure functions, no I/O.

The quorum comes from ``vouch.policy.check.CheckReport`` and the checksum file from
``vouch.release.signed_checksums.ChecksumReport`` (both verified here, by the caller); rebuilds
and provenance come from the JSON that ``vouch rebuild --json`` and ``vouch provenance --json``
print, which is read as hostile input: every field is type-checked, every string and list bounded,
and a document that does not have the expected shape is refused with the reason (``ValueError``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from vouch.policy.check import CheckReport
from vouch.policy.model import Policy, TrustedSigner
from vouch.release.signed_checksums import ChecksumReport
from vouch.report.model import (
    Artifact,
    ChecksumLine,
    ChecksumsSection,
    DiffLine,
    Key,
    MemberDifference,
    NormalisationView,
    Outcome,
    ProvenanceFile,
    QuorumArtifact,
    QuorumSection,
    RebuildRun,
    RebuiltArtifact,
    RejectedLine,
    Status,
    Voucher,
    combine,
)

MAX_TEXT = 2000  # characters of one string from an input shown on the page
MAX_ITEMS = 200  # entries of one list from an input (members, attestations, ...)
MAX_DIFF_LINES = 400


def clip(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _field(document: Mapping[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
    value = document.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ValueError(f"{what}: {key!r} is missing or not of the right type")
    return value


def _optional_str(document: Mapping[str, Any], key: str, what: str) -> str | None:
    value = document.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{what}: {key!r} is not a string")
    return None if value is None else clip(value)


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError(f"{what} is not a list")
    return tuple(clip(item) for item in value[:MAX_ITEMS])


def _objects(value: Any, what: str) -> list[Mapping[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError(f"{what} is not a list of objects")
    return value


# ---- the quorum --------------------------------------------------------------------------------


def signer_keys(signer: TrustedSigner) -> tuple[Key, ...]:
    keys = []
    if signer.ssh_key is not None:
        kind = str(signer.ssh_key.keyval.get("public", "ssh")).split(" ", 1)[0]
        keys.append(Key(kind, signer.ssh_key.keyid))
    if signer.openpgp_key is not None:
        keys.append(Key("openpgp", signer.openpgp_key.keyid.upper()))
    if signer.sigstore_identity is not None:
        keys.append(Key("sigstore", f"{signer.sigstore_identity} ({signer.sigstore_issuer})"))
    return tuple(keys)


def quorum_section(report: CheckReport, policy: Policy) -> QuorumSection:
    by_name = {s.name: s for s in policy.signers}
    vouchers = tuple(
        Voucher(a.signer, a.role, by_name[a.signer].roles, signer_keys(by_name[a.signer]), a.source)
        for a in report.accepted
    )
    vouched = {v.signer for v in vouchers}
    artifacts = tuple(
        QuorumArtifact(a.filename, a.sha256, a.passed, tuple(sorted(a.vouched_by)), tuple(a.missing),
                       tuple(a.conflicts))
        for a in report.artifacts
    )  # fmt: skip
    if report.passed:
        count = min(len(a.vouched_by) for a in report.artifacts)
        reason = f"{count} trusted signers vouched for every artifact ({policy.threshold} required)"
        outcome = Outcome(Status.PASSED, reason)
    else:
        reasons = [*report.problems]
        for artifact in report.artifacts:
            reasons += [f"conflict: {c}" for c in artifact.conflicts]
            reasons += [f"missing {m}" for m in artifact.missing]
        shown = list(dict.fromkeys(reasons))  # the same shortfall of every artifact, said once
        outcome = Outcome(Status.FAILED, "; ".join(shown) or "no artifact passed")
    return QuorumSection(
        outcome=outcome, policy=str(policy.path), threshold=policy.threshold,
        require=tuple(sorted(policy.require.items())), signers=len(policy.signers), vouchers=vouchers,
        silent=tuple(s.name for s in policy.signers if s.name not in vouched), artifacts=artifacts,
        rejected=tuple(RejectedLine(r.source, r.signer, r.reason) for r in report.rejected),
        problems=tuple(report.problems),
    )  # fmt: skip


# ---- rebuilds ----------------------------------------------------------------------------------


def _diff_lines(lines: Any, what: str) -> tuple[DiffLine, ...]:
    shown = []
    for line in _strings(lines, what)[:MAX_DIFF_LINES]:
        if line.startswith(("+++", "---")):
            kind = "head"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        shown.append(DiffLine(kind, line))
    return tuple(shown)


def _difference(entry: Mapping[str, Any], what: str) -> MemberDifference:
    member = entry.get("member")
    if member is not None and not isinstance(member, str):
        raise ValueError(f"{what}: 'member' is not a string")
    aspects = _strings(entry.get("aspects"), f"{what}: aspects")
    details = {k: v for k, v in entry.items() if k not in ("member", "aspects")}
    content = details.get("content")
    diff: tuple[DiffLine, ...] = ()
    if isinstance(content, dict) and "diff" in content:
        diff = _diff_lines(content["diff"], f"{what}: the content diff")
        details["content"] = {k: v for k, v in content.items() if k != "diff"}
    return MemberDifference(clip(member or "(archive)"), aspects, diff, clip(details) if details else "")


def _verdict_outcome(verdict: str, differences: int, note: str, accept_equivalent: bool) -> Outcome:
    if verdict == "bit-identical":
        return Outcome(Status.PASSED, "the rebuild made the same bytes")
    if verdict == "equivalent":
        if accept_equivalent:
            return Outcome(Status.PASSED, "identical after the named normalisations (accepted)")
        return Outcome(Status.FAILED, "equivalent, not bit-identical: identical only after the named "
                       "normalisations (--accept-equivalent accepts that)")  # fmt: skip
    if verdict == "different":
        what = f"{differences} member(s) differ" if differences else "the bytes differ"
        return Outcome(Status.FAILED, f"different: {what}" + (f" ({note})" if note else ""))
    return Outcome(Status.NOT_CHECKED, f"unknown verdict {verdict!r}")


def rebuild_run(document: Any, source: str, *, accept_equivalent: bool = False) -> RebuildRun:
    """One ``vouch rebuild --json`` document, read from ``source``; ``ValueError`` when malformed."""
    if not isinstance(document, dict):
        raise ValueError(f"{source} is not a vouch rebuild report (a JSON object)")
    verdict = clip(_field(document, "verdict", str, source))
    recipe = document.get("recipe", {})
    if not isinstance(recipe, dict):
        raise ValueError(f"{source}: 'recipe' is not an object")
    artifacts = []
    for entry in _objects(document.get("artifacts"), f"{source}: artifacts")[:MAX_ITEMS]:
        filename = clip(_field(entry, "filename", str, f"{source}: an artifact"))
        what = f"{source}: {filename}"
        entry_verdict = clip(_field(entry, "verdict", str, what))
        normalisations = tuple(
            NormalisationView(clip(_field(n, "aspect", str, what)),
                              tuple(m or "(archive)" for m in _strings(n.get("members", []), what)),
                              _optional_str(n, "detail", what) or "")
            for n in _objects(entry.get("normalizations", []), f"{what}: normalizations")[:MAX_ITEMS]
        )  # fmt: skip
        raw_differences = _objects(entry.get("differences", []), f"{what}: differences")
        differences = tuple(_difference(d, what) for d in raw_differences[:MAX_ITEMS])
        note = _optional_str(entry, "note", what) or ""
        artifacts.append(RebuiltArtifact(
            filename, entry_verdict,
            _verdict_outcome(entry_verdict, len(raw_differences), note, accept_equivalent),
            _optional_str(entry, "published_sha256", what), _optional_str(entry, "rebuilt_sha256", what),
            normalisations, differences, note,
        ))  # fmt: skip
    recipe_items = tuple((clip(k), clip(v)) for k, v in list(recipe.items())[:MAX_ITEMS])
    warnings = _strings(document.get("warnings", []), f"{source}: warnings")
    origin: dict[str, Any] = recipe["source"] if isinstance(recipe.get("source"), dict) else {}
    epoch = recipe.get("source_date_epoch")
    return RebuildRun(
        source, verdict, recipe_items, tuple(artifacts), warnings,
        _optional_str(origin, "commit", f"{source}: recipe source"),
        _optional_str(origin, "repository", f"{source}: recipe source"),
        epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else None,
    )  # fmt: skip


def rebuilds_outcome(
    runs: Sequence[RebuildRun], problems: Sequence[str], artifacts: Sequence[str]
) -> Outcome:
    """Failed when any rebuilt file is not accepted; not checked when an input could not be read or
    an artifact has no rebuild verdict; passed otherwise."""
    if not runs and not problems:
        return Outcome(Status.NOT_CHECKED, "no rebuild report given (--rebuild-json)")
    failed = [f"{a.filename}: {a.outcome.reason}" for run in runs for a in run.artifacts
              if a.outcome.status is Status.FAILED]  # fmt: skip
    if failed:
        return Outcome(Status.FAILED, "; ".join(failed))
    covered = {a.filename for run in runs for a in run.artifacts}
    unchecked = [*problems, *(f"{name}: no rebuild verdict" for name in artifacts if name not in covered)]
    unchecked += [f"{a.filename}: {a.outcome.reason}" for run in runs for a in run.artifacts
                  if a.outcome.status is Status.NOT_CHECKED]  # fmt: skip
    if unchecked:
        return Outcome(Status.NOT_CHECKED, "; ".join(unchecked))
    verdicts = combine([a.outcome.status for run in runs for a in run.artifacts])
    return Outcome(verdicts, f"every artifact rebuilt ({len(runs)} rebuild report(s), as they report it)")


# ---- provenance --------------------------------------------------------------------------------

_PROVENANCE_STATUS = {"verified": Status.PASSED, "failed": Status.FAILED, "no provenance": Status.FAILED,
                      "not checked": Status.NOT_CHECKED}  # fmt: skip


def provenance_files(document: Any, source: str) -> tuple[str, tuple[ProvenanceFile, ...]]:
    """The trust root and the files of one ``vouch provenance --json`` document."""
    if not isinstance(document, dict):
        raise ValueError(f"{source} is not a vouch provenance report (a JSON object)")
    publisher = document.get("publisher")
    shown = clip(publisher.get("spec") or publisher) if isinstance(publisher, dict) else "(none named)"
    files = []
    for entry in _objects(document.get("files"), f"{source}: files")[:MAX_ITEMS]:
        filename = clip(_field(entry, "filename", str, f"{source}: a file"))
        what = f"{source}: {filename}"
        status = _field(entry, "status", str, what)
        reason = _optional_str(entry, "reason", what)
        verified = tuple(
            f"attestation {clip(a.get('source'))}: {clip(a.get('predicate_type'))}, signed by "
            f"{clip(a.get('signer'))}"
            for a in _objects(entry.get("attestations", []), f"{what}: attestations")[:MAX_ITEMS]
            if a.get("verified") is True
        )
        mapped = _PROVENANCE_STATUS.get(status, Status.NOT_CHECKED)
        text = {Status.PASSED: "every attestation verified against the expected publisher"}.get(
            mapped, f"{clip(status)}" + (f": {reason}" if reason else "")
        )
        files.append(ProvenanceFile(
            filename, clip(_field(entry, "sha256", str, what)), Outcome(mapped, text), shown, verified,
            _strings(entry.get("publisher_claims", []), f"{what}: publisher_claims"),
            _strings(entry.get("notes", []), f"{what}: notes"),
        ))  # fmt: skip
    return clip(document.get("trust_root", "")), tuple(files)


def provenance_outcome(files: Sequence[ProvenanceFile], problems: Sequence[str],
                       artifacts: Sequence[str], given: bool) -> Outcome:  # fmt: skip
    if not given:
        return Outcome(Status.NOT_CHECKED, "no provenance report given (--provenance-json)")
    failed = [f"{f.filename}: {f.outcome.reason}" for f in files if f.outcome.status is Status.FAILED]
    if failed:
        return Outcome(Status.FAILED, "; ".join(failed))
    covered = {f.filename for f in files}
    unchecked = [*problems, *(f"{n}: not in the provenance report" for n in artifacts if n not in covered)]
    unchecked += [
        f"{f.filename}: {f.outcome.reason}" for f in files if f.outcome.status is Status.NOT_CHECKED
    ]
    if unchecked:
        return Outcome(Status.NOT_CHECKED, "; ".join(unchecked))
    return Outcome(Status.PASSED, "every file's provenance verified (as the provenance report says)")


# ---- the checksum file -------------------------------------------------------------------------


def checksums_section(report: ChecksumReport, signer: str, artifacts: Sequence[str]) -> ChecksumsSection:
    lines = tuple(
        ChecksumLine(r.filename, Outcome(Status.PASSED if r.ok else Status.FAILED,
                                         "; ".join(r.problems) or "every listed hash matches"),
                     tuple(a.upper() for a in r.checked))
        for r in report.files
    )  # fmt: skip
    listed = {r.filename for r in report.files}
    problems = [*report.problems, *(f"{n} is not listed" for n in artifacts if n not in listed)]
    outcome = (
        Outcome(Status.FAILED, "; ".join(problems)) if problems
        else Outcome(Status.PASSED, f"signed by {signer}; every hash line matches its file")
    )  # fmt: skip
    return ChecksumsSection(
        outcome=outcome, path=str(report.path), signer=signer, fingerprint=report.fingerprint,
        signing_key=report.signing_key, signed_at=report.signed_at.isoformat(), digest=report.digest,
        tag=report.tag, commit=report.commit, lines=lines,
    )  # fmt: skip


# ---- artifacts ---------------------------------------------------------------------------------


def artifacts_outcome(artifacts: Sequence[Artifact], hashed: str = "hashed here") -> Outcome:
    """Failed when a file's bytes differ from a digest an input names; not checked when a file
    could not be read; passed otherwise (``hashed``: where the digests were computed)."""
    mismatches = [m for a in artifacts for m in a.mismatches]
    if mismatches:
        return Outcome(Status.FAILED, "; ".join(mismatches))
    unchecked = [f"{a.filename}: {u}" for a in artifacts for u in a.unchecked]
    if unchecked:
        return Outcome(Status.NOT_CHECKED, "; ".join(unchecked))
    return Outcome(Status.PASSED, f"{len(artifacts)} file(s) {hashed}; no input names another sha256")


def named_digests(runs: Sequence[RebuildRun], files: Sequence[ProvenanceFile]) -> list[tuple[str, str, str]]:
    """(file name, sha256, which input says so) for every digest the inputs name."""
    named = [(a.filename, a.expected_sha256, f"the rebuild report {run.source}")
             for run in runs for a in run.artifacts if a.expected_sha256]  # fmt: skip
    named += [(a.filename, a.rebuilt_sha256, f"the rebuild in {run.source}")
              for run in runs for a in run.artifacts
              if a.rebuilt_sha256 and a.verdict == "bit-identical"]  # fmt: skip
    named += [(f.filename, f.sha256, "the provenance report") for f in files]
    return [(n, d, w) for n, d, w in named if d is not None]
