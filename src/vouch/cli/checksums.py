"""``vouch checksums [make] ARTIFACT...``: a Django-format checksum file, optionally clearsigned;
``vouch checksums verify FILE``: its verification."""

from __future__ import annotations

import argparse
import datetime
import json
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from vouch.cli.parser import add_command, add_verbs, existing, handle, host_of, verb

if TYPE_CHECKING:
    from vouch.host import Host
    from vouch.release.signed_checksums import ChecksumReport, Revision

def add_parser(subparsers: Any) -> None:
    parser = add_command(
        subparsers, "checksums",
        summary="write a Django-format checksum file (MD5, SHA1, SHA256), clearsigned; or verify one",
        description="Write a release's checksum file in Django's layout, optionally clearsigned with "
        "gpg (`make`, the default verb: `vouch checksums ARTIFACT...`), or verify one (`verify FILE`).",
        examples=[f"vouch checksums {_DIST} --commit v1.0 --sign gpg:FINGERPRINT",
                  "vouch checksums verify dist/demo-1.0.checksum.txt --keyring release-key.asc"],
    )  # fmt: skip
    verbs = add_verbs(parser, default="make")
    make = verb(
        parser, verbs, "make", scope="making a checksum file (`vouch checksums ARTIFACT...`)",
        summary="write the release's checksum file",
        description="Write the release's checksum file in Django's layout (a header saying how to "
        "verify it, Release packages, MD5/SHA1/SHA256 checksums as `<hash>  <file>` lines that "
        "sha256sum --check reads, Git tag), byte for byte the same for the same inputs, optionally "
        "clearsigned with gpg. The verb `make` may be left out.",
        examples=[f"vouch checksums {_DIST} --commit v1.0 --sign gpg:FINGERPRINT",
                  f"vouch checksums {_DIST} --date 2025-06-04 --format sha256sum --out -"],
    )  # fmt: skip
    make.add_argument("artifacts", nargs="+", type=Path, metavar="ARTIFACT", help="the sdist and wheels")
    make.add_argument("--format", choices=("django", "sha256sum"), default="django",
                      help="the layout (default: django)")  # fmt: skip
    make.add_argument("--commit", metavar="REV", help="the release's commit (a full SHA outside a repo)")
    make.add_argument("--tag", metavar="TAG", help="the release tag named in the file (default: the version)")
    make.add_argument("--repo", type=Path, metavar="DIR", help="the git repository of --commit (default: .)")
    make.add_argument(
        "--date", metavar="YYYY-MM-DD",
        help="the release date (default: the commit date of --commit, in UTC); `today` for today's",
    )  # fmt: skip
    make.add_argument("--project", metavar="NAME", help="the name in the text (default: the file names')")
    make.add_argument("--key-id", metavar="ID", help="the signing key's ID (default: from --sign)")
    make.add_argument("--key-url", metavar="URL", help="where to fetch the public key (default: a keyserver)")
    make.add_argument(
        "--package-url", metavar="TEMPLATE",
        help="URL of each package, with {name} {version} {filename} {kind} (default: PyPI's)",
    )  # fmt: skip
    make.add_argument("--sign", metavar="gpg:FINGERPRINT", help="clearsign with this gpg key (SHA256)")
    make.add_argument("--out", metavar="FILE|-",
                      help="default: PROJECT-VERSION.checksum.txt by the artifacts; - stdout")  # fmt: skip
    make.add_argument("--json", action="store_true", help="print what was written as JSON")
    handle(make, MakeArgs, run_make)

    check = verb(
        parser, verbs, "verify", scope="`vouch checksums verify`",
        summary="verify a checksum file: its signature by the expected key, then every hash",
        description="Check the clearsigned checksum file's signature against the expected key only, "
        "then every hash of every file it lists. Exit 0 only when all of them match.",
        examples=["vouch checksums verify dist/demo-1.0.checksum.txt --keyring release-key.asc",
                  "vouch checksums verify Django-5.2.3.checksum.txt --key-fingerprint FP --dir dist"],
    )  # fmt: skip
    check.add_argument("file", type=Path, metavar="FILE", help="the checksum file")
    check.add_argument("--dir", type=Path, metavar="DIR", help="where the files are (default: FILE's)")
    check.add_argument("--keyring", type=Path, metavar="FILE", help="the expected public key")
    check.add_argument(
        "--key-fingerprint", metavar="FP",
        help="the expected key's fingerprint (taken from --keyring, else from your gpg keyring)",
    )  # fmt: skip
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    handle(check, VerifyArgs, run_verify)


_DIST = "dist/demo-1.0.tar.gz dist/demo-1.0-py3-none-any.whl"


