"""``vouch sign``: a signed statement over a release's digests, appended to its evidence file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from securesystemslib.signer import Signer

from vouch.atomic import write_bytes_atomic
from vouch.build.rebuild import read_record
from vouch.digests import file_sha256
from vouch.errors import OutputError, UsageError
from vouch.models.dist import dist_name_version
from vouch.sign import openpgp
from vouch.sign.envelope import envelope_line, sign_payload
from vouch.sign.keyless import sign_keyless
from vouch.sign.ssh import SSHSigner
from vouch.sign.statement import Statement

EVIDENCE_SUFFIX = ".intoto.jsonl"


def signer_from_keyspec(keyspec: str) -> Signer | None:
    """The signer for ``ssh:PATH`` or ``gpg:FINGERPRINT``; None for ``sigstore`` (keyless)."""
    if keyspec == "sigstore":
        return None
    kind, _, value = keyspec.partition(":")
    if kind == "ssh" and value:
        return SSHSigner(Path(value).expanduser())
    if kind == "gpg" and value:
        return openpgp.signer_for(value)
    raise UsageError(f"--key {keyspec!r}: expected ssh:PATH, gpg:FINGERPRINT or sigstore")


def release_stem(filenames: Sequence[str]) -> str:
    """``NAME-VERSION`` from a release's sdist or wheel file names."""
    for filename in filenames:
        parsed = dist_name_version(filename)
        if parsed is not None:
            return f"{parsed[0].replace('-', '_')}-{parsed[1]}"
    raise UsageError("cannot tell the release from these file names; pass --evidence FILE")


@dataclass(frozen=True)
class Signed:
    evidence: Path
    statement: Statement
    keyid: str
    envelope: dict[str, Any]


def statement_from_record(record: Path, role: str | None) -> Statement:
    parsed = read_record(record)
    return Statement(
        subjects={s.name: s.sha256 for s in parsed.subjects},
        predicate_type="",
        commit=parsed.source.commit,
        repository=parsed.source.repository,
        role=role,
    )


def statement_from_artifacts(artifacts: Sequence[Path], commit: str | None, role: str | None) -> Statement:
    if commit is None:
        raise UsageError("signing artifacts needs --source-commit SHA (the commit they were built from)")
    missing = [str(p) for p in artifacts if not p.is_file()]
    if missing:
        raise UsageError(f"artifact {missing[0]} does not exist")
    names = [p.name for p in artifacts]
    if len(set(names)) != len(names):
        raise UsageError("two artifacts have the same file name")
    return Statement({p.name: file_sha256(p) for p in artifacts}, "", commit, None, role)


def sign(statement: Statement, signer: Signer | None, evidence: Path) -> Signed:
    """Sign ``statement`` (keyless with Sigstore when ``signer`` is None) and append the
    envelope, or the Sigstore bundle, as one line of ``evidence``."""
    if signer is None:
        keyid, envelope = sign_keyless(statement.to_payload())
    else:
        envelope = sign_payload(statement.to_payload(), signer)
        keyid = signer.public_key.keyid
    append_evidence(evidence, envelope)
    return Signed(evidence, statement, keyid, envelope)


def append_evidence(evidence: Path, envelope: dict[str, Any]) -> None:
    """Append ``envelope`` as one line of the evidence file (rewritten atomically)."""
    previous = evidence.read_bytes() if evidence.is_file() else b""
    if previous and not previous.endswith(b"\n"):
        previous += b"\n"
    try:
        write_bytes_atomic(evidence, previous + envelope_line(envelope).encode() + b"\n")
    except OSError as exc:
        raise OutputError(f"cannot write {evidence}: {exc.strerror}") from exc


def default_evidence(near: Path, filenames: Sequence[str]) -> Path:
    return near / f"{release_stem(filenames)}{EVIDENCE_SUFFIX}"


def dumps(signed: Signed) -> str:
    return json.dumps(
        {"evidence": str(signed.evidence), "keyid": signed.keyid, "subjects": signed.statement.subjects,
         "commit": signed.statement.commit, "role": signed.statement.role},
        indent=2,
    )  # fmt: skip
