"""``vouch sign``: a signed statement over a release's digests, appended to its evidence file.

The evidence file is shared by everyone who signs (laptops, CI jobs): an append holds an
exclusive lock on it (``flock``) and writes one whole line, so concurrent signers never lose a
line. Reading it takes the lines one by one: a UTF-8 BOM at the start is skipped, and a line
that is not UTF-8 or longer than ``MAX_LINE`` is reported alone while the others still count.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from securesystemslib.exceptions import UnsupportedLibraryError
from securesystemslib.signer import Signer

from vouch.digests import file_sha256
from vouch.dist import dist_name_version
from vouch.errors import CheckError, OutputError, ToolError, UsageError
from vouch.host import Host
from vouch.intoto import VOUCH_PREDICATE, StatementError, Vouch, read_vouch
from vouch.sign import openpgp
from vouch.sign.envelope import envelope_line, sign_payload
from vouch.sign.keyless import sign_keyless
from vouch.sign.ssh import SSHSigner

EVIDENCE_SUFFIX = ".intoto.jsonl"
MAX_LINE = 1 << 20  # a DSSE envelope or a Sigstore bundle is a few KiB
_BOM = b"\xef\xbb\xbf"


def signer_from_keyspec(keyspec: str, *, host: Host | None = None) -> Signer | None:
    """The signer for ``ssh:PATH`` or ``gpg:FINGERPRINT``; None for ``sigstore`` (keyless)."""
    if keyspec == "sigstore":
        return None
    kind, _, value = keyspec.partition(":")
    if kind == "ssh" and value:
        return SSHSigner(Path(value).expanduser(), host=host)
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
    evidence: Path | None  # None: the envelope went elsewhere only (a git note)
    statement: Vouch
    keyid: str
    envelope: dict[str, Any]


def statement_from_record(record: Path, role: str | None) -> Vouch:
    from vouch.rebuild.replay import read_record  # noqa: PLC0415 - `vouch check` does not need it

    parsed = read_record(record)
    return Vouch(
        subjects={s.name: s.sha256 for s in parsed.subjects},
        predicate_type=VOUCH_PREDICATE,
        commit=parsed.source.commit,
        repository=parsed.source.repository,
        role=role,
    )


def statement_from_artifacts(artifacts: Sequence[Path], commit: str | None, role: str | None) -> Vouch:
    if commit is None:
        raise UsageError("signing artifacts needs --source-commit SHA (the commit they were built from)")
    missing = [str(p) for p in artifacts if not p.is_file()]
    if missing:
        raise UsageError(f"artifact {missing[0]} does not exist")
    names = [p.name for p in artifacts]
    if len(set(names)) != len(names):
        raise UsageError("two artifacts have the same file name")
    return Vouch({p.name: file_sha256(p) for p in artifacts}, VOUCH_PREDICATE, commit, None, role)


def sign(statement: Vouch, signer: Signer | None, evidence: Path | None) -> Signed:
    """Sign ``statement`` (keyless with Sigstore when ``signer`` is None) and append the
    envelope, or the Sigstore bundle, as one line of ``evidence`` (unless it is None)."""
    try:
        read_vouch(statement.to_statement())  # what `vouch check` would refuse is never signed
    except StatementError as exc:
        raise UsageError(f"cannot sign this statement: {exc}") from exc
    if signer is None:
        keyid, envelope = sign_keyless(statement.to_payload())
    else:
        try:
            envelope = sign_payload(statement.to_payload(), signer)
        except (ValueError, OSError, UnsupportedLibraryError) as exc:
            raise ToolError(f"signing failed: {str(exc)[:300]}") from exc
        keyid = signer.public_key.keyid
    if evidence is not None:
        append_evidence(evidence, envelope)
    return Signed(evidence, statement, keyid, envelope)


def append_evidence(evidence: Path, envelope: dict[str, Any]) -> None:
    """Append ``envelope`` as one line of the evidence file, holding an exclusive lock on it."""
    line = envelope_line(envelope).encode() + b"\n"
    with locked(evidence, os.O_APPEND) as fd:
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # a line cut short (a crash) stays alone, and is rejected alone
            written = os.write(fd, line)
            if written != len(line):
                raise OutputError(f"cannot write {evidence}: short write ({written} of {len(line)} bytes)")
            os.fsync(fd)
        except OSError as exc:
            raise OutputError(f"cannot write {evidence}: {exc.strerror}") from exc


@contextlib.contextmanager
def locked(path: Path, flags: int = 0) -> Iterator[int]:
    """``path`` opened read-write (created if missing, never through a link; ``flags`` added), as a
    descriptor held under an exclusive ``flock`` until the block ends."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | flags, 0o644)
    except OSError as exc:
        raise OutputError(f"cannot open {path}: {exc.strerror}") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OutputError(f"{path} is not a regular file")
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)  # releases the lock


