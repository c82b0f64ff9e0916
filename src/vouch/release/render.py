"""A release's checklist as Markdown (task list), a standalone HTML page, or JSON."""

from __future__ import annotations

import html
import json

from vouch.release.plan import Plan, PlannedStep

FORMATS = ("md", "html", "json")


def render_plan(plan: Plan, form: str) -> str:
    if form == "md":
        return markdown(plan)
    if form == "html":
        return html_page(plan)
    if form == "json":
        return json.dumps(plan.to_json(), indent=2) + "\n"
    raise ValueError(f"unknown format {form!r}")


def _heading(plan: Plan) -> str:
    release = plan.release
    kind = "pre-release" if release.type == "prerelease" else f"{release.type} release"
    kind += f" ({release.phase})" if release.phase else ""
    return f"{plan.title} {release.version}: {kind}"


def _facts(plan: Plan) -> list[str]:
    release = plan.release
    facts = [f"Runbook {plan.runbook.name} ({plan.runbook.source}), {len(plan.steps)} steps."]
    facts.append(f"Release date: {release.date.isoformat() if release.date else 'not set (--date)'}.")
    if release.cves:
        facts.append(f"CVE IDs: {', '.join(release.cves)}.")
    if plan.missing:
        facts.append(f"Not set yet, shown as <name>: {', '.join(plan.missing)} (--set NAME=VALUE).")
    return facts


def _how(step: PlannedStep) -> str:
    if step.verify:
        return "Automated verification: `vouch runbook run` runs it, and a failure stops the release."
    if step.automated:
        return "Automated: `vouch runbook run` runs it."
    return "Manual: `vouch runbook run` asks you to confirm it."


def markdown(plan: Plan) -> str:
    lines = [f"# {_heading(plan)}", "", " ".join(_facts(plan)), ""]
    if plan.runbook.description.strip():
        lines += [plan.runbook.description.strip(), ""]
    for number, step in enumerate(plan.steps, 1):
        lines += [f"- [ ] **{number}. {step.title}** (`{step.id}`)", ""]
        for paragraph in step.description.split("\n\n") if step.description else ():
            lines += ["  " + line if line else "" for line in paragraph.strip().splitlines()] + [""]
        if step.commands:
            lines += ["  ```sh", *[f"  {command}" for command in step.commands], "  ```", ""]
        after = f"After: {', '.join(f'`{a}`' for a in step.after)}. " if step.after else ""
        lines += [f"  {after}{_how(step)}", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


_STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
body{line-height:1.45}
ol{padding-left:1.5rem}li{margin-bottom:1.4rem}pre{background:#f4f4f4;padding:.6rem;overflow-x:auto}
.id,.meta{color:#555;font-size:.9em}.verify{color:#a40000}"""


def html_page(plan: Plan) -> str:
    esc = html.escape
    heading = esc(_heading(plan))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        f'<head><meta charset="utf-8"><title>{heading}</title><style>{_STYLE}</style></head>',
        "<body>",
        f"<h1>{heading}</h1>",
        f"<p>{esc(' '.join(_facts(plan)))}</p>",
    ]
    if plan.runbook.description.strip():
        parts.append(f"<p>{esc(plan.runbook.description.strip())}</p>")
    parts.append("<ol>")
    for step in plan.steps:
        title = f'<label><input type="checkbox"> <strong>{esc(step.title)}</strong></label>'
        parts.append(f'<li id="step-{esc(step.id)}">{title} <span class="id">{esc(step.id)}</span>')
        for paragraph in step.description.split("\n\n") if step.description else ():
            parts.append(f"<p>{esc(paragraph.strip())}</p>")
        if step.commands:
            parts.append(f"<pre><code>{esc(chr(10).join(step.commands))}</code></pre>")
        links = ", ".join(f'<a href="#step-{esc(a)}">{esc(a)}</a>' for a in step.after)
        after = f"After: {links}. " if links else ""
        css = "meta verify" if step.verify else "meta"
        parts.append(f'<p class="{css}">{after}{esc(_how(step))}</p></li>')
    parts += ["</ol>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"
