"""How a verification is shown: a summary table for people, and a plain HTML page.

The page is self-contained (no script, no remote resource) and every value from outside (file
names, reasons, identities: all come from the lock or the index) is HTML-escaped. It stands until
the evidence report's page (``vouch report``) can show a verification.
"""

from __future__ import annotations

from html import escape

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
    rows = "\n".join(
        "<tr class=\"{cls}\"><td>{state}</td><td>{project}</td><td>{version}</td><td><code>{file}</code>"
        "<br><small>{sha}</small></td><td>{why}</td></tr>".format(
            cls="ok" if v.ok else "bad", state=escape(shown_state(v)), project=escape(v.project),
            version=escape(v.version), file=escape(v.filename), sha=escape(v.sha256),
            why=escape("; ".join(v.reasons) or (f"published by {v.identity}" if v.identity else "")),
        )
        for v in report.verdicts
    )
    counts = ", ".join(f"{report.count(state)} {state}" for state in State if report.count(state))
    verdict = "passed" if report.exit_code == 0 else "failed"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>vouch verify: {escape(report.source)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}}
tr.ok td:first-child{{color:#060}}tr.bad td:first-child{{color:#a00;font-weight:bold}}</style>
</head><body>
<h1>vouch verify: {escape(report.source)}</h1>
<p>Verification <strong>{verdict}</strong>: {len(report.verdicts)} files, {escape(counts)}.</p>
<p>Index {escape(report.index)}; trust root: {escape(report.trust_root)}.</p>
<table><thead><tr><th>state</th><th>project</th><th>version</th><th>file</th><th>why</th></tr></thead>
<tbody>
{rows}
</tbody></table>
</body></html>
"""
