"""The statement a party signs: "I built (or rebuilt) these digests from that commit".

An in-toto Statement v1 whose subjects are the release's files (name + sha256) and whose
predicate names the source and the signer's role. ``parse_statement`` checks every field of a
statement received; it accepts other predicate types (a PEP 740 publish attestation vouches for
digests too) but reads a source commit only from vouch's own predicate.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from vouch.models.record import STATEMENT_TYPE

VOUCH_PREDICATE = "https://github.com/vouch-dev/vouch/vouched/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


class StatementError(ValueError):
    """A statement that is not well formed; the message says which field."""


@dataclass(frozen=True)
class Statement:
    subjects: dict[str, str]  # file name -> sha256
    predicate_type: str
    commit: str | None
    repository: str | None
    role: str | None

    def to_payload(self) -> bytes:
        document = {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": n, "digest": {"sha256": d}} for n, d in sorted(self.subjects.items())],
            "predicateType": VOUCH_PREDICATE,
            "predicate": {
                "source": {"repository": self.repository, "commit": self.commit},
                "role": self.role,
            },
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")


def parse_statement(payload: bytes) -> Statement:
    try:
        document: Any = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise StatementError(f"the payload is not JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("_type") != STATEMENT_TYPE:
        raise StatementError("the payload is not an in-toto Statement v1")
    subjects: dict[str, str] = {}
    raw_subjects = document.get("subject")
    if not isinstance(raw_subjects, list) or not raw_subjects:
        raise StatementError("the statement has no subjects")
    for subject in raw_subjects:
        name = subject.get("name") if isinstance(subject, dict) else None
        digest = subject.get("digest", {}).get("sha256") if isinstance(subject, dict) else None
        if not isinstance(name, str) or not name or not isinstance(digest, str) or not _SHA256.match(digest):
            raise StatementError(f"malformed subject {subject!r}")
        if name in subjects:
            raise StatementError(f"subject {name} appears twice")
        subjects[name] = digest
    predicate_type = document.get("predicateType")
    if not isinstance(predicate_type, str):
        raise StatementError("the statement has no predicateType")
    commit = repository = role = None
    if predicate_type == VOUCH_PREDICATE:
        predicate = document.get("predicate")
        source = predicate.get("source") if isinstance(predicate, dict) else None
        if not isinstance(source, dict) or not isinstance(source.get("commit"), str):
            raise StatementError("the vouch predicate names no source commit")
        commit = source["commit"]
        if not _COMMIT.match(commit):
            raise StatementError(f"source commit {commit!r} is not a full hex SHA")
        repository = source.get("repository") if isinstance(source.get("repository"), str) else None
        role = predicate.get("role") if isinstance(predicate.get("role"), str) else None  # type: ignore[union-attr]
    return Statement(subjects, predicate_type, commit, repository, role)
