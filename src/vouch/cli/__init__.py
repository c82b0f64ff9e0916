"""The ``vouch`` command line: parses, calls one library function, renders, maps errors to exits.

Exit codes: 0 ok, 1 verification failed, 2 usage or configuration error, 3 could not check.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING

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
from vouch.cli import report as report_command
from vouch.cli import runbook as runbook_command
from vouch.cli import sign as sign_command
from vouch.cli.parser import Handler, VouchParser
from vouch.errors import BuildFailedError, VouchError

if TYPE_CHECKING:
    from vouch.host import Host

COMMANDS = (
    build_command, rebuild_command, diff_command, sign_command, check_command, policy_command,
    attest_command, provenance_command, publish_command, ci_command, audit_command,
    doctor_command, checksums_command, runbook_command, report_command,
)  # fmt: skip


EXAMPLES = """\
examples:
  $ vouch build --out dist
  $ vouch rebuild dist/demo-1.0.buildinfo.json
  $ vouch rebuild pypi:demo==1.0
  $ vouch sign dist/demo-1.0.buildinfo.json --key ssh:~/.ssh/id_ed25519 --role releaser
  $ vouch check dist/demo-1.0.tar.gz dist/demo-1.0-py3-none-any.whl
  $ vouch COMMAND --help

exit codes: 0 ok, 1 verified and found wanting, 2 usage or configuration error, 3 could not check
(network, missing tool, I/O, anything unexpected)."""


def make_parser() -> VouchParser:
    parser = VouchParser(
        prog="vouch",
        description="Reproducible Python releases that several parties can verify.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"vouch {__version__}")
    parser.add_argument(
        "--debug", action="store_true",
        help="on an unexpected error, print Python's traceback (for a bug report)",
    )  # fmt: skip
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, host: Host | None = None) -> int:
    """Run one vouch command. ``host`` is the seam every side effect of the command goes through
    (processes, HTTP, the clock, the cache): the real machine unless a caller (a test) gives its own."""
    parser = make_parser()
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    out = Console(highlight=False, soft_wrap=True)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    except VouchError as error:  # an option of another verb (vouch.cli.parser, rule 3)
        return report_error(error, err, as_json="--json" in (argv or sys.argv[1:]))
    handler: Handler[object] = args.handler
    try:
        from vouch.host import Host  # noqa: PLC0415 - after parsing, so `vouch --help` stays fast

        args.host = host or Host()  # the one seam to processes, HTTP, the clock and the cache
        code: int = handler(args, out, err)
    except VouchError as error:
        return report_error(error, err, as_json=handler.json_errors(args))
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except Exception as exc:  # the one place where anything unexpected becomes exit 3
        return report_unexpected(exc, err, as_json=handler.json_errors(args), debug=args.debug)
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
