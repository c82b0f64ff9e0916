"""``vouch diff``: why two sdists, wheels (zips) or directories differ, member by member."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from vouch.archive.diff import (
    Difference,
    DiffoscopeResult,
    DiffReport,
    diff_paths,
    find_diffoscope,
    run_diffoscope,
)
from vouch.cli.parser import add_command, existing, handle

MAX_SHOWN = 100  # differences rendered in the terminal; --json has them all
MAX_WIDTH = 200  # characters of one rendered value


def add_parser(subparsers: Any) -> None:
    parser = add_command(
        subparsers, "diff",
        summary="explain how two sdists, wheels or directories differ",
        description="Compare two sdists (.tar.gz), two wheels or zips, or two directories, member by "
        "member: gzip header, member order, members only on one side, and for each member its type, "
        "link target, mode and executable bit, mtime, owner, compression and content (a unified diff "
        "for text). A wheel's METADATA, WHEEL and RECORD are compared field by field. "
        "Exit 0 when identical, 1 when not.",
        examples=["vouch diff dist/demo-1.0.tar.gz rebuilt/demo-1.0.tar.gz",
                  "vouch diff dist/demo-1.0-py3-none-any.whl rebuilt/demo-1.0-py3-none-any.whl --json"],
    )  # fmt: skip
    parser.add_argument("a", type=Path, metavar="A", help="an sdist, wheel, zip or directory")
    parser.add_argument("b", type=Path, metavar="B", help="another of the same kind")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--max-lines", type=_count, default=200, metavar="N",
                        help="lines of unified diff per text member (default: 200)")  # fmt: skip
    parser.add_argument("--diffoscope", action="store_true",
                        help="also run diffoscope (pip install diffoscope) and show its report")  # fmt: skip
    handle(parser, DiffArgs, run)


def _count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of lines (0 or more)")
    return number


@dataclass(frozen=True)
class DiffArgs:
    """`vouch diff A B`: two inputs that exist, and how to compare and show them."""

    a: Path
    b: Path
    max_lines: int
    diffoscope: bool
    json: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> DiffArgs:
        a, b = existing(args.a, "input"), existing(args.b, "input")
        return cls(a, b, args.max_lines, args.diffoscope, args.json)


def run(command: DiffArgs, out: Console, err: Console) -> int:
    executable = find_diffoscope() if command.diffoscope else None
    report = diff_paths(command.a, command.b, max_lines=command.max_lines)
    extra = None
    if executable is not None:
        with err.status("running diffoscope", spinner="dots"):
            extra = run_diffoscope(command.a, command.b, executable=executable)
    if command.json:
        document = report.to_json()
        if extra is not None:
            document["diffoscope"] = {"command": list(extra.command), "exit_code": extra.exit_code,
                                      "output": extra.output}  # fmt: skip
        print(dump_json(document))
    else:
        render(report, out)
        if extra is not None:
            render_diffoscope(extra, out)
    return 0 if report.identical else 1


def dump_json(document: dict[str, Any]) -> str:
    """The report as JSON, one difference per line: readable, greppable, and fast to write for reports
    of thousands of differences (the indenting encoder is pure Python; the compact one is C)."""
    differences = document.pop("differences")
    head = json.dumps(document)[:-1]
    lines = ",\n".join("  " + json.dumps(difference) for difference in differences)
    return f'{head}, "differences": [\n{lines}\n]}}' if differences else f'{head}, "differences": []}}'


def render(report: DiffReport, out: Console) -> None:
    if report.identical:
        out.print(Text.assemble(("identical ", "bold green"), f"{report.a} and {report.b} ({report.kind})"))
        return
    members = sum(difference.member is not None for difference in report.differences)
    parts = [f"{members} member{'s' * (members != 1)}"] if members else []
    parts += ["the archive itself"] if members < len(report.differences) else []
    verb = "differs" if len(parts) == 1 and members <= 1 else "differ"
    summary = f"{report.a} and {report.b} ({report.kind}): {' and '.join(parts)} {verb}"
    out.print(Text.assemble(("different ", "bold red"), summary))
    for difference in report.differences[:MAX_SHOWN]:
        render_difference(difference, out)
    if len(report.differences) > MAX_SHOWN:
        out.print(f"… and {len(report.differences) - MAX_SHOWN} more differences (--json lists them all)",
                  style="dim", markup=False)  # fmt: skip


def render_difference(difference: Difference, out: Console) -> None:
    name = difference.member if difference.member is not None else "(archive)"
    out.print(Text.assemble("  ", (name, "bold"), "  ", (", ".join(difference.aspects), "yellow")))
    for aspect in difference.aspects:
        detail = difference.details.get(aspect)
        if aspect == "content" and isinstance(detail, dict):
            _render_content(detail, out)
        else:
            for line in _detail_lines(aspect, detail):
                out.print(Text("      " + line, style="dim"))


def _render_content(detail: dict[str, Any], out: Console) -> None:
    sides = [f"{detail[side]['size']:,} bytes, sha256 {detail[side]['sha256'][:16]}…" for side in "ab"]
    out.print(Text(f"      content: a {sides[0]}; b {sides[1]}", style="dim"))
    if detail.get("binary"):
        out.print(Text("      (binary)", style="dim"))
    if note := detail.get("note"):
        out.print(Text(f"      ({note})", style="dim"))
    for line in detail.get("diff", []):
        style = {"+": "green", "-": "red", "@": "cyan"}.get(line[:1], "")
        out.print(Text("        " + _clip(line), style=style))
    if cut := detail.get("diff_lines_cut"):
        out.print(Text(f"        … {cut} more diff lines (--max-lines)", style="dim"))


def _detail_lines(label: str, detail: Any) -> list[str]:
    """``label: a X, b Y`` for each ``{"a", "b"}`` pair in ``detail``, nested keys joined."""
    if label.startswith("only-in-") and isinstance(detail, dict):
        return [f"{label}: " + ", ".join(f"{key} {_value(value)}" for key, value in detail.items())]
    if isinstance(detail, dict) and "a" in detail and "b" in detail:
        lines = [f"{label}: a {_value(detail['a'])}, b {_value(detail['b'])}"]
        return lines + [line for key, value in detail.items() if key not in "ab"
                        for line in _detail_lines(f"{label} {key}", value)]  # fmt: skip
    if isinstance(detail, dict):
        return [line for key, value in detail.items() for line in _detail_lines(f"{label} {key}", value)]
    return [f"{label}: {_value(detail)}"]


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return _clip(text)


def _clip(text: str) -> str:
    text = text.replace("\r", "\\r").replace("\t", "    ")
    return text if len(text) <= MAX_WIDTH else text[: MAX_WIDTH - 1] + "…"


def render_diffoscope(result: DiffoscopeResult, out: Console) -> None:
    out.print(Text(f"\ndiffoscope (exit code {result.exit_code}):", style="bold"))
    out.print(result.output.rstrip("\n") or "(no output)", markup=False, highlight=False)
