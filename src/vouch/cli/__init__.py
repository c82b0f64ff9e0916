"""The ``vouch`` command line: parses, calls one library function, renders, maps errors to exits.

Exit codes: 0 ok, 1 verification failed, 2 usage or configuration error, 3 could not check.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence

from rich.console import Console
from rich.text import Text

from vouch import __version__
from vouch.cli import attest as attest_command
from vouch.cli import audit as audit_command
from vouch.cli import build as build_command
from vouch.cli import check as check_command
from vouch.cli import checksums as checksums_command
from vouch.cli import ci as ci_command
from vouch.cli import diff as diff_command
from vouch.cli import doctor as doctor_command
from vouch.cli import policy as policy_command
from vouch.cli import provenance as provenance_command
from vouch.cli import publish as publish_command
from vouch.cli import rebuild as rebuild_command
from vouch.cli import runbook as runbook_command
from vouch.cli import sign as sign_command
from vouch.cli import verify as verify_command
from vouch.errors import BuildFailedError, VouchError

COMMANDS = (
    build_command, rebuild_command, diff_command, sign_command, check_command, policy_command,
    attest_command, provenance_command, publish_command, ci_command, audit_command,
    doctor_command, checksums_command, runbook_command, verify_command,
)  # fmt: skip


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vouch",
        description="Reproducible Python releases that several parties can verify.",
    )
    parser.add_argument("--version", action="version", version=f"vouch {__version__}")
    parser.add_argument(
        "--debug", action="store_true",
        help="on an unexpected error, print Python's traceback (for a bug report)",
    )  # fmt: skip
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    out = Console(highlight=False, soft_wrap=True)
    try:
        code: int = args.run(args, out, err)
    except VouchError as error:
        return report_error(error, err, as_json=getattr(args, "json", False))
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except Exception as exc:  # the one place where anything unexpected becomes exit 3
        return report_unexpected(exc, err, as_json=getattr(args, "json", False), debug=args.debug)
    return code


def report_unexpected(exc: BaseException, err: Console, *, as_json: bool, debug: bool) -> int:
    """Anything vouch did not expect means it could not check: exit 3, never 1 ("found wanting")."""
    summary = _one_line(f"{type(exc).__name__}: {exc}") if str(exc) else type(exc).__name__
    message = f"unexpected error, nothing was verified: {summary}"
    if as_json:
        document = {"ok": False, "error": {"type": "UnexpectedError", "message": message}}
        print(json.dumps(document))
    if debug:
        err.print("".join(traceback.format_exception(exc)), style="dim", markup=False, end="")
    err.print(Text.assemble(("error: ", "bold red"), message))
    if not debug:
        err.print("hint: run again with `vouch --debug ...` to see where, and report it", style="dim")
    return 3


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def report_error(error: VouchError, err: Console, *, as_json: bool) -> int:
    if as_json:
        document = {"ok": False, "error": {"type": type(error).__name__, "message": str(error)}}
        print(json.dumps(document))
    if isinstance(error, BuildFailedError) and error.output_tail:
        tail = "\n".join(f"  | {line}" for line in error.output_tail.splitlines())
        err.print(tail, style="dim", markup=False)
    err.print(Text.assemble(("error: ", "bold red"), str(error)))
    if error.hint:
        err.print(f"hint: {error.hint}", style="dim", markup=False)
    return error.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
