"""A release's checksum file end to end: its inputs resolved, made, signed, checked, written;
and a received one verified (signature by the expected key first, then every hash).

The release date is an input. Without ``--date`` it is the committer date (UTC) of ``--commit``
in the git repository; with neither, vouch refuses rather than write today's date silently
(``--date today`` says so explicitly).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vouch.atomic import write_bytes_atomic
from vouch.errors import OutputError, SourceError, UsageError, VerificationError
from vouch.git import git
from vouch.host import Completed, Host
from vouch.release.checksums import ChecksumFile, FileResult, check_listing, collect_packages, parse_listing
from vouch.release.clearsign import (
    ExpectedKey,
    clearsign,
    expected_key,
    normalize_fingerprint,
    verify_clearsigned,
)

_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _git(repo: Path, host: Host | None, *args: str) -> Completed:
    return git(["-C", str(repo), *args], host=host, hint="install git, or pass --date and a full commit SHA")


@dataclass(frozen=True)
class Revision:
    commit: str
    committed: datetime.date | None  # None when the commit was given outside a repository


def resolve_revision(rev: str, repo: Path, tag: str | None, *, host: Host | None = None) -> Revision:
    """``rev`` as a full commit SHA, with its committer date when ``repo`` is a git repository.

    Outside a repository only a full SHA is accepted. Inside, a tag that already exists must
    point to that commit (the file says it does).
    """
    if not repo.is_dir():
        raise UsageError(f"--repo {repo} is not a directory")
    if _git(repo, host, "rev-parse", "--is-inside-work-tree").returncode != 0:
        if not _SHA.fullmatch(rev):
            raise SourceError(
                f"{repo} is not a git repository: --commit must be a full commit SHA, not {rev!r}"
            )
        return Revision(rev, None)
    resolved = _git(repo, host, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    if resolved.returncode != 0:
        raise SourceError(f"unknown revision {rev!r} in {repo}")
    commit = resolved.out.strip()
    if tag is not None:
        tagged = _git(
            repo, host, "rev-parse", "--verify", "--quiet", "--end-of-options", f"refs/tags/{tag}^{{commit}}"
        )
        if tagged.returncode == 0 and tagged.out.strip() != commit:
            raise UsageError(f"the tag {tag} points to {tagged.out.strip()}, not to {commit}")
    when = _git(repo, host, "show", "-s", "--format=%ct", commit)
    committed = datetime.datetime.fromtimestamp(int(when.out.strip()), datetime.UTC).date()
    return Revision(commit, committed)


def parse_date(text: str) -> datetime.date:
    if not _DATE.fullmatch(text):
        raise UsageError(f"--date {text!r} is not YYYY-MM-DD")
    try:
        return datetime.date.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"--date {text!r}: {exc}") from exc


@dataclass(frozen=True)
class ChecksumRequest:
    """What ``vouch checksums`` was asked for, after the CLI resolved dates and revisions."""

    artifacts: tuple[Path, ...]
    released: datetime.date
    layout: str = "django"  # or "sha256sum"
    out: Path | None = None  # default: PROJECT-VERSION.checksum.txt beside the first artifact
    project: str | None = None
    commit: str | None = None
    tag: str | None = None
    key_id: str | None = None
    key_url: str | None = None
    package_url: str | None = None
    sign_fingerprint: str | None = None


@dataclass(frozen=True)
class MadeChecksums:
    document: ChecksumFile
    text: str  # what was written: signed when asked
    path: Path | None  # None when printed instead
    signed: bool

    def to_json(self) -> dict[str, Any]:
        doc = self.document
        return {
            "checksum-file": str(self.path) if self.path else None,
            "signed": self.signed,
            "project": doc.project,
            "version": doc.version,
            "released": doc.released.isoformat(),
            "commit": doc.commit,
            "packages": [{"filename": p.filename, "url": p.url, **p.digests} for p in doc.packages],
        }


def make_checksums(
    request: ChecksumRequest, *, write: bool = True, gnupghome: Path | None = None, host: Host | None = None
) -> MadeChecksums:
    """Make the file; with ``sign_fingerprint`` clearsign it and verify the signature with that
    key before anything is written; then write it atomically (unless ``write`` is false)."""
    if request.layout not in ("django", "sha256sum"):
        raise UsageError(f"unknown checksum layout {request.layout!r}: django or sha256sum")
    written_name, version, packages = collect_packages(request.artifacts, package_url=request.package_url)
    project = request.project or written_name
    out = request.out or request.artifacts[0].parent / f"{project}-{version}.checksum.txt"
    fingerprint = normalize_fingerprint(request.sign_fingerprint) if request.sign_fingerprint else None
    key_id = request.key_id
    if fingerprint is not None:
        if key_id is not None and not fingerprint.endswith(
            key_id.replace(" ", "").upper().removeprefix("0X")
        ):
            raise UsageError(f"--key-id {key_id} is not the ID of the signing key {fingerprint}")
        key_id = key_id or fingerprint[-16:]
    document = ChecksumFile(
        project=project, version=version, released=request.released, packages=packages, name=out.name,
        key_id=key_id, key_url=request.key_url, commit=request.commit, tag=request.tag,
    )  # fmt: skip
    text = document.django() if request.layout == "django" else document.sha256sum()
    if fingerprint is not None:
        signed = clearsign(text, fingerprint, home=gnupghome, host=host)
        key = expected_key(keyring=None, fingerprint=fingerprint, home=gnupghome, host=host)
        if verify_clearsigned(signed.encode("utf-8"), key, host=host).text != text:
            raise VerificationError("gpg signed another text than the checksum file")
        text = signed
    if write:
        try:
            write_bytes_atomic(out, text.encode("utf-8"))
        except OSError as exc:
            raise OutputError(f"cannot write {out}: {exc.strerror}") from exc
    return MadeChecksums(document, text, out if write else None, fingerprint is not None)


@dataclass(frozen=True)
class ChecksumReport:
    """A checksum file verified: who signed it, and each listed file's result."""

    path: Path
    directory: Path
    fingerprint: str
    signing_key: str
    signed_at: datetime.datetime
    digest: str
    tag: str | None
    commit: str | None
    files: tuple[FileResult, ...]

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.files)

    @property
    def problems(self) -> list[str]:
        return [problem for result in self.files for problem in result.problems]

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checksum-file": str(self.path),
            "directory": str(self.directory),
            "signature": {
                "fingerprint": self.fingerprint,
                "signing-key": self.signing_key,
                "created": self.signed_at.isoformat(),
                "digest": self.digest,
            },
            "tag": self.tag,
            "commit": self.commit,
            "files": [
                {"filename": r.filename, "present": r.present, "ok": r.ok, "checked": list(r.checked),
                 "problems": list(r.problems)}
                for r in self.files
            ],
        }  # fmt: skip


def verify_checksums(
    path: Path, directory: Path | None, key: ExpectedKey, *, host: Host | None = None
) -> ChecksumReport:
    """Raises ``VerificationError`` unless ``key`` signed the file; then checks every hash of every
    file it lists, found in ``directory`` (default: the file's own), and reports each."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    signed = verify_clearsigned(data, key, host=host)
    # the signed text starts after the armor headers ("Hash: SHA256") and a blank line
    lines = data.decode("utf-8", errors="replace").split("\n")
    first_line = next((i for i, line in enumerate(lines) if not line.strip()), 0) + 2
    listing = parse_listing(signed.text, first_line=first_line)
    folder = directory if directory is not None else path.parent
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a directory")
    return ChecksumReport(
        path=path, directory=folder, fingerprint=signed.fingerprint, signing_key=signed.signing_key,
        signed_at=datetime.datetime.fromtimestamp(signed.created, datetime.UTC), digest=signed.digest,
        tag=listing.tag, commit=listing.commit, files=check_listing(listing, folder),
    )  # fmt: skip
