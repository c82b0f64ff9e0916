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
from vouch.index import PYPI_SIMPLE

if TYPE_CHECKING:
    from vouch.report.gather import ReportInputs
    from vouch.report.model import Page
    from vouch.report.published import PublishedInputs

_STYLE = {"passed": "bold green", "failed": "bold red", "not checked": "bold yellow"}
_EXIT = {"passed": 0, "failed": 1, "not checked": 3}


def add_parser(subparsers: Any) -> None:
    parser = add_command(
        subparsers, "report",
        summary="write one HTML page showing a release's evidence: quorum, rebuilds, provenance, checksums",
        description="Check the quorum, the checksum file and the doctor statement, read the rebuild "
        "and provenance reports, and write one self-contained HTML page (no network, no script) "
        "whose first line is the overall status. With pypi:NAME==VERSION, download the release's "
        "files from the index (each checked against the sha256 it lists) and run the checks here: "
        "the quorum, every file's PEP 740 provenance, and with --rebuild the rebuild of its pure "
        "wheels from the sdist. Exit 0 when it passed, 1 when something failed, 3 when something "
        "given could not be checked.",
        examples=["vouch report dist/demo-1.0.tar.gz dist/demo-1.0-py3-none-any.whl --out demo-1.0.html",
                  "vouch report dist/* --rebuild-json rebuild.json --provenance-json provenance.json "
                  "--checksums dist/demo-1.0.checksum.txt",
                  "vouch report pypi:demo==1.0 --evidence demo-1.0.intoto.jsonl --policy vouch.toml "
                  "--publisher github:demo/demo/release.yml --rebuild"],
    )  # fmt: skip
    parser.add_argument("artifacts", nargs="+", metavar="ARTIFACT | pypi:NAME==VERSION",
                        help="the release's files, or one published release to check")  # fmt: skip
    parser.add_argument(
        "--evidence", type=Path, action="append", metavar="FILE",
        help="evidence files (default: NAME-VERSION.intoto.jsonl beside the artifacts)",
    )  # fmt: skip
    parser.add_argument("--policy", type=Path, metavar="FILE", help="vouch.toml or pyproject.toml")
    parser.add_argument("--rebuild-json", type=Path, action="append", metavar="FILE",
                        help="the output of `vouch rebuild --json` (repeatable; not with pypi:)")  # fmt: skip
    parser.add_argument("--rebuild", action="store_true",
                        help="pypi: only: rebuild the pure wheels from the sdist (slow)")  # fmt: skip
    parser.add_argument("--accept-equivalent", action="store_true",
                        help="count an 'equivalent' rebuild as passed")  # fmt: skip
    parser.add_argument("--provenance-json", type=Path, action="append", metavar="FILE",
                        help="`vouch provenance --json` output (repeatable; not with pypi:)")  # fmt: skip
    parser.add_argument("--publisher", metavar="SPEC",
                        help="pypi: only: the expected PEP 740 publisher (default: the policy's "
                        "[provenance] publisher; none: provenance is not checked)")  # fmt: skip
    parser.add_argument("--index", metavar="URL",
                        help=f"pypi: only: the PEP 691 simple API (default: {PYPI_SIMPLE})")  # fmt: skip
    parser.add_argument(
        "--checksums", type=Path, metavar="FILE", help="the release's clearsigned checksum file"
    )
    parser.add_argument("--checksums-keyring", type=Path, metavar="FILE",
                        help="the key expected to sign it (default: the policy's OpenPGP keys)")  # fmt: skip
    parser.add_argument("--doctor-evidence", type=Path, metavar="FILE",
                        help="the releaser's signed `vouch doctor --sign` statement")  # fmt: skip
    parser.add_argument("--out", type=Path, metavar="FILE",
                        help="where to write the page (default: NAME-VERSION.report.html beside "
                        "the artifacts, or here for pypi:)")  # fmt: skip
    add_trust_options(parser)
    parser.add_argument("--json", action="store_true", help="print the page's data as JSON")
    handle(parser, ReportOptions, run)


@dataclass(frozen=True)
class ReportOptions:
    """`vouch report ARTIFACT...` (``ReportInputs``) or `vouch report pypi:NAME==VERSION`
    (``PublishedInputs``): the target decides which, and which options apply."""

    inputs: ReportInputs | PublishedInputs
    out: Path | None
    staging: bool
    trusted_root: Path | None
    json: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ReportOptions:
        return options_from(args)


