"""``vouch runbook [show] VERSION``: a release's checklist by release type; ``vouch runbook run`` walks it."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from vouch.cli.parser import add_command, add_verbs, handle, host_of, verb

if TYPE_CHECKING:
    from vouch.host import Host
    from vouch.release.plan import Plan
    from vouch.release.runner import RunResult

_NOTES = (
    "The release type is inferred from VERSION: X.Y or X.Y.0 feature, X.Y.Z bugfix, aN/bN/rcN "
    "pre-release; security only with --type security and --cve. The profile defaults to `runbook` "
    "in the policy (vouch.toml or [tool.vouch]), else generic. The generic profile's name and "
    "dist_name default to [project] name of ./pyproject.toml."
)


def add_parser(subparsers: Any) -> None:
    parser = add_command(
        subparsers, "runbook",
        summary="the release checklist for a release type (md, html, json); `run` walks it, resumably",
        description="Print the release checklist of a version's release type (`show`, the default verb: "
        "`vouch runbook VERSION`), or walk it (`run VERSION`), from a runbook definition: the generic "
        "or django profile, or a TOML file.",
        examples=["vouch runbook 5.2.3 --profile django",
                  "vouch runbook run 5.2.3 --type security --cve CVE-2025-1234 --profile django"],
        notes=_NOTES,
    )  # fmt: skip
    verbs = add_verbs(parser, default="show")
    show = verb(
        parser, verbs, "show", scope="`vouch runbook VERSION`",
        summary="print the checklist",
        description="Print the release checklist of VERSION's release type, as Markdown, HTML or JSON. "
        "The verb `show` may be left out.",
        examples=["vouch runbook 5.2.3 --profile django",
                  "vouch runbook 5.2.3 --type security --cve CVE-2025-1234 --branch main --branch "
                  "stable/5.2.x --format html --out checklist.html"],
        notes=_NOTES,
    )  # fmt: skip
    _add_plan_options(show)
    show.add_argument("--format", choices=("md", "html", "json"), default="md", help="default: md")
    show.add_argument("--out", type=Path, metavar="FILE", help="write the checklist here (default: stdout)")
    handle(show, ShowArgs, run_show)
    walk = verb(
        parser, verbs, "run", scope="`vouch runbook run`",
        summary="run the automated steps, confirm the manual ones, resumably",
        description="Run the checklist's automated vouch steps, ask to confirm the manual ones, and "
        "record each step in a state file, so that an interrupted run resumes where it stopped.",
        examples=["vouch runbook run 5.2.3 --profile django",
                  "vouch runbook run 1.0.1 --set fingerprint=FINGERPRINT --state release-1.0.1.json"],
        notes=_NOTES,
    )  # fmt: skip
    _add_plan_options(walk)
    walk.add_argument("--state", type=Path, metavar="FILE", help="the state file (default: in .)")
    handle(walk, RunArgs, run_run)


def _add_plan_options(parser: argparse.ArgumentParser) -> None:
    """The options of both verbs: which release, from which runbook."""
    parser.add_argument("version", metavar="VERSION", help="the version to release, e.g. 5.2.3")
    kinds = ("security", "bugfix", "feature", "prerelease")
    parser.add_argument("--type", choices=kinds, dest="release_type",
                        help="the release type (default: inferred from VERSION)")  # fmt: skip
    parser.add_argument("--profile", metavar="NAME|FILE", help="generic, django, or a runbook .toml file")
    parser.add_argument("--cve", action="extend", nargs="+", default=[], metavar="ID",
                        help="security: CVE IDs")  # fmt: skip
    parser.add_argument(
        "--branch", action="append", default=[], metavar="NAME", dest="branches",
        help="security: a branch the release patches (repeatable; default: the profile's supported "
        "branches on --date)",
    )  # fmt: skip
    parser.add_argument("--date", metavar="YYYY-MM-DD", help="the release date")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", dest="values",
                        help="a variable or input of the runbook (repeatable)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="errors as JSON (the checklist: --format json)")


@dataclass(frozen=True)
class PlanArgs:
    """Which release, from which runbook: the options of both verbs."""

    version: str
    release_type: str | None
    profile: str | None
    cves: tuple[str, ...]
    branches: tuple[str, ...]
    date: str | None
    values: tuple[str, ...]

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> PlanArgs:
        return cls(args.version, args.release_type, args.profile, tuple(args.cve), tuple(args.branches),
                   args.date, tuple(args.values))  # fmt: skip


@dataclass(frozen=True)
class ShowArgs:
    """`vouch runbook [show] VERSION`."""

    plan: PlanArgs
    format: str
    out: Path | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ShowArgs:
        return cls(PlanArgs.from_args(args), args.format, args.out)


@dataclass(frozen=True)
class RunArgs:
    """`vouch runbook run VERSION`."""

    plan: PlanArgs
    state: Path | None
    host: Host

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> RunArgs:
        return cls(PlanArgs.from_args(args), args.state, host_of(args))


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


def _plan(given: PlanArgs) -> Plan:
    from vouch.release.plan import make_plan, release  # noqa: PLC0415
    from vouch.release.runbook import load_runbook  # noqa: PLC0415
    from vouch.release.signed_checksums import parse_date  # noqa: PLC0415

    runbook = load_runbook(_profile(given.profile))
    date = parse_date(given.date) if given.date else None
    chosen = release(given.version, given.release_type, given.cves, date, given.branches)
    return make_plan(runbook, chosen, _values(list(given.values), {*runbook.variables, *runbook.inputs}))


def run_show(command: ShowArgs, out: Console, err: Console) -> int:
    from vouch.errors import OutputError  # noqa: PLC0415
    from vouch.release.render import render_plan  # noqa: PLC0415

    text = render_plan(_plan(command.plan), command.format)
    if command.out is None:
        sys.stdout.write(text)
        return 0
    from vouch.atomic import write_bytes_atomic  # noqa: PLC0415

    try:
        write_bytes_atomic(command.out, text.encode("utf-8"))
    except OSError as exc:
        raise OutputError(f"cannot write {command.out}: {exc.strerror}") from exc
    err.print(f"wrote {command.out}", markup=False)
    return 0


def run_run(command: RunArgs, out: Console, err: Console) -> int:
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

    plan = _plan(command.plan)
    state = command.state or default_state_path(plan)
    out.print(f"{plan.title} {plan.release.version} ({plan.release.type}), state in {state}", markup=False)
    result = run_plan(plan, state, confirm=confirm, say=say, host=command.host)
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
