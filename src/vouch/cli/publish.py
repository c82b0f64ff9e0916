"""``vouch publish``: a gated upload and a read-back of what the index serves."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from vouch.cli.check import add_notes_options, add_trust_options, notes_of
from vouch.cli.parser import add_command, handle, host_of

if TYPE_CHECKING:
    from vouch.publish.gate import PublishOptions, PublishReport

PYPI_UPLOAD = "https://upload.pypi.org/legacy/"


def add_parser(subparsers: Any) -> None:
    parser = add_command(
        subparsers, "publish",
        summary="upload only artifacts that pass vouch check, then verify what the index serves",
        description="Run vouch check; upload (sdist first) with twine only if it passes, skipping "
        "files the index already serves with the vouched sha256; then read the index back.",
        examples=["vouch publish dist/demo-1.0.tar.gz dist/demo-1.0-py3-none-any.whl --dry-run",
                  "vouch publish dist/* --repository https://test.pypi.org/legacy/ --attestations",
                  "vouch publish dist/* --evidence ci.intoto.jsonl --git-notes --rev v1.0  # + the notes"],
    )  # fmt: skip
    parser.add_argument("artifacts", nargs="+", type=Path, metavar="ARTIFACT", help="the sdist and wheels")
    parser.add_argument("--repository", default=PYPI_UPLOAD, metavar="URL",
                        help="the upload URL (default: PyPI)")  # fmt: skip
    parser.add_argument(
        "--index", metavar="URL",
        help="the simple API to read back from (default: PyPI's for PyPI, else REPOSITORY/simple/)",
    )  # fmt: skip
    parser.add_argument("--evidence", type=Path, action="append", metavar="FILE",
                        help="evidence (default: NAME-VERSION.intoto.jsonl beside artifacts)")  # fmt: skip
    add_notes_options(parser)
    parser.add_argument("--policy", type=Path, metavar="FILE", help="vouch.toml or pyproject.toml")
    parser.add_argument("--attestations", action="store_true",
                        help="upload each file's .publish.attestation too (PyPI only)")  # fmt: skip
    parser.add_argument("--dry-run", action="store_true", help="everything but the upload")
    add_trust_options(parser)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    handle(parser, PublishArgs, run)


@dataclass(frozen=True)
class PublishArgs:
    """`vouch publish ARTIFACT...`: the library's options, and how to show the report."""

    options: PublishOptions
    json: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> PublishArgs:
        from vouch.publish.gate import PublishOptions  # noqa: PLC0415 - keep startup fast
        from vouch.sign.evidence import default_evidence  # noqa: PLC0415
        from vouch.trust import Trust  # noqa: PLC0415

        artifacts: list[Path] = args.artifacts  # the gate checks them, after the URLs
        notes = notes_of(args)
        evidence = args.evidence or (
            [] if notes else [default_evidence(artifacts[0].parent, [p.name for p in artifacts])]
        )
        options = PublishOptions(
            artifacts=tuple(artifacts),
            repository=args.repository,
            index=args.index,
            evidence=tuple(evidence),
            notes=notes,
            policy=args.policy,
            attestations=args.attestations,
            dry_run=args.dry_run,
            trust=Trust(staging=args.staging, pinned=args.trusted_root),
            host=host_of(args),
        )
        return cls(options, args.json)


def run(command: PublishArgs, out: Console, err: Console) -> int:
    from vouch.publish.gate import publish  # noqa: PLC0415 - keep startup fast

    with err.status("publishing", spinner="dots") as status:
        report = publish(command.options, status.update)
    if command.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        render(report, out)
    return 0 if report.check.passed else 1


def render(report: PublishReport, out: Console) -> None:
    from vouch.cli.check import render as render_check  # noqa: PLC0415

    if not report.check.passed:
        render_check(report.check, out)
        out.print(Text("nothing was uploaded: the check did not pass", style="bold red"))
        return
    for outcome in report.files:
        out.print(f"{outcome.action:<30} {outcome.filename}  {outcome.sha256}", markup=False)
    for warning in report.warnings:
        out.print(Text.assemble(("warning: ", "yellow"), warning))
    if report.dry_run:
        out.print("dry run: nothing was uploaded", markup=False)
    else:
        out.print(Text(f"{report.index} serves every file with its vouched sha256", style="bold green"))
