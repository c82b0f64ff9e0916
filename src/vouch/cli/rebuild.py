"""``vouch rebuild``: replay a build record, or rebuild a published release from its sdist; compare."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from vouch.cli.parser import add_command, handle, host_of
from vouch.index import PYPI_SIMPLE

if TYPE_CHECKING:
    from vouch.rebuild.published import PublishedOptions
    from vouch.rebuild.replay import RebuildOptions


_RECORD_ONLY = {"against": "--against", "python": "--python"}


def add_parser(subparsers: Any) -> None:
    parser = add_command(
        subparsers, "rebuild",
        summary="rebuild a build record, or a published release (pypi:NAME==VERSION) from its sdist, "
        "and compare",
        description="Replay a vouch build record: same commit, same SOURCE_DATE_EPOCH, the same build "
        "packages by sha256, the same normalizer; then compare the digests. Or, for pypi:NAME==VERSION, "
        "rebuild the release's wheels from its sdist on the index and compare them with the published "
        "ones. Exit 0 when identical (or equivalent, with --accept-equivalent), 1 otherwise.",
        examples=["vouch rebuild dist/demo-1.0.buildinfo.json --source ~/src/demo",
                  "vouch rebuild pypi:demo==1.0 --json",
                  "vouch rebuild pypi:demo==1.0 --source ~/src/demo  # trace the sdist to its git tag",
                  "vouch rebuild pypi:demo==1.0 --source https://github.com/o/demo --rev v1.0",
                  "vouch rebuild pypi:demo==1.0 --source auto  # the repository its Project-URL names"],
        notes="--against and --python apply to a build record only; --rev to pypi: with --source.",
    )  # fmt: skip
    parser.add_argument("target", metavar="RECORD | pypi:NAME==VERSION",
                        help="a NAME-VERSION.buildinfo.json, or a published release")  # fmt: skip
    parser.add_argument("--index", default=PYPI_SIMPLE, metavar="URL",
                        help="the PEP 691 simple API (default: PyPI)")  # fmt: skip
    parser.add_argument("--source", metavar="PATH | URL | auto",
                        help="RECORD: a local clone holding the recorded commit. pypi: the project's "
                        "git repository, to trace the sdist to the release's tag: a local clone, an "
                        "https:// URL, or 'auto' for the repository the release's Project-URL names "
                        "(Source, Repository, Code, ...; never used unless asked for: it is the "
                        "publisher's claim, and a network clone). A URL is fetched, the tag only, one "
                        "commit deep, into a temporary folder; only https, no credentials "
                        "(use ./auto for a folder named auto)")  # fmt: skip
    parser.add_argument("--rev", metavar="TAG",
                        help="pypi: with --source, the release's revision (default: the tag V, vV or "
                        "NAME-V of the version)")  # fmt: skip
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="RECORD: a folder of the recorded artifacts, for a member diff")  # fmt: skip
    parser.add_argument("--python", metavar="PATH",
                        help="RECORD: an interpreter of the recorded Python minor version")  # fmt: skip
    parser.add_argument("--record", type=Path, dest="record_out", metavar="OUT",
                        help="write the rebuild's own build record (an in-toto statement) here")  # fmt: skip
    parser.add_argument("--out", type=Path, metavar="DIR", help="keep the rebuilt artifacts here")
    parser.add_argument("--accept-equivalent", action="store_true",
                        help="exit 0 for 'equivalent' (identical after named normalisations)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    handle(parser, RebuildArgs, run)


@dataclass(frozen=True)
class RebuildArgs:
    """`vouch rebuild RECORD | pypi:NAME==VERSION`: the library's options for the target's kind."""

    options: RebuildOptions | PublishedOptions
    accept_equivalent: bool
    json: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> RebuildArgs:
        from vouch.errors import UsageError  # noqa: PLC0415
        from vouch.rebuild.fromtag import SourceOptions  # noqa: PLC0415
        from vouch.rebuild.published import PublishedOptions  # noqa: PLC0415
        from vouch.rebuild.replay import RebuildOptions  # noqa: PLC0415

        options: RebuildOptions | PublishedOptions
        if args.target.startswith("pypi:"):
            for dest, flag in _RECORD_ONLY.items():
                if getattr(args, dest) is not None:
                    raise UsageError(f"{flag} applies to a build record, not to pypi:NAME==VERSION")
            if args.rev is not None and args.source is None:
                raise UsageError("--rev needs --source (the clone that holds it)")
            source = SourceOptions(args.source, args.rev) if args.source is not None else None
            options = PublishedOptions(
                args.target, index_url=args.index, record_out=args.record_out, source=source, out=args.out,
                host=host_of(args),
            )  # fmt: skip
        else:
            if args.rev is not None:
                raise UsageError("--rev applies to pypi:NAME==VERSION with --source, not to a record")
            if args.source is not None and SourceOptions(args.source).remote:
                raise UsageError("--source for a build record is a local clone, not a URL or 'auto'",
                                 hint="clone the recorded repository and give its path")  # fmt: skip
            clone = None if args.source is None else Path(args.source)
            options = RebuildOptions(
                record=Path(args.target), source=clone, against=args.against, python=args.python,
                record_out=args.record_out, out=args.out, index_url=args.index, host=host_of(args),
            )  # fmt: skip
        return cls(options, args.accept_equivalent, args.json)


def run(command: RebuildArgs, out: Console, err: Console) -> int:
    # imported here so that `vouch --help` and the other commands start fast
    from vouch.rebuild.published import PublishedOptions, rebuild_published  # noqa: PLC0415
    from vouch.rebuild.render import render_rebuild  # noqa: PLC0415
    from vouch.rebuild.replay import rebuild_record  # noqa: PLC0415

    with err.status("rebuilding", spinner="dots") as status:
        if isinstance(command.options, PublishedOptions):
            report = rebuild_published(command.options, status.update)
        else:
            report = rebuild_record(command.options, status.update).report
    if command.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        render_rebuild(report, out)
    return report.exit_code(accept_equivalent=command.accept_equivalent)
