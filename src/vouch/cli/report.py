"""``vouch report``: one self-contained HTML page of a release's evidence, for a person to read."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from vouch.cli.check import add_trust_options
from vouch.cli.parser import add_command, existing, handle

if TYPE_CHECKING:
    from vouch.report.gather import ReportInputs
    from vouch.report.model import Page

_STYLE = {"passed": "bold green", "failed": "bold red", "not checked": "bold yellow"}
_EXIT = {"passed": 0, "failed": 1, "not checked": 3}


def add_parser(subparsers: Any) -> None:
    parser = add_command(
        subparsers, "report",
        summary="write one HTML page showing a release's evidence: quorum, rebuilds, provenance, checksums",
        description="Check the quorum, the checksum file and the doctor statement, read the rebuild "
        "and provenance reports, and write one self-contained HTML page (no network, no script) "
        "whose first line is the overall status. Exit 0 when it passed, 1 when something failed, "
        "3 when something given could not be checked.",
        examples=["vouch report dist/demo-1.0.tar.gz dist/demo-1.0-py3-none-any.whl --out demo-1.0.html",
                  "vouch report dist/* --rebuild-json rebuild.json --provenance-json provenance.json "
                  "--checksums dist/demo-1.0.checksum.txt"],
    )  # fmt: skip
    parser.add_argument("artifacts", nargs="+", type=Path, metavar="ARTIFACT")
    parser.add_argument(
        "--evidence", type=Path, action="append", metavar="FILE",
        help="evidence files (default: NAME-VERSION.intoto.jsonl beside the artifacts)",
    )  # fmt: skip
    parser.add_argument("--policy", type=Path, metavar="FILE", help="vouch.toml or pyproject.toml")
    parser.add_argument("--rebuild-json", type=Path, action="append", metavar="FILE",
                        help="the output of `vouch rebuild --json` (repeatable)")  # fmt: skip
    parser.add_argument("--accept-equivalent", action="store_true",
                        help="count an 'equivalent' rebuild as passed")  # fmt: skip
    parser.add_argument("--provenance-json", type=Path, action="append", metavar="FILE",
                        help="the output of `vouch provenance --json` (repeatable)")  # fmt: skip
    parser.add_argument(
        "--checksums", type=Path, metavar="FILE", help="the release's clearsigned checksum file"
    )
    parser.add_argument("--checksums-keyring", type=Path, metavar="FILE",
                        help="the key expected to sign it (default: the policy's OpenPGP keys)")  # fmt: skip
    parser.add_argument("--doctor-evidence", type=Path, metavar="FILE",
                        help="the releaser's signed `vouch doctor --sign` statement")  # fmt: skip
    parser.add_argument("--out", type=Path, metavar="FILE",
                        help="where to write the page (default: NAME-VERSION.report.html beside "
                        "the artifacts)")  # fmt: skip
    add_trust_options(parser)
    parser.add_argument("--json", action="store_true", help="print the page's data as JSON")
    handle(parser, ReportOptions, run)


@dataclass(frozen=True)
class ReportOptions:
    """`vouch report ARTIFACT...`."""

    inputs: ReportInputs
    out: Path | None
    staging: bool
    trusted_root: Path | None
    json: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ReportOptions:
        return options_from(args)


def options_from(args: argparse.Namespace) -> ReportOptions:
    from vouch.report.gather import ReportInputs  # noqa: PLC0415

    inputs = ReportInputs(
        artifacts=tuple(existing(path, "artifact") for path in args.artifacts),
        evidence=tuple(args.evidence or ()),
        policy=args.policy,
        rebuild_json=tuple(args.rebuild_json or ()),
        provenance_json=tuple(args.provenance_json or ()),
        checksums=args.checksums,
        checksums_keyring=args.checksums_keyring,
        doctor_evidence=args.doctor_evidence,
        accept_equivalent=args.accept_equivalent,
    )
    return ReportOptions(inputs, args.out, args.staging, args.trusted_root, args.json)


def run(options: ReportOptions, out: Console, err: Console) -> int:
    # imported here so that `vouch --help` and the other commands start fast
    from vouch.atomic import write_bytes_atomic  # noqa: PLC0415
    from vouch.cli.check import sigstore_evidence  # noqa: PLC0415
    from vouch.errors import OutputError  # noqa: PLC0415
    from vouch.report.gather import gather  # noqa: PLC0415
    from vouch.report.render import render_html, render_json  # noqa: PLC0415
    from vouch.trust import Trust  # noqa: PLC0415

    verifier = sigstore_evidence(Trust(staging=options.staging, pinned=options.trusted_root))
    with err.status("gathering the evidence", spinner="dots") as status:
        page = gather(options.inputs, bundle_verifier=verifier, progress=status.update)
    release = page.release
    target = (
        options.out or options.inputs.artifacts[0].parent / f"{release.name}-{release.version}.report.html"
    )
    try:
        write_bytes_atomic(target, render_html(page).encode("utf-8"))
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror}") from exc
    if options.json:
        print(render_json(page))
    else:
        render(page, target, out)
    return _EXIT[page.outcome.status.value]


def render(page: Page, target: Path, out: Console) -> None:
    for _, title, outcome in page.sections():
        out.print(Text.assemble((f"{outcome.status.value:<12}", _STYLE[outcome.status.value]),
                                f"{title}: {outcome.reason}"))  # fmt: skip
    status = page.outcome.status.value
    out.print(Text.assemble(("report: ", "bold"), (status.upper(), _STYLE[status]), f"  wrote {target}"))
