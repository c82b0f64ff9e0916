"""Every check of the baseline run in order, the report as JSON, and as a signed in-toto statement."""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from securesystemslib.signer import Signer

from vouch.doctor.baseline import Baseline, parse_baseline
from vouch.doctor.keys import check_git_signs_tags, check_gpg_keys, check_ssh_signing_key
from vouch.doctor.machine import Machine
from vouch.doctor.result import CheckResult
from vouch.doctor.system import check_encryption, check_firewall, check_os, check_screen_lock, check_updates
from vouch.errors import UsageError
from vouch.host import utcnow
from vouch.intoto import Statement, Subject
from vouch.policy.model import find_policy, policy_table
from vouch.sign.envelope import sign_payload
from vouch.sign.evidence import append_evidence

DOCTOR_PREDICATE = "https://github.com/vouch-dev/vouch/doctor/v1"
REPORT_VERSION = 1


@dataclass(frozen=True)
class DoctorReport:
    checks: list[CheckResult]
    baseline: Baseline
    time: datetime.datetime

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == "fail"]

    def to_json(self) -> dict[str, Any]:
        return {"checks": [c.to_json() for c in self.checks]}

    def predicate(self) -> dict[str, Any]:
        return {
            "version": REPORT_VERSION,
            "time": self.time.isoformat(),
            "baseline": self.baseline.to_json(),
            "passed": not self.failed,
            **self.to_json(),
        }


def load_baseline(policy: Path | None, project: Path = Path()) -> Baseline:
    """``[baseline]`` of the policy (signers not required); the defaults when there is no policy."""
    try:
        found = find_policy(policy, project)
    except UsageError:
        if policy is not None:
            raise
        return Baseline()
    table, _ = policy_table(found)
    return parse_baseline(table.get("baseline"))


def run_doctor(machine: Machine, baseline: Baseline, now: datetime.datetime | None = None) -> DoctorReport:
    now = now or utcnow()
    checks: list[CheckResult] = []
    for check in (check_os, check_updates, check_encryption, check_screen_lock, check_firewall):
        checks.append(check(machine, baseline))
    checks += check_gpg_keys(machine, baseline, now)
    checks.append(check_ssh_signing_key(machine, baseline))
    checks.append(check_git_signs_tags(machine, baseline))
    return DoctorReport(checks, baseline, now)


def statement_payload(report: DoctorReport) -> bytes:
    """An in-toto Statement v1 whose subject is the report's canonical JSON (by sha256)."""
    predicate = report.predicate()
    canonical = json.dumps(predicate, sort_keys=True, separators=(",", ":")).encode("utf-8")
    subject = Subject("vouch-doctor-report", hashlib.sha256(canonical).hexdigest())
    return Statement.of([subject], DOCTOR_PREDICATE, predicate).to_payload()


def write_signed(report: DoctorReport, signer: Signer, evidence: Path) -> dict[str, Any]:
    """Sign the report's statement and append the DSSE envelope as one line of ``evidence``."""
    envelope = sign_payload(statement_payload(report), signer)
    append_evidence(evidence, envelope)
    return envelope


def statuses(checks: Sequence[CheckResult]) -> dict[str, int]:
    return {status: sum(c.status == status for c in checks) for status in ("pass", "fail", "unknown")}
