"""``vouch rebuild``: replay a build record and compare with what it names."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from vouch.index import PYPI_SIMPLE

if TYPE_CHECKING:
    from vouch.rebuild.verdict import RebuildReport



def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "rebuild",
        help="rebuild a build record and compare with the artifacts it names",
        description="Replay a vouch build record: same commit, same SOURCE_DATE_EPOCH, the same "
        "build packages by sha256, the same normalizer; then compare the digests.",
    )
    parser.add_argument(
        "target",
        metavar="RECORD | pypi:NAME==VERSION",
        help="a NAME-VERSION.buildinfo.json, or a published release to rebuild from its sdist",
    )
    parser.add_argument("--index", default=PYPI_SIMPLE, metavar="URL",
                        help="the PEP 691 simple API for pypi: targets (default: PyPI)")  # fmt: skip
    parser.add_argument("--source", type=Path, metavar="PATH",
                        help="a local clone holding the recorded commit; for pypi: the project's "
                        "git clone, to trace the sdist to the release's tag")  # fmt: skip
    parser.add_argument("--rev", metavar="TAG",
                        help="for pypi: with --source, the release's revision (default: the tag "
                        "V, vV or NAME-V of the version)")  # fmt: skip
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="a folder with the recorded artifacts, for a member-level diff")  # fmt: skip
    parser.add_argument("--python", metavar="PATH",
                        help="an interpreter of the recorded Python minor version")  # fmt: skip
    parser.add_argument("--record", type=Path, dest="record_out", metavar="OUT",
                        help="write the rebuild's own build record (an in-toto statement) here")  # fmt: skip
    parser.add_argument("--out", type=Path, metavar="DIR", help="keep the rebuilt artifacts here")
    parser.add_argument("--accept-equivalent", action="store_true",
                        help="exit 0 for 'equivalent' (identical after named normalisations)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    # imported here so that `vouch --help` and the other commands start fast
    from vouch.errors import UsageError  # noqa: PLC0415
    from vouch.rebuild.fromtag import SourceOptions  # noqa: PLC0415
    from vouch.rebuild.published import PublishedOptions, rebuild_published  # noqa: PLC0415
    from vouch.rebuild.replay import RebuildOptions, rebuild_record  # noqa: PLC0415

    if args.target.startswith("pypi:"):
        for flag in ("against", "python"):
            if getattr(args, flag) is not None:
                raise UsageError(f"--{flag} applies to a build record, not to pypi:")
        source = SourceOptions(args.source, args.rev) if args.source is not None else None
        if source is None and args.rev is not None:
            raise UsageError("--rev needs --source (the clone that holds it)")
        published = PublishedOptions(
            args.target, index_url=args.index, record_out=args.record_out, source=source, out=args.out
        )
        with err.status("rebuilding", spinner="dots") as status:
            report = rebuild_published(published, status.update)
        return _show(report, args, out)
    if args.rev is not None:
        raise UsageError("--rev applies to pypi: targets; a build record names its commit")
    options = RebuildOptions(
        record=Path(args.target),
        source=args.source,
        against=args.against,
        python=args.python,
        record_out=args.record_out,
        out=args.out,
        index_url=args.index,
    )
    with err.status("rebuilding", spinner="dots") as status:
        result = rebuild_record(options, status.update)
    return _show(result.report, args, out)


def _show(report: RebuildReport, args: argparse.Namespace, out: Console) -> int:
    from vouch.rebuild.render import render_rebuild  # noqa: PLC0415

    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        render_rebuild(report, out)
    return report.exit_code(accept_equivalent=args.accept_equivalent)