@dataclass(frozen=True)
class EvidenceLine:
    """One non-blank line of an evidence file: its text, or why it cannot be read."""

    source: str  # FILE:LINE, or git-note:REF@COMMIT:LINE
    sha256: str  # of the line's bytes, for the verification summary
    text: str | None
    problem: str | None = None
    commit: str | None = None  # the commit its statement must name (a git note's), None for a file


def _lines(stream: BinaryIO) -> Iterator[tuple[int, bytes | None, str | None]]:
    """(number, bytes or None when longer than MAX_LINE) for each line, in bounded memory."""
    number = 0
    while True:
        chunk = stream.readline(MAX_LINE + 1)
        if not chunk:
            return
        number += 1
        if len(chunk) > MAX_LINE and not chunk.endswith(b"\n"):
            digest = hashlib.sha256(chunk)
            while chunk and not chunk.endswith(b"\n"):
                chunk = stream.readline(MAX_LINE)
                digest.update(chunk)
            yield number, None, digest.hexdigest()
            continue
        line = chunk.rstrip(b"\n").rstrip(b"\r")
        if number == 1 and line.startswith(_BOM):
            line = line[len(_BOM) :]
        yield number, line, None


def read_evidence(paths: Sequence[Path]) -> list[EvidenceLine]:
    """Every non-blank line of every evidence file (a FIFO or device is refused, never read)."""
    lines: list[EvidenceLine] = []
    for path in paths:
        try:
            if not stat.S_ISREG(path.stat().st_mode):
                raise UsageError(f"evidence file {path} is not a regular file")
            with path.open("rb") as stream:
                lines += read_evidence_stream(stream, str(path))
        except FileNotFoundError:
            raise UsageError(f"evidence file {path} does not exist") from None
        except OSError as exc:
            raise CheckError(f"cannot read {path}: {exc.strerror}") from exc
    return lines


def read_evidence_stream(stream: BinaryIO, origin: str, commit: str | None = None) -> list[EvidenceLine]:
    """Every non-blank line of ``stream`` (an evidence file, a git note), each ``ORIGIN:LINE``;
    ``commit``: the commit every statement of this origin must name (a git note's commit)."""
    lines: list[EvidenceLine] = []
    for number, data, long_digest in _lines(stream):
        source = f"{origin}:{number}"
        if data is None:
            problem = f"the line is longer than {MAX_LINE} bytes"
            lines.append(EvidenceLine(source, long_digest or "", None, problem, commit))
            continue
        if not data.strip():
            continue
        digest = hashlib.sha256(data).hexdigest()
        try:
            lines.append(EvidenceLine(source, digest, data.decode("utf-8"), None, commit))
        except UnicodeDecodeError as exc:
            lines.append(EvidenceLine(source, digest, None, f"not UTF-8 (byte {exc.start})", commit))
    return lines


def default_evidence(near: Path, filenames: Sequence[str]) -> Path:
    return near / f"{release_stem(filenames)}{EVIDENCE_SUFFIX}"


def dumps(signed: Signed) -> str:
    return json.dumps(
        {"evidence": None if signed.evidence is None else str(signed.evidence), "keyid": signed.keyid,
         "subjects": signed.statement.subjects,
         "commit": signed.statement.commit, "role": signed.statement.role},
        indent=2,
    )  # fmt: skip
