"""The releaser's machine baseline, from a signed ``vouch doctor --sign`` statement.

Each line of the doctor evidence is verified like a vouch (a DSSE envelope whose signature is a
trusted signer's of the policy), then read as the doctor's statement: its predicate type, and its
one subject the sha256 of the predicate's canonical JSON. The newest statement that verifies is
shown; every line that does not is listed with the reason. The section fails when a check of that
statement failed, and is not checked when no line verifies.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from pathlib import Path
from typing import Any

from vouch.doctor.report import DOCTOR_PREDICATE
from vouch.doctor.result import STATUSES
from vouch.errors import VouchError
from vouch.intoto import StatementError, load_json, parse_statement
from vouch.policy.check import verify_envelope
from vouch.policy.model import Policy
from vouch.report.model import BaselineCheck, BaselineSection, Outcome, RejectedLine, Status
from vouch.report.sections import MAX_ITEMS, clip
from vouch.sign.envelope import EnvelopeError
from vouch.sign.evidence import read_evidence

_SUBJECT = "vouch-doctor-report"


def _checks(predicate: Any) -> tuple[BaselineCheck, ...]:
    entries = predicate.get("checks") if isinstance(predicate, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError("the statement lists no checks")
    checks = []
    for entry in entries[:MAX_ITEMS]:
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(k), str) for k in ("id", "status", "detail")
        ):
            raise ValueError("a check is not an object of id, status and detail")
        if entry["status"] not in STATUSES:
            raise ValueError(f"a check has the unknown status {clip(entry['status'])!r}")
        fix = entry.get("fix", "")
        checks.append(BaselineCheck(clip(entry["id"]), entry["status"], clip(entry["detail"]),
                                    clip(fix) if isinstance(fix, str) else ""))  # fmt: skip
    return tuple(checks)


Found = tuple[datetime.datetime, str, tuple[BaselineCheck, ...]]  # (time, signer, checks)


def _statement(text: str, source: str, policy: Policy, now: datetime.datetime,
               rejected: list[RejectedLine]) -> Found | None:  # fmt: skip
    try:
        names, payload, rejections = verify_envelope(load_json(text), source, policy, now)
        rejected.extend(RejectedLine(r.source, r.signer, r.reason) for r in rejections)
        if not names:
            rejected.append(RejectedLine(source, None, "no trusted signer's valid signature"))
            return None
        if len(names) > 1:
            rejected.append(RejectedLine(source, ", ".join(sorted(names)), "verifies for several signers"))
            return None
        statement = parse_statement(payload)
        if statement.predicate_type != DOCTOR_PREDICATE:
            raise ValueError(f"not a doctor statement (predicate {clip(statement.predicate_type)})")
        canonical = json.dumps(statement.predicate, sort_keys=True, separators=(",", ":")).encode("utf-8")
        if statement.digests != {_SUBJECT: hashlib.sha256(canonical).hexdigest()}:
            raise ValueError("its subject is not the sha256 of its report")
        checks = _checks(statement.predicate)
        when = statement.predicate.get("time")
        time = datetime.datetime.fromisoformat(when) if isinstance(when, str) else None
        if time is None or time.tzinfo is None:
            raise ValueError("the statement has no time with a time zone")
    except (ValueError, EnvelopeError, StatementError) as exc:
        rejected.append(RejectedLine(source, None, f"malformed: {clip(str(exc))}"))
        return None
    (signer,) = names
    return time, signer, checks


def baseline_section(path: Path | None, policy: Policy | None, now: datetime.datetime) -> BaselineSection:
    if path is None:
        return BaselineSection(
            Outcome(Status.NOT_CHECKED, "no signed doctor statement given (--doctor-evidence)")
        )
    if policy is None:
        return BaselineSection(
            Outcome(Status.NOT_CHECKED, "no policy: nothing to verify the statement's signer with")
        )
    try:
        lines = read_evidence([path])
    except VouchError as exc:
        return BaselineSection(Outcome(Status.NOT_CHECKED, str(exc)))
    rejected: list[RejectedLine] = []
    found = []
    for line in lines:
        if line.text is None:
            rejected.append(RejectedLine(line.source, None, f"unreadable: {line.problem}"))
            continue
        statement = _statement(line.text, line.source, policy, now, rejected)
        if statement is not None:
            found.append((statement[0], line.source, statement[1], statement[2]))
    if not found:
        return BaselineSection(Outcome(Status.NOT_CHECKED, f"no line of {path} is a doctor statement "
                                       "signed by a trusted signer"), rejected=tuple(rejected))  # fmt: skip
    time, source, signer, checks = max(found, key=lambda item: item[0])
    failed = [c.id for c in checks if c.status == "fail"]
    unknown = [c.id for c in checks if c.status == "unknown"]
    if failed:
        outcome = Outcome(Status.FAILED, f"{len(failed)} check(s) failed: {', '.join(failed)}")
    else:
        unknowns = f" ({len(unknown)} unknown: {', '.join(unknown)})" if unknown else ""
        outcome = Outcome(Status.PASSED, f"no check failed on {signer}'s machine{unknowns}")
    return BaselineSection(outcome, source, signer, time.isoformat(), checks, tuple(rejected))
