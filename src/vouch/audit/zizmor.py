"""zizmor (``--offline --format json``) run over workflow files, its findings mapped to vouch's.

zizmor exits 0 with no findings and 10 + the highest severity (11..14) with findings; any other
code, or output that is not its JSON, is a tool failure (exit 3), never "nothing found".
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vouch.audit.findings import Finding, Location
from vouch.errors import ToolError
from vouch.host import Host

_TOKENS = {"GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN"}  # offline: zizmor gets none
_SEVERITY = {"High": "high", "Medium": "medium", "Low": "low", "Informational": "low", "Unknown": "medium"}
_OK_CODES = {0, 11, 12, 13, 14}


def _line(location: dict[str, Any]) -> int:
    point = location.get("concrete", {}).get("location", {}).get("start_point", {})
    row = point.get("row")
    return row + 1 if isinstance(row, int) else 1


def _path(location: dict[str, Any]) -> str | None:
    key = location.get("symbolic", {}).get("key", {})
    local = key.get("Local") if isinstance(key, dict) else None
    path = local.get("verbatim_path") if isinstance(local, dict) else None
    return str(path) if isinstance(path, str) else None


def parse_findings(output: str) -> list[Finding]:
    try:
        document = json.loads(output)
    except ValueError as exc:
        raise ToolError(f"zizmor printed something that is not JSON: {output[:200]!r}") from exc
    if not isinstance(document, list):
        raise ToolError("zizmor's JSON is not a list of findings")
    findings = []
    for raw in document:
        if not isinstance(raw, dict) or raw.get("ignored"):
            continue
        ident, desc = str(raw.get("ident", "unknown")), str(raw.get("desc", ""))
        severity = _SEVERITY.get(str(raw.get("determinations", {}).get("severity")), "medium")
        locations = [loc for loc in raw.get("locations", []) if isinstance(loc, dict)]
        primary = next(
            (loc for loc in locations if loc.get("symbolic", {}).get("kind") == "Primary"),
            locations[0] if locations else {},
        )
        annotation = primary.get("symbolic", {}).get("annotation")
        url = raw.get("url") if isinstance(raw.get("url"), str) else None
        fixes = [str(f["title"]) for f in raw.get("fixes", []) if isinstance(f, dict) and "title" in f]
        findings.append(
            Finding(
                rule=f"zizmor/{ident}",
                severity=severity,
                location=Location(_path(primary) or "?", _line(primary)),
                message=f"{desc}: {annotation}" if annotation else desc,
                fix="; ".join(fixes) if fixes else f"see {url or 'https://docs.zizmor.sh/audits/'}",
                help_url=url,
            )
        )
    return findings


def zizmor_findings(base: Path, files: Sequence[Path], *, host: Host | None = None) -> list[Finding]:
    """zizmor's findings on ``files`` (run from ``base``, so paths are reported relative to it)."""
    if not files:
        return []
    host = host or Host()
    argv = [
        host.tool("zizmor"),
        "--offline",
        "--no-progress",
        "--format",
        "json",
        *(f.relative_to(base).as_posix() for f in files),
    ]
    env = {key: value for key, value in os.environ.items() if key not in _TOKENS}
    result = host.run(argv, cwd=base, env=env)
    if result.returncode not in _OK_CODES:
        lines = [line.strip() for line in (result.err or result.out).splitlines()]
        said = [line for line in lines if line.startswith(("error:", "fatal:", "ERROR"))] or lines[-1:]
        reason = said[0][:300] if said else "no output"
        raise ToolError(f"zizmor failed (exit {result.returncode}): {reason}",
                        hint="run zizmor --offline on the file to see its whole report")  # fmt: skip
    return parse_findings(result.out)
