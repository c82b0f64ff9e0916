"""``vouch audit``: CI workflows (zizmor and release rules) and the GitHub repository's settings."""

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
    from vouch.audit.project import AuditOptions, AuditResult
    from vouch.host import Host

_STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan"}


def add_parser(subparsers: Any) -> None:
    parser = add_command(
        subparsers, "audit",
        summary="audit CI workflows (zizmor + release rules) and the GitHub repository's settings",
        description="Run zizmor and vouch's release rules on the workflows under PATH "
        "(.github/workflows), and audit who can push tags and publish on GitHub. Exit 0 when "
        "nothing is at or above --min-severity, 1 otherwise.",
        examples=["vouch audit", "vouch audit --github demo/demo --min-severity medium --format sarif"],
    )  # fmt: skip
    parser.add_argument("path", nargs="?", type=Path, metavar="PATH",
                        help="a repository, a workflow folder or one workflow file (default: .)")  # fmt: skip
    parser.add_argument("--no-workflows", action="store_true", help="audit only the repository")
    parser.add_argument("--github", metavar="OWNER/REPO",
                        help="audit the repository through the API (GITHUB_TOKEN, read-only)")  # fmt: skip
    parser.add_argument("--github-export", type=Path, metavar="FILE", help="audit a saved export offline")
    parser.add_argument("--save-export", type=Path, metavar="FILE", help="store the API responses")
    parser.add_argument("--format", choices=["plain", "json", "sarif"], default="plain",
                        help="json and sarif print errors as JSON too (default: plain)")  # fmt: skip
    parser.add_argument("--min-severity", choices=["low", "medium", "high"], default="low",
                        help="the lowest severity that fails the audit (default: low)")  # fmt: skip
    handle(parser, AuditArgs, run, json_errors=lambda args: args.format != "plain")


@dataclass(frozen=True)
class AuditArgs:
    """`vouch audit [PATH]`: the library's options, and how to report."""

    options: AuditOptions
    format: str
    min_severity: str
    host: Host

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> AuditArgs:
        from vouch.audit.project import AuditOptions  # noqa: PLC0415
        from vouch.errors import UsageError  # noqa: PLC0415

        if args.no_workflows and args.path is not None:
            raise UsageError("--no-workflows audits no workflows: drop PATH, or --no-workflows")
        options = AuditOptions(
            path=None if args.no_workflows else (args.path or Path()),
            github=args.github,
            github_export=args.github_export,
            save_export=args.save_export,
        )
        return cls(options, args.format, args.min_severity, host_of(args))


def run(command: AuditArgs, out: Console, err: Console) -> int:
    from vouch.audit.findings import to_json, to_sarif  # noqa: PLC0415
    from vouch.audit.project import audit  # noqa: PLC0415

    result = audit(command.options, host=command.host)
    shown = result.failing(command.min_severity)
    if command.format == "json":
        print(json.dumps(to_json(shown), indent=2))
    elif command.format == "sarif":
        print(json.dumps(to_sarif(shown), indent=2))
    else:
        render(result, command.min_severity, out)
    return 1 if shown else 0


def render(result: AuditResult, min_severity: str, out: Console) -> None:
    audited = [f"{len(result.workflows)} workflow(s)"] if result.workflows else []
    if result.repository:
        audited.append(f"github:{result.repository}")
    out.print(f"audited {', '.join(audited) or 'nothing'}", markup=False)
    shown = result.failing(min_severity)
    for finding in shown:
        out.print(
            Text.assemble(
                (f"{finding.severity:<6}", _STYLE[finding.severity]),
                " ",
                (finding.rule, "bold"),
                f"  {finding.location}",
            )
        )
        out.print(f"    {finding.message}", markup=False)
        out.print(f"    fix: {finding.fix}", markup=False, style="dim")
    hidden = len(result.findings) - len(shown)
    below = f" ({hidden} below {min_severity})" if hidden else ""
    verdict = Text.assemble(
        ("audit: ", "bold"), (f"{len(shown)} finding(s)", "bold red" if shown else "bold green")
    )
    out.print(verdict, below, markup=False)
