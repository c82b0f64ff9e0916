"""``vouch runbook``: a release's checklist by release type; ``vouch runbook run`` walks it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from vouch.release.plan import Plan
    from vouch.release.runner import RunResult

USAGE = """%(prog)s VERSION [--type security|bugfix|feature|prerelease] [--profile generic|django|FILE]
                      [--cve ID ...] [--branch NAME ...] [--date YYYY-MM-DD] [--set NAME=VALUE ...]
                      [--format md|html|json]
                      [--out FILE]
       %(prog)s run VERSION [the same options] [--state FILE]"""


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "runbook",
        usage=USAGE,
        help="the release checklist for a release type (md, html, json); `run` walks it, resumably",
        description="VERSION: print the release checklist of this version's release type (inferred: "
        "X.Y or X.Y.0 feature, X.Y.Z bugfix, aN/bN/rcN pre-release; security only with --type "
        "security and --cve) from a runbook definition: the generic or django profile, or a TOML "
        "file. `run VERSION`: run its automated vouch steps, ask to confirm the manual ones, and "
        "record each step in a state file, so that an interrupted run resumes where it stopped.",
        epilog="The profile defaults to `runbook` in the policy (vouch.toml or [tool.vouch]), else "
        "generic. The generic profile's name and dist_name default to [project] name of "
        "./pyproject.toml.",
    )
    parser.add_argument("words", nargs="+", metavar="VERSION | run VERSION")
    parser.add_argument(
        "--type", choices=("security", "bugfix", "feature", "prerelease"), dest="release_type"
    )
    parser.add_argument("--profile", metavar="NAME|FILE", help="generic, django, or a runbook .toml file")
    parser.add_argument(
        "--cve", action="extend", nargs="+", default=[], metavar="ID", help="security: CVE IDs"
    )
    parser.add_argument(
        "--branch", action="append", default=[], metavar="NAME", dest="branches",
        help="security: a branch the release patches (repeatable; default: the profile's supported "
        "branches on --date)",
    )  # fmt: skip
    parser.add_argument("--date", metavar="YYYY-MM-DD", help="the release date")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", dest="values",
                        help="a variable or input of the runbook (repeatable)")  # fmt: skip
    parser.add_argument("--format", choices=("md", "html", "json"), default="md", help="default: md")
    parser.add_argument("--out", type=Path, metavar="FILE", help="write the checklist here (default: stdout)")
    parser.add_argument("--state", type=Path, metavar="FILE", help="run: the state file (default: in .)")
    parser.add_argument("--json", action="store_true", help="errors as JSON (the checklist: --format json)")
    parser.set_defaults(run=run)


def _profile(requested: str | None) -> str:
    """--profile, else `runbook` of the policy (relative to it), else generic."""
    from vouch.errors import ProjectConfigError, UsageError  # noqa: PLC0415
    from vouch.policy.model import find_policy, policy_table  # noqa: PLC0415

    if requested is not None:
        return requested
    try:
        path = find_policy(None)
    except UsageError:
        return "generic"
    try:
        value = policy_table(path)[0].get("runbook", "generic")
    except ProjectConfigError:
        return "generic"
    if not isinstance(value, str):
        raise ProjectConfigError(f"{path}: runbook must be generic, django or a file name")
    if value in ("generic", "django"):
        return value
    return str(path.parent / value)


def _values(pairs: list[str], declared: set[str]) -> dict[str, str]:
    import tomllib  # noqa: PLC0415

    from packaging.utils import canonicalize_name  # noqa: PLC0415

    from vouch.errors import UsageError  # noqa: PLC0415

    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--set {pair!r} is not NAME=VALUE")
        if name in values:
            raise UsageError(f"--set {name} is given twice")
        values[name] = value
    if "name" in declared and "name" not in values and Path("pyproject.toml").is_file():
        try:
            project = tomllib.loads(Path("pyproject.toml").read_text("utf-8")).get("project", {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
            project = {}
        if isinstance(project.get("name"), str):
            values["name"] = project["name"]
    if "dist_name" in declared and "dist_name" not in values and "name" in values:
        values["dist_name"] = canonicalize_name(values["name"]).replace("-", "_")
    return values


def _plan(args: argparse.Namespace, version: str) -> Plan:
    from vouch.release.plan import make_plan, release  # noqa: PLC0415
    from vouch.release.runbook import load_runbook  # noqa: PLC0415
    from vouch.release.signed_checksums import parse_date  # noqa: PLC0415

    runbook = load_runbook(_profile(args.profile))
    date = parse_date(args.date) if args.date else None
    chosen = release(version, args.release_type, args.cve, date, args.branches)
    return make_plan(runbook, chosen, _values(args.values, {*runbook.variables, *runbook.inputs}))


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    from vouch.errors import OutputError, UsageError  # noqa: PLC0415
    from vouch.release.render import render_plan  # noqa: PLC0415

    words: list[str] = args.words
    if words[0] == "run":
        if len(words) != 2:
            raise UsageError("`vouch runbook run` takes one VERSION")
        return _run(args, _plan(args, words[1]), out, err)
    if len(words) != 1:
        raise UsageError(f"give one VERSION (or `run VERSION`), not {' '.join(words)!r}")
    if args.state is not None:
        raise UsageError("--state applies to `vouch runbook run`")
    text = render_plan(_plan(args, words[0]), args.format)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    from vouch.atomic import write_bytes_atomic  # noqa: PLC0415

    try:
        write_bytes_atomic(args.out, text.encode("utf-8"))
    except OSError as exc:
        raise OutputError(f"cannot write {args.out}: {exc.strerror}") from exc
    err.print(f"wrote {args.out}", markup=False)
    return 0


def _run(args: argparse.Namespace, plan: Plan, out: Console, err: Console) -> int:
    from rich.prompt import Confirm  # noqa: PLC0415

    from vouch.release.runner import default_state_path, run_plan  # noqa: PLC0415

    def confirm(question: str) -> bool:
        try:
            return Confirm.ask(question, console=out, default=False)
        except EOFError:  # no one to answer: not confirmed
            out.print()
            return False

    def say(line: str) -> None:
        style = "bold" if line.startswith("[") else "dim" if line.startswith("    ") else None
        out.print(Text(line, style=style or ""))

    state = args.state or default_state_path(plan)
    out.print(f"{plan.title} {plan.release.version} ({plan.release.type}), state in {state}", markup=False)
    result = run_plan(plan, state, confirm=confirm, say=say)
    _report(result, out)
    return 0 if result.completed else 1


def _report(result: RunResult, out: Console) -> None:
    if result.skipped:
        out.print(f"already done before: {', '.join(result.skipped)}", style="dim", markup=False)
    if result.completed:
        out.print(Text.assemble(("runbook: ", "bold"), ("COMPLETE", "bold green")))
        return
    out.print(Text.assemble(("runbook: ", "bold"), ("STOPPED", "bold red"),
                            f" at {result.stopped_at}: {result.reason}"))  # fmt: skip
    out.print(f"run the same command again to resume from {result.stopped_at}", markup=False)
