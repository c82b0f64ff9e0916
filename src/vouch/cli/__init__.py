"""The ``vouch`` command line: parses, calls one library function, renders, maps errors to exits.

Exit codes: 0 ok, 1 verification failed, 2 usage or configuration error, 3 could not check.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from vouch import __version__
from vouch.cli.parser import Handler, VouchParser
from vouch.errors import BuildFailedError, VouchError

if TYPE_CHECKING:
    from vouch.host import Host

# each command's module, vouch.cli.NAME, in the order of `vouch --help`; imported when its parser is made
COMMANDS = (
    "build", "rebuild", "diff", "sign", "check", "policy", "attest", "provenance", "publish", "ci",
    "audit", "doctor", "checksums", "runbook", "report", "verify",
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


def make_parser(only: str | None = None) -> VouchParser:
    """The parser of every command, or of the command ``only`` (its modules alone are imported)."""
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
    for name in COMMANDS if only is None else (only,):
        importlib.import_module(f"vouch.cli.{name}").add_parser(subparsers)
    return parser


def _named_command(argv: Sequence[str] | None) -> str | None:
    """The command that ``argv`` names, so that start-up imports only its modules; None if unsure."""
    first = next((arg for arg in (sys.argv[1:] if argv is None else argv) if not arg.startswith("-")), None)
    return first if first in COMMANDS else None


def main(argv: Sequence[str] | None = None, host: Host | None = None) -> int:  # noqa: PLR0911 - one exit per outcome
    """Run one vouch command. ``host`` is the seam every side effect of the command goes through
    (processes, HTTP, the clock, the cache): the real machine unless a caller (a test) gives its own."""
    parser = make_parser(_named_command(argv))
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
    except BrokenPipeError:  # the reader went away (`vouch diff --json | head`): nothing more to say
        _silence_stdout()
        err.print("error: the output was cut off: its reader closed the pipe")
        return 3
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


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush does not fail again
    (as Python's documentation of SIGPIPE advises)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


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
