"""A release's checklist as Markdown (task list), a standalone HTML page, or JSON."""

from __future__ import annotations

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


def html_page(plan: Plan) -> str:
    """The checklist as one page in the frame of vouch's other pages (Jinja2, autoescaped, no script:
    the checkboxes are for the reader's eyes only)."""
    from vouch.report.render import render_page  # noqa: PLC0415 - Jinja2 only for --format html

    steps = [
        {"id": step.id, "title": step.title, "commands": step.commands, "after": step.after,
         "verify": step.verify, "how": _how(step),
         "paragraphs": [p.strip() for p in step.description.split("\n\n")] if step.description else []}
        for step in plan.steps
    ]  # fmt: skip
    return render_page("runbook.html.j2", heading=_heading(plan), facts=" ".join(_facts(plan)),
                       description=plan.runbook.description.strip(), steps=steps)  # fmt: skip
