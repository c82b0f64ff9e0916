"""``vouch build``: a reproducible sdist and wheel from a git revision, with their build record."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from vouch.cli.parser import add_command, handle, host_of

if TYPE_CHECKING:
    from vouch.builder.builder import BuildOptions, BuildResult
    from vouch.host import Host


def add_parser(subparsers: Any) -> None:
    parser = add_command(
        subparsers, "build",
        summary="build a reproducible sdist and wheel from a git revision",
        description="Build the sdist, then the wheel from it, from the tracked tree of a git revision "
        "in a locked, isolated environment; normalise both and write a build record.",
        examples=["vouch build", "vouch build ~/src/demo --rev v1.0 --out dist --json"],
    )  # fmt: skip
    parser.add_argument("source", nargs="?", type=Path, default=Path(), metavar="SOURCE",
                        help="a git working tree (default: the current directory)")  # fmt: skip
    parser.add_argument("--rev", default="HEAD", help="the revision to build (default: HEAD)")
    parser.add_argument("--subdir", default="", metavar="DIR",
                        help="the project's directory inside the repository")  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("dist"), metavar="DIR",
                        help="where to write the artifacts and record (default: dist/)")  # fmt: skip
    parser.add_argument("--build-lock", type=Path, metavar="FILE",
                        help="the build environment lock; created if missing (default: "
                        "build-requirements.lock at the project root of REV, when present)")  # fmt: skip
    parser.add_argument("--source-date-epoch", type=int, metavar="N",
                        help="timestamp for the build (default: the committer time of REV)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the build record as JSON")
    handle(parser, BuildArgs, run)


@dataclass(frozen=True)
class BuildArgs:
    """`vouch build`: the library's options, and how to show the result."""

    options: BuildOptions
    json: bool
    host: Host

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BuildArgs:
        from vouch.builder.builder import BuildOptions  # noqa: PLC0415 - keep `vouch --help` fast

        options = BuildOptions(
            source=args.source,
            rev=args.rev,
            subdir=args.subdir,
            out=args.out,
            build_lock=args.build_lock,
            source_date_epoch=args.source_date_epoch,
        )
        return cls(options, args.json, host_of(args))


def run(command: BuildArgs, out: Console, err: Console) -> int:
    from vouch.builder.builder import build  # noqa: PLC0415 - keep `vouch --help` fast

    with err.status("building", spinner="dots") as status:

        def progress(message: str) -> None:
            status.update(message)

        result = build(command.options, progress, host=command.host)
    for warning in result.warnings:
        err.print(Text.assemble(("warning: ", "yellow"), warning))
    if command.json:
        print(json.dumps(result.record.to_statement(), indent=2))
    else:
        render(result, out)
    return 0


def _packages(count: int) -> str:
    return f"{count} locked build package{'' if count == 1 else 's'}"


def render(result: BuildResult, out: Console) -> None:
    source = result.record.source
    settings = result.record.settings
    out.print(Text(f"Built {source.commit} ({source.ref})", style="bold"))
    for artifact in result.artifacts:
        out.print(
            Text.assemble(
                (artifact.sha256, "cyan"),
                "  ",
                (artifact.path.name, "bold"),
                (f"  {artifact.size:,} bytes", "dim"),
            )
        )
    out.print(
        f"SOURCE_DATE_EPOCH {settings.source_date_epoch} ({settings.source_date_epoch_origin}), "
        f"{settings.normalizer} v{settings.normalizer_version}, "
        f"{_packages(len(result.record.dependencies))} ({settings.lock_origin})",
        markup=False,
    )
    out.print(f"build record: {result.record_path}", markup=False)
    if result.lock_written is not None:
        out.print(
            f"new build lock: {result.lock_written} "
            "(commit it as build-requirements.lock at the project root to pin the build environment)",
            markup=False,
        )