_ONLY_FILES = {"rebuild_json": "--rebuild-json", "provenance_json": "--provenance-json"}
_ONLY_PYPI = {"rebuild": "--rebuild", "publisher": "--publisher", "index": "--index"}


def _refuse(args: argparse.Namespace, options: dict[str, str], where: str) -> None:
    from vouch.errors import UsageError  # noqa: PLC0415

    for attribute, flag in options.items():
        if getattr(args, attribute) not in (None, False, []):
            raise UsageError(f"{flag} does not apply to {where}", hint=_HINTS[flag])


_HINTS = {
    "--rebuild-json": "`vouch report pypi:...` rebuilds the release itself with --rebuild",
    "--provenance-json": "`vouch report pypi:...` checks the provenance itself (--publisher SPEC)",
    "--rebuild": "pass the output of `vouch rebuild --json` with --rebuild-json",
    "--publisher": "pass the output of `vouch provenance --json` with --provenance-json",
    "--index": "name a published release as pypi:NAME==VERSION to read it from an index",
}


def options_from(args: argparse.Namespace) -> ReportOptions:
    from vouch.report.gather import ReportInputs  # noqa: PLC0415

    targets: list[str] = args.artifacts
    if any(target.startswith("pypi:") for target in targets):
        inputs: ReportInputs | PublishedInputs = _published(args, targets)
    else:
        _refuse(args, _ONLY_PYPI, "local artifacts")
        inputs = ReportInputs(
            artifacts=tuple(existing(Path(path), "artifact") for path in targets),
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


def _published(args: argparse.Namespace, targets: list[str]) -> PublishedInputs:
    from vouch.errors import UsageError  # noqa: PLC0415
    from vouch.provenance.publisher import parse_publisher  # noqa: PLC0415
    from vouch.rebuild.published import parse_spec  # noqa: PLC0415
    from vouch.report.published import PublishedInputs  # noqa: PLC0415
    from vouch.trust import Trust  # noqa: PLC0415

    if len(targets) != 1:
        raise UsageError("name one published release (pypi:NAME==VERSION) and no files",
                         hint="report on local files without pypi:, or on one release")  # fmt: skip
    (spec,) = targets
    parse_spec(spec)
    _refuse(args, _ONLY_FILES, "a published release (pypi:)")
    if args.accept_equivalent and not args.rebuild:
        raise UsageError("--accept-equivalent applies to a rebuild: add --rebuild")
    return PublishedInputs(
        spec,
        index_url=args.index or PYPI_SIMPLE,
        evidence=tuple(existing(path, "evidence file") for path in args.evidence or ()),
        policy=args.policy,
        publisher=parse_publisher(args.publisher) if args.publisher is not None else None,
        trust=Trust(staging=args.staging, pinned=args.trusted_root),
        rebuild=args.rebuild,
        accept_equivalent=args.accept_equivalent,
        checksums=args.checksums,
        checksums_keyring=args.checksums_keyring,
        doctor_evidence=args.doctor_evidence,
    )


def run(options: ReportOptions, out: Console, err: Console) -> int:
    # imported here so that `vouch --help` and the other commands start fast
    from vouch.atomic import write_bytes_atomic  # noqa: PLC0415
    from vouch.cli.check import sigstore_evidence  # noqa: PLC0415
    from vouch.errors import OutputError  # noqa: PLC0415
    from vouch.report.gather import gather  # noqa: PLC0415
    from vouch.report.published import PublishedInputs, gather_published  # noqa: PLC0415
    from vouch.report.render import render_html, render_json  # noqa: PLC0415
    from vouch.trust import Trust  # noqa: PLC0415

    inputs = options.inputs
    trust = inputs.trust if isinstance(inputs, PublishedInputs) else None
    verifier = sigstore_evidence(trust or Trust(staging=options.staging, pinned=options.trusted_root))
    with err.status("gathering the evidence", spinner="dots") as status:
        if isinstance(inputs, PublishedInputs):
            page = gather_published(inputs, bundle_verifier=verifier, progress=status.update)
        else:
            page = gather(inputs, bundle_verifier=verifier, progress=status.update)
    release = page.release
    beside = inputs.artifacts[0].parent if not isinstance(inputs, PublishedInputs) else Path()
    target = options.out or beside / f"{release.name}-{release.version}.report.html"
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
