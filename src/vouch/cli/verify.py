"""``vouch verify INPUT``: every file a lock pins, against the index, its provenance's history and
the projects' evidence, on this machine or a Dask cluster, with results in SQLite or PostgreSQL."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from vouch.cli.check import add_trust_options
from vouch.cli.parser import add_command, handle, host_of

if TYPE_CHECKING:
    from vouch.verify.run import VerifyOptions


def add_parser(subparsers: Any) -> None:
    parser = add_command(
        subparsers, "verify",
        summary="verify every file a lock pins: served as locked, provenance continuous, evidence met",
        description="INPUT is a pylock.toml, a uv.lock, a requirements.txt with --hash on every "
        "requirement, or pypi:NAME==VERSION. Exit 0 only when every file is verified (or its state "
        "accepted by --policy); 1 when one failed, drifted, lost its provenance or has none; 3 when "
        "one could not be checked.",
        examples=["vouch verify pylock.toml", "vouch verify requirements.txt --workers 1 --json",
                  "vouch verify pylock.toml --rebuild",
                  "vouch verify uv.lock --scheduler tcp://scheduler:8786 --db postgresql://vouch@db/vouch"],
    )  # fmt: skip
    parser.add_argument("input", metavar="INPUT")
    parser.add_argument("--index", default=None, metavar="URL", help="the PEP 691 index (default: PyPI)")
    parser.add_argument(
        "--policy", type=Path, metavar="FILE",
        help="verify policy: accepted states and publishers, evidence (paths or https URLs) per project",
    )  # fmt: skip
    parser.add_argument(
        "--history", type=int, default=5, metavar="N",
        help="compare each release's publisher with the N releases before it (default 5)",
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=int, default=None, metavar="N",
        help="local Dask worker processes (default: the core count; 1: in this process)",
    )  # fmt: skip
    parser.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler, tcp://HOST:8786")
    parser.add_argument("--db", metavar="URL",
                        help="results database: sqlite:///PATH (default: in the cache folder) or "
                        "postgresql://USER@HOST:PORT/DB")  # fmt: skip
    parser.add_argument("--refresh", action="store_true", help="check again what the database holds")
    parser.add_argument(
        "--rebuild", action="store_true",
        help="rebuild each release's pure-Python wheels from its published sdist (the policy may accept "
        "'equivalent')",
    )  # fmt: skip
    parser.add_argument(
        "--deadline", type=float, default=None, metavar="SECONDS",
        help="a check that takes longer is 'not checked (timed out)' (default 300)",
    )  # fmt: skip
    add_trust_options(parser)
    parser.add_argument("--json", action="store_true", help="every file as JSON on stdout")
    parser.add_argument("--html", type=Path, metavar="OUT", help="write a plain HTML page")
    handle(parser, VerifyArgs, run)


@dataclass(frozen=True)
class VerifyArgs:
    """`vouch verify INPUT`: the library's options, and where to show the result."""

    options: VerifyOptions
    html: Path | None
    json: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> VerifyArgs:
        return cls(options(args), args.html, args.json)


def options(args: argparse.Namespace) -> VerifyOptions:
    """The typed options of one verification, from the command line."""
    import os  # noqa: PLC0415

    from vouch.index import PYPI_SIMPLE  # noqa: PLC0415
    from vouch.verify.model import TrustSpec  # noqa: PLC0415
    from vouch.verify.run import DEFAULT_DEADLINE, VerifyOptions  # noqa: PLC0415

    if args.staging and args.trusted_root is not None:
        from vouch.errors import UsageError  # noqa: PLC0415

        raise UsageError("--staging and --trusted-root exclude each other: give the root to use")
    trusted_root: Path | None = args.trusted_root
    return VerifyOptions(
        input=args.input,
        index_url=args.index or PYPI_SIMPLE,
        policy=args.policy,
        history=args.history,
        workers=args.workers if args.workers is not None else (os.cpu_count() or 1),
        scheduler=args.scheduler,
        db=args.db,
        refresh=args.refresh,
        rebuild=args.rebuild,
        trust=TrustSpec(staging=args.staging, pinned=str(trusted_root.absolute()) if trusted_root else None),
        deadline=args.deadline if args.deadline is not None else DEFAULT_DEADLINE,
        host=host_of(args),
    )


def run(command: VerifyArgs, out: Console, err: Console) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn  # noqa: PLC0415

    from vouch.atomic import write_bytes_atomic  # noqa: PLC0415
    from vouch.errors import OutputError  # noqa: PLC0415
    from vouch.verify.render import html_page, render  # noqa: PLC0415
    from vouch.verify.run import verify  # noqa: PLC0415

    settings = command.options
    columns = (TextColumn("verifying"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[cached]} cached"))  # fmt: skip
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("verify", total=None, cached=0)

        def progress(done: int, total: int, cached: int) -> None:
            bar.update(task, completed=done, total=total, cached=cached)

        report = verify(settings, progress)
    if command.html is not None:
        try:
            write_bytes_atomic(command.html, html_page(report).encode())
        except OSError as exc:
            raise OutputError(f"cannot write {command.html}: {exc.strerror}") from exc
    if command.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        render(report, out)
    return report.exit_code
