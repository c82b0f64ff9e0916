"""A SLSA Verification Summary Attestation (v1) of a ``vouch check``."""

from __future__ import annotations

import datetime
from typing import Any

from vouch import __version__
from vouch.host import utcnow
from vouch.intoto import Statement, Subject
from vouch.policy.check import CheckReport

VSA_TYPE = "https://slsa.dev/verification_summary/v1"


def verification_summary(report: CheckReport, *, now: datetime.datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    predicate = {
        "verifier": {"id": f"https://github.com/vouch-dev/vouch@{__version__}"},
        "timeVerified": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resourceUri": ",".join(a.filename for a in report.artifacts),
        "policy": {"uri": str(report.policy.path), "digest": {"sha256": report.policy.sha256}},
        "inputAttestations": [{"uri": uri, "digest": {"sha256": digest}} for uri, digest in report.inputs],
        "verificationResult": "PASSED" if report.passed else "FAILED",
        "verifiedLevels": [f"VOUCH_{report.policy.threshold}_OF_{len(report.policy.names)}"]
        if report.passed
        else [],
        "slsaVersion": "1.0",
    }
    subjects = [Subject(a.filename, a.sha256) for a in report.artifacts]
    return Statement.of(subjects, VSA_TYPE, predicate).to_json()
