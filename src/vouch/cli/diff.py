"""``vouch diff``: why two sdists, wheels (zips) or directories differ, member by member."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from vouch.archive.diff import diff_paths
from vouch.archive.report import EXAMPLES, Difference, DiffReport, Summary
from vouch.cli.parser import add_command, existing, handle

if TYPE_CHECKING:
    from vouch.archive.diffoscope import DiffoscopeResult

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
        "The report opens with how many members differ in each aspect; members whose content "
        "differs come first, and members that differ only in metadata (mode, mtime, owner, "
        "compression) are folded into one line per set of aspects (--all lists them). "
        "Exit 0 when identical, 1 when not.",
        examples=["vouch diff dist/demo-1.0.tar.gz rebuilt/demo-1.0.tar.gz",
                  "vouch diff dist/demo-1.0.tar.gz rebuilt/demo-1.0.tar.gz --all",
                  "vouch diff dist/demo-1.0-py3-none-any.whl rebuilt/demo-1.0-py3-none-any.whl --json"],
    )  # fmt: skip
    parser.add_argument("a", type=Path, metavar="A", help="an sdist, wheel, zip or directory")
    parser.add_argument("b", type=Path, metavar="B", help="another of the same kind")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--max-lines", type=_count, default=200, metavar="N",
                        help="lines of unified diff per text member (default: 200)")  # fmt: skip
    parser.add_argument("--all", action="store_true", dest="show_all",
                        help=f"list every difference: also the members that differ only in metadata, "
                        f"and more than {MAX_SHOWN}")  # fmt: skip
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
    show_all: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> DiffArgs:
        a, b = existing(args.a, "input"), existing(args.b, "input")
        return cls(a, b, args.max_lines, args.diffoscope, args.json, args.show_all)


def run(command: DiffArgs, out: Console, err: Console) -> int:
    executable = None
    if command.diffoscope:  # imported here: most runs do not start a process, nor need the host's imports
        from vouch.archive.diffoscope import find_diffoscope, run_diffoscope  # noqa: PLC0415

        executable = find_diffoscope()
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
        render(report, out, show_all=command.show_all)
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


def render(report: DiffReport, out: Console, *, show_all: bool = False) -> None:
    """The summary line and counts, the differences (content first), then the folded metadata-only ones."""
    if report.identical:
        out.print(Text.assemble(("identical ", "bold green"), f"{report.a} and {report.b} ({report.kind})"))
        return
    summary = report.summary
    members = summary.members
    parts = [f"{members:,} member{'s' * (members != 1)}"] if members else []
    parts += ["the archive itself"] if summary.archive else []
    verb = "differs" if len(parts) == 1 and members <= 1 else "differ"
    headline = f"{report.a} and {report.b} ({report.kind}): {' and '.join(parts)} {verb}"
    out.print(Text.assemble(("different ", "bold red"), headline))
    render_counts(summary, out)
    shown = [d for d in report.differences if show_all or not d.metadata_only]
    limit = len(shown) if show_all else MAX_SHOWN
    for difference in shown[:limit]:
        render_difference(difference, out)
    if len(shown) > limit:
        out.print(f"… and {len(shown) - limit} more differences (--all or --json lists them all)",
                  style="dim", markup=False)  # fmt: skip
    if not show_all:
        for fold in summary.folds:
            render_fold(fold.aspects, fold.members, out)


def render_counts(summary: Summary, out: Console) -> None:
    """``members: content 1, mtime 10,166; archive: gzip-mtime``: content first."""
    parts = []
    if summary.aspects:
        parts.append("members: " + ", ".join(f"{aspect} {count:,}" for aspect, count in summary.aspects))
    if summary.archive:
        parts.append("archive: " + ", ".join(summary.archive))
    out.print(Text("  " + "; ".join(parts), style="yellow"))


def render_fold(aspects: tuple[str, ...], members: tuple[str, ...], out: Console) -> None:
    """One line for the members that differ only in these metadata aspects."""
    count, names = len(members), ", ".join(_clip(name) for name in members[:EXAMPLES])
    if count == 1:
        line = f"1 member differs only in {', '.join(aspects)}: {names}"
    else:
        more = "" if count <= EXAMPLES else f", … ({count - EXAMPLES:,} more; --all lists them)"
        line = f"{count:,} members differ only in {', '.join(aspects)}: {names}{more}"
    out.print(Text.assemble("  ", (line, "dim")))


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
