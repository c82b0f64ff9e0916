"""``vouch checksums``: a Django-format checksum file, optionally clearsigned; and its verification."""

from __future__ import annotations

import argparse
import datetime
import json
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from vouch.release.signed_checksums import ChecksumReport, Revision

USAGE = """%(prog)s ARTIFACT... [--format django|sha256sum] [--commit REV] [--tag TAG] [--repo DIR]
                       [--date YYYY-MM-DD|today] [--project NAME] [--key-id ID] [--key-url URL]
                       [--package-url TEMPLATE] [--sign gpg:FINGERPRINT] [--out FILE|-] [--json]
       %(prog)s verify FILE [--dir DIR] (--keyring FILE | --key-fingerprint FP) [--json]"""
_MAKE_ONLY = ("format", "commit", "tag", "repo", "date", "project", "key_id", "key_url", "package_url",
              "sign", "out")  # fmt: skip
_VERIFY_ONLY = ("dir", "keyring", "key_fingerprint")


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "checksums",
        usage=USAGE,
        help="write a Django-format checksum file (MD5, SHA1, SHA256), clearsigned; or verify one",
        description="ARTIFACT...: write the release's checksum file in Django's layout (a header "
        "saying how to verify it, Release packages, MD5/SHA1/SHA256 checksums as `<hash>  <file>` "
        "lines that sha256sum --check reads, Git tag), byte for byte the same for the same inputs, "
        "optionally clearsigned with gpg. `verify FILE`: check the signature against the expected "
        "key only, then every hash of every listed file.",
    )
    parser.add_argument("targets", nargs="+", metavar="ARTIFACT... | verify FILE")
    parser.add_argument("--format", choices=("django", "sha256sum"), help="the layout (default: django)")
    parser.add_argument(
        "--commit", metavar="REV", help="the release's commit (a full SHA outside a repository)"
    )
    parser.add_argument(
        "--tag", metavar="TAG", help="the release tag named in the file (default: the version)"
    )
    parser.add_argument(
        "--repo", type=Path, metavar="DIR", help="the git repository of --commit (default: .)"
    )
    parser.add_argument(
        "--date", metavar="YYYY-MM-DD",
        help="the release date (default: the commit date of --commit, in UTC); `today` for today's",
    )  # fmt: skip
    parser.add_argument(
        "--project", metavar="NAME", help="the name in the text (default: as in the file names)"
    )
    parser.add_argument("--key-id", metavar="ID", help="the signing key's ID (default: from --sign)")
    parser.add_argument(
        "--key-url", metavar="URL", help="where to fetch the public key (default: a keyserver)"
    )
    parser.add_argument(
        "--package-url", metavar="TEMPLATE",
        help="URL of each package, with {name} {version} {filename} {kind} (default: PyPI's)",
    )  # fmt: skip
    parser.add_argument("--sign", metavar="gpg:FINGERPRINT", help="clearsign with this gpg key (SHA256)")
    parser.add_argument(
        "--out", metavar="FILE", help="default: PROJECT-VERSION.checksum.txt beside the artifacts"
    )
    parser.add_argument(
        "--dir", type=Path, metavar="DIR", help="verify: where the files are (default: FILE's)"
    )
    parser.add_argument("--keyring", type=Path, metavar="FILE", help="verify: the expected public key")
    parser.add_argument(
        "--key-fingerprint", metavar="FP",
        help="verify: the expected key's fingerprint (taken from --keyring, else from your gpg keyring)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    from vouch.errors import UsageError  # noqa: PLC0415 - keep `vouch --help` fast

    words: list[str] = args.targets
    others = _MAKE_ONLY if words[0] == "verify" else _VERIFY_ONLY
    for flag in others:
        if getattr(args, flag) is not None:
            where = "to making a checksum file" if words[0] == "verify" else "to `vouch checksums verify`"
            raise UsageError(f"--{flag.replace('_', '-')} applies {where}")
    if words[0] == "verify":
        if len(words) != 2:
            raise UsageError("`vouch checksums verify` takes one FILE")
        return _verify(args, Path(words[1]), out)
    return _make(args, [Path(word) for word in words], out, err)


def _release_date(args: argparse.Namespace, revision: Revision | None, err: Console) -> datetime.date:
    from vouch.errors import UsageError  # noqa: PLC0415
    from vouch.release.signed_checksums import parse_date  # noqa: PLC0415

    if args.date == "today":
        today = datetime.datetime.now(datetime.UTC).date()
        err.print(f"note: the release date is today's date, {today} (UTC): the file changes from day to day",
                  style="yellow", markup=False)  # fmt: skip
        return today
    if args.date is not None:
        return parse_date(args.date)
    if revision is not None and revision.committed is not None:
        err.print(f"release date {revision.committed}: the commit date of {revision.commit[:12]} (UTC)",
                  style="dim", markup=False)  # fmt: skip
        return revision.committed
    raise UsageError(
        "no release date: pass --date YYYY-MM-DD, or --commit REV inside the git repository",
        hint="the commit's date (UTC) is the default; --date today uses today's, and says so",
    )


def _make(args: argparse.Namespace, artifacts: list[Path], out: Console, err: Console) -> int:
    from vouch.errors import UsageError  # noqa: PLC0415
    from vouch.release.checksums import release_name_version  # noqa: PLC0415
    from vouch.release.signed_checksums import ChecksumRequest, make_checksums, resolve_revision  # noqa: PLC0415

    _, version = release_name_version(artifacts)
    revision = None
    if args.commit is not None:
        revision = resolve_revision(args.commit, args.repo or Path(), args.tag or version)
    elif args.tag is not None:
        raise UsageError("--tag names the tag of --commit: pass --commit too")
    sign = args.sign
    if sign is not None and not sign.startswith("gpg:"):
        raise UsageError(f"--sign {sign!r}: the checksum file is signed with OpenPGP: gpg:FINGERPRINT")
    to_stdout = args.out == "-"
    request = ChecksumRequest(
        artifacts=tuple(artifacts),
        released=_release_date(args, revision, err),
        layout=args.format or "django",
        out=None if args.out is None or to_stdout else Path(args.out),
        project=args.project,
        commit=revision.commit if revision else None,
        tag=args.tag,
        key_id=args.key_id,
        key_url=args.key_url,
        package_url=args.package_url,
        sign_fingerprint=sign.removeprefix("gpg:") if sign else None,
    )
    with err.status("signing (a hardware key may want a touch)", spinner="dots") if sign else nullcontext():
        made = make_checksums(request, write=not to_stdout)
    if to_stdout:
        print(made.text, end="")
    elif args.json:
        print(json.dumps(made.to_json(), indent=2))
    else:
        doc = made.document
        signed = " (clearsigned)" if made.signed else ""
        out.print(f"wrote {made.path}{signed}: {doc.project} {doc.version}, released {doc.released}",
                  markup=False)  # fmt: skip
        for package in doc.packages:
            out.print(f"  {package.digests['sha256']}  {package.filename}", markup=False)
    return 0


def _verify(args: argparse.Namespace, path: Path, out: Console) -> int:
    from vouch.release.clearsign import expected_key  # noqa: PLC0415
    from vouch.release.signed_checksums import verify_checksums  # noqa: PLC0415

    key = expected_key(keyring=args.keyring, fingerprint=args.key_fingerprint)
    report = verify_checksums(path, args.dir, key)
    if args.json:
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
