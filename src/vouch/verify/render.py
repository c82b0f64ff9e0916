"""How a verification is shown: a summary table for people, and an HTML page (``--html``).

The page is made like ``vouch report``'s (one frame, ``report/templates/base.html.j2``): self-contained,
no script and no remote resource, and every value from outside (file names, reasons, identities: all
come from the lock or the index) is escaped by Jinja2's autoescape.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from vouch.verify.model import State, Verdict
from vouch.verify.run import VerifyReport

STYLE = {
    State.VERIFIED: "green",
    State.FAILED: "bold red",
    State.DRIFT: "bold red",
    State.LOST: "bold red",
    State.NONE: "yellow",
    State.UNCHECKED: "yellow",
}


def shown_state(verdict: Verdict) -> str:
    accepted = verdict.accepted and verdict.state is not State.VERIFIED
    return f"{verdict.state} (accepted)" if accepted else str(verdict.state)


def render(report: VerifyReport, out: Console) -> None:
    table = Table(title=f"vouch verify {report.source}", title_justify="left", show_lines=False)
    rebuilt = any(v.rebuild is not None for v in report.verdicts)
    for column in ("state", "project", "version", "file", *(("rebuild",) if rebuilt else ()), "why"):
        table.add_column(column, overflow="fold")
    for verdict in report.verdicts:
        why = "; ".join(verdict.reasons) or (f"published by {verdict.identity}" if verdict.identity else "")
        rebuild = (Text(verdict.rebuild["verdict"] if verdict.rebuild else "-"),) if rebuilt else ()
        table.add_row(Text(shown_state(verdict), style="green" if verdict.ok else STYLE[verdict.state]),
                      Text(verdict.project), Text(verdict.version), Text(verdict.filename), *rebuild,
                      Text(why))  # fmt: skip
    out.print(table)
    counts = ", ".join(f"{report.count(state)} {state}" for state in State if report.count(state))
    out.print(f"{len(report.verdicts)} files: {counts}; {report.checked} checks run, "
              f"{report.cached} read from {report.database}", markup=False)  # fmt: skip
    out.print(f"index {report.index}; trust root: {report.trust_root}", markup=False)
    passed = report.exit_code == 0
    word = ("PASSED", "bold green") if passed else ("FAILED", "bold red")
    out.print(Text.assemble(("verify: ", "bold"), word))


def html_page(report: VerifyReport) -> str:
    """The page of ``vouch verify --html``: the frame and stylesheet of ``vouch report``'s page
    (Jinja2, autoescaped, a Content-Security-Policy that forbids scripts and requests), the files
    not verified first."""
    from vouch.report.render import render_page  # noqa: PLC0415 - Jinja2 only for --html

    code = report.exit_code
    verdict = "passed" if code == 0 else "not checked" if code == 3 else "failed"
    counts = [(str(state), report.count(state)) for state in State if report.count(state)]
    return render_page(
        "verify.html.j2", report=report, verdict=verdict, counts=counts,
        wanting=[v for v in report.verdicts if not v.ok], fine=[v for v in report.verdicts if v.ok],
        rebuilt=any(v.rebuild is not None for v in report.verdicts),
    )  # fmt: skip
