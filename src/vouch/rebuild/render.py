"""A rebuild report for people: one line per artifact, then its normalisations and differences."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from vouch.rebuild.published import COMPILED, compiled_summary
from vouch.rebuild.verdict import RebuildReport, Verdict

STYLES = {Verdict.BIT_IDENTICAL: "green", Verdict.EQUIVALENT: "yellow", Verdict.DIFFERENT: "red"}
MAX_MEMBERS = 8


def render_rebuild(report: RebuildReport, out: Console) -> None:
    for key, value in report.recipe.items():
        out.print(Text.assemble((f"{key}: ", "dim"), _plain(value)))
    for artifact in report.artifacts:
        out.print(
            Text.assemble((f"{artifact.verdict:<14}", f"bold {STYLES[artifact.verdict]}"), artifact.filename)
        )
        if artifact.expected_sha256 != artifact.rebuilt_sha256:
            out.print(f"    expected sha256 {artifact.expected_sha256}", markup=False)
            out.print(f"    rebuilt  sha256 {artifact.rebuilt_sha256}", markup=False)
        for normalisation in artifact.normalisations:
            members = [m or "(archive)" for m in normalisation.members]
            shown = ", ".join(members[:MAX_MEMBERS])
            more = f" and {len(members) - MAX_MEMBERS} more" if len(members) > MAX_MEMBERS else ""
            out.print(
                f"    normalised {normalisation.aspect} of {len(members)} member(s): {shown}{more}",
                markup=False,
            )
        for difference in artifact.differences[:MAX_MEMBERS]:
            member = difference.get("member") or "(archive)"
            aspects = ", ".join(str(a) for a in difference.get("aspects", []))
            out.print(f"    differs: {member}: {aspects}", markup=False)
        if len(artifact.differences) > MAX_MEMBERS:
            out.print(f"    ... {len(artifact.differences) - MAX_MEMBERS} more differences")
        if artifact.note:
            out.print(f"    {artifact.note}", markup=False)
    out.print(Text.assemble(("verdict: ", "bold"), (str(report.verdict), f"bold {STYLES[report.verdict]}")))
    compiled = [w for w in report.warnings if w.endswith(COMPILED)]
    for warning in [w for w in report.warnings if w not in compiled]:
        out.print(Text.assemble(("warning: ", "yellow"), warning))
    if compiled:
        out.print(Text.assemble(("warning: ", "yellow"), f"not rebuilt: {compiled_summary(compiled)}"))


def _plain(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items() if v not in ("", None))
    return str(value)