@dataclass(frozen=True)
class MakeArgs:
    """`vouch checksums [make]`: the request's parts before the commit and date are resolved."""

    artifacts: tuple[Path, ...]
    layout: str
    commit: str | None
    tag: str | None
    repo: Path
    date: str | None
    project: str | None
    key_id: str | None
    key_url: str | None
    package_url: str | None
    sign_fingerprint: str | None
    out: Path | None
    to_stdout: bool
    json: bool
    host: Host

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> MakeArgs:
        from vouch.errors import UsageError  # noqa: PLC0415

        if args.tag is not None and args.commit is None:
            raise UsageError("--tag names the tag of --commit: pass --commit too")
        sign: str | None = args.sign
        if sign is not None and not sign.startswith("gpg:"):
            raise UsageError(f"--sign {sign!r}: the checksum file is signed with OpenPGP: gpg:FINGERPRINT")
        to_stdout = args.out == "-"
        return cls(
            artifacts=tuple(args.artifacts), layout=args.format, commit=args.commit, tag=args.tag,
            repo=args.repo or Path(), date=args.date, project=args.project, key_id=args.key_id,
            key_url=args.key_url, package_url=args.package_url,
            sign_fingerprint=sign.removeprefix("gpg:") if sign else None,
            out=None if args.out is None or to_stdout else Path(args.out), to_stdout=to_stdout,
            json=args.json, host=host_of(args),
        )  # fmt: skip


@dataclass(frozen=True)
class VerifyArgs:
    """`vouch checksums verify FILE`."""

    file: Path
    dir: Path | None
    keyring: Path | None
    key_fingerprint: str | None
    json: bool
    host: Host

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> VerifyArgs:
        file = existing(args.file, "checksum file")
        return cls(file, args.dir, args.keyring, args.key_fingerprint, args.json, host_of(args))


def _release_date(command: MakeArgs, revision: Revision | None, err: Console) -> datetime.date:
    from vouch.errors import UsageError  # noqa: PLC0415
    from vouch.release.signed_checksums import parse_date  # noqa: PLC0415

    if command.date == "today":
        today = command.host.clock().astimezone(datetime.UTC).date()
        err.print(f"note: the release date is today's date, {today} (UTC): the file changes from day to day",
                  style="yellow", markup=False)  # fmt: skip
        return today
    if command.date is not None:
        return parse_date(command.date)
    if revision is not None and revision.committed is not None:
        err.print(f"release date {revision.committed}: the commit date of {revision.commit[:12]} (UTC)",
                  style="dim", markup=False)  # fmt: skip
        return revision.committed
    raise UsageError(
        "no release date: pass --date YYYY-MM-DD, or --commit REV inside the git repository",
        hint="the commit's date (UTC) is the default; --date today uses today's, and says so",
    )


def run_make(command: MakeArgs, out: Console, err: Console) -> int:
    from vouch.release.checksums import release_name_version  # noqa: PLC0415
    from vouch.release.signed_checksums import ChecksumRequest, make_checksums, resolve_revision  # noqa: PLC0415

    _, version = release_name_version(list(command.artifacts))
    revision = None
    if command.commit is not None:
        revision = resolve_revision(command.commit, command.repo, command.tag or version, host=command.host)
    request = ChecksumRequest(
        artifacts=command.artifacts,
        released=_release_date(command, revision, err),
        layout=command.layout,
        out=command.out,
        project=command.project,
        commit=revision.commit if revision else None,
        tag=command.tag,
        key_id=command.key_id,
        key_url=command.key_url,
        package_url=command.package_url,
        sign_fingerprint=command.sign_fingerprint,
    )
    signing = command.sign_fingerprint is not None
    status = err.status("signing (a hardware key may want a touch)", spinner="dots")
    with status if signing else nullcontext():
        made = make_checksums(request, write=not command.to_stdout, host=command.host)
    if command.to_stdout:
        print(made.text, end="")
    elif command.json:
        print(json.dumps(made.to_json(), indent=2))
    else:
        doc = made.document
        signed = " (clearsigned)" if made.signed else ""
        out.print(f"wrote {made.path}{signed}: {doc.project} {doc.version}, released {doc.released}",
                  markup=False)  # fmt: skip
        for package in doc.packages:
            out.print(f"  {package.digests['sha256']}  {package.filename}", markup=False)
    return 0


def run_verify(command: VerifyArgs, out: Console, err: Console) -> int:
    from vouch.release.clearsign import expected_key  # noqa: PLC0415
    from vouch.release.signed_checksums import verify_checksums  # noqa: PLC0415

    key = expected_key(keyring=command.keyring, fingerprint=command.key_fingerprint, host=command.host)
    report = verify_checksums(command.file, command.dir, key, host=command.host)
    if command.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        render(report, out)
    return 0 if report.ok else 1


def render(report: ChecksumReport, out: Console) -> None:
    out.print(Text.assemble(("signature: ", "bold"), ("good", "bold green"),
                            f" by {report.fingerprint} (signing key {report.signing_key}, {report.digest}, "
                            f"{report.signed_at:%Y-%m-%d %H:%M} UTC)"))  # fmt: skip
    for result in report.files:
        style = "green" if result.ok else "red"
        checked = ", ".join(a.upper() for a in result.checked)
        out.print(Text.assemble((f"{'ok' if result.ok else 'FAILED':<7}", f"bold {style}"),
                                f" {result.filename}" + (f"  ({checked})" if checked else "")))  # fmt: skip
        for problem in result.problems:
            out.print(f"    {problem}", markup=False)
    if report.commit:
        out.print(f"the {report.tag} tag points to commit {report.commit}", markup=False)
    verdict = "VERIFIED" if report.ok else "FAILED"
    out.print(Text.assemble(("checksums: ", "bold"), (verdict, "bold green" if report.ok else "bold red")))
