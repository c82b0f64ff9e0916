"""A finding (rule, severity, location, message, fix) and its plain, JSON and SARIF renderings.

A location is a file and line (a workflow) or an API object (a repository setting on GitHub).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vouch import __version__

SEVERITIES = ("low", "medium", "high")
_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
_SARIF_LEVEL = {"low": "note", "medium": "warning", "high": "error"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


@dataclass(frozen=True)
class Location:
    """``path`` and ``line`` for a file; ``api`` (e.g. ``repos/O/R/keys/7``) and ``url`` otherwise."""

    path: str | None = None
    line: int | None = None
    api: str | None = None
    url: str | None = None

    def __str__(self) -> str:
        if self.path is not None:
            return f"{self.path}:{self.line}" if self.line else self.path
        return f"github:{self.api}"

    def to_json(self) -> dict[str, Any]:
        if self.path is not None:
            return {"path": self.path, "line": self.line}
        return {"api": self.api, "url": self.url}


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    location: Location
    message: str
    fix: str
    help_url: str | None = None

    def __post_init__(self) -> None:
        if self.severity not in _RANK:
            raise ValueError(f"unknown severity {self.severity!r}")

    def at_least(self, severity: str) -> bool:
        return _RANK[self.severity] >= _RANK[severity]

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "location": self.location.to_json(),
            "message": self.message,
            "fix": self.fix,
        }


def sort_findings(findings: Sequence[Finding]) -> list[Finding]:
    return sorted(
        findings,
        key=lambda f: (
            -_RANK[f.severity],
            f.location.path or "",
            f.location.line or 0,
            f.location.api or "",
            f.rule,
        ),
    )


def to_json(findings: Sequence[Finding]) -> dict[str, Any]:
    return {"findings": [finding.to_json() for finding in findings]}


def _sarif_location(location: Location) -> dict[str, Any]:
    if location.path is not None:
        return {
            "physicalLocation": {
                "artifactLocation": {"uri": location.path},
                "region": {"startLine": location.line or 1},
            }
        }
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": location.url or f"https://api.github.com/{location.api}"},
            "region": {"startLine": 1},
        },
        "logicalLocations": [{"fullyQualifiedName": f"github:{location.api}", "kind": "resource"}],
    }


def to_sarif(findings: Sequence[Finding]) -> dict[str, Any]:
    """A SARIF 2.1.0 log, one run, one rule per rule id, as GitHub code scanning accepts it."""
    rules: dict[str, dict[str, Any]] = {}
    for finding in findings:
        if finding.rule not in rules:
            rule: dict[str, Any] = {
                "id": finding.rule,
                "name": finding.rule.replace("/", "-"),
                "shortDescription": {"text": finding.rule},
                "help": {"text": finding.fix},
                "defaultConfiguration": {"level": _SARIF_LEVEL[finding.severity]},
            }
            if finding.help_url:
                rule["helpUri"] = finding.help_url
            rules[finding.rule] = rule
    index = {rule_id: n for n, rule_id in enumerate(rules)}
    results = [
        {
            "ruleId": finding.rule,
            "ruleIndex": index[finding.rule],
            "level": _SARIF_LEVEL[finding.severity],
            "message": {"text": f"{finding.message} Fix: {finding.fix}"},
            "locations": [_sarif_location(finding.location)],
            "properties": {"severity": finding.severity},
        }
        for finding in findings
    ]
    return {
        "version": "2.1.0",
        "$schema": SARIF_SCHEMA,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "vouch-audit",
                        "version": __version__,
                        "informationUri": "https://github.com/vouch-dev/vouch",
                        "rules": list(rules.values()),
                    }
                },
                "results": results,
            }
        ],
    }
