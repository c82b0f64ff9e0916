"""`vouch audit` on workflows: zizmor's findings merged with vouch's release rules."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from vouch.audit.findings import Finding, Location, to_sarif
from vouch.audit.workflow import parse_workflow
from vouch.audit.zizmor import zizmor_findings
from vouch.cli import main
from vouch.errors import ToolError

WORKFLOWS = Path(__file__).parent / "fixtures" / "audit" / "workflows"


def audit_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, Any]]]:
    code = main(["audit", *argv, "--format", "json"])
    findings: list[dict[str, Any]] = json.loads(capsys.readouterr().out)["findings"]
    return code, findings


@pytest.mark.parametrize(
    ("fixture", "rule", "line"),
    [
        ("oidc-build.yml", "vouch/oidc-untrusted-code", 18),
        ("oidc-third-party.yml", "vouch/oidc-untrusted-code", 12),
        ("no-environment.yml", "vouch/publish-without-environment", 8),
        ("pr-target.yml", "vouch/pr-target-checkout-head", 12),
        ("branch-push.yml", "vouch/publish-on-branch-push", 4),
        ("pypi-token.yml", "vouch/pypi-token", 18),
    ],
)
def test_each_release_rule_fires_with_its_line(
    fixture: str, rule: str, line: int, capsys: pytest.CaptureFixture[str]
) -> None:
    code, findings = audit_json(capsys, str(WORKFLOWS / fixture))
    assert code == 1
    ours = [f for f in findings if f["rule"].startswith("vouch/")]
    assert [(f["rule"], f["location"]) for f in ours] == [(rule, {"path": fixture, "line": line})]
    assert ours[0]["severity"] in {"medium", "high"}
    assert ours[0]["message"]
    assert ours[0]["fix"]


def test_a_tag_guarded_trusted_publisher_passes(capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = audit_json(capsys, str(WORKFLOWS / "tag-guarded.yml"))
    assert (code, findings) == (0, [])


def test_vouch_ci_github_output_has_no_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workflow = tmp_path / ".github" / "workflows" / "release.yml"
    assert main(["ci", "github", "--project", "demo", "--out", str(workflow)]) == 0
    capsys.readouterr()
    code, findings = audit_json(capsys, str(tmp_path))
    assert (code, findings) == (0, [])
    assert main(["audit", str(tmp_path)]) == 0
    assert "audited 1 workflow(s)" in capsys.readouterr().out


def test_zizmor_findings_are_merged_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "ci.yml").write_text(
        "on: push\npermissions: {}\njobs:\n  test:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - uses: actions/checkout@v4\n"
    )
    code, findings = audit_json(capsys, str(tmp_path))
    assert code == 1
    by_rule = {f["rule"]: f for f in findings}
    assert by_rule["zizmor/unpinned-uses"]["location"] == {"path": ".github/workflows/ci.yml", "line": 7}
    assert by_rule["zizmor/artipacked"]["fix"] == "set persist-credentials: false"


def test_min_severity_filters_the_output_and_the_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = audit_json(capsys, str(WORKFLOWS / "pypi-token.yml"), "--min-severity", "high")
    assert (code, findings) == (0, [])
    code, findings = audit_json(capsys, str(WORKFLOWS / "pypi-token.yml"), "--min-severity", "medium")
    assert code == 1
    assert {f["rule"] for f in findings} == {"vouch/pypi-token"}
    assert main(["audit", str(WORKFLOWS / "pypi-token.yml"), "--min-severity", "medium"]) == 1
    out = capsys.readouterr().out
    assert "vouch/pypi-token  pypi-token.yml:18" in out
    assert "1 below medium" in out


def test_sarif_has_the_structure_code_scanning_needs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", str(WORKFLOWS / "pr-target.yml"), "--format", "sarif"]) == 1
    sarif = json.loads(capsys.readouterr().out)
    assert sarif["version"] == "2.1.0"
    assert sarif["$schema"].endswith("sarif-2.1.0.json")
    (run,) = sarif["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "vouch-audit"
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert "vouch/pr-target-checkout-head" in rule_ids
    assert "zizmor/dangerous-triggers" in rule_ids
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in {"note", "warning", "error"}
        assert result["message"]["text"]
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "pr-target.yml"
        assert physical["region"]["startLine"] >= 1
    ours = next(r for r in run["results"] if r["ruleId"] == "vouch/pr-target-checkout-head")
    assert ours["level"] == "error"
    assert ours["locations"][0]["physicalLocation"]["region"]["startLine"] == 12


def test_sarif_of_an_api_object_names_it() -> None:
    finding = Finding(
        "github/x",
        "low",
        Location(api="repos/o/r/keys/7", url="https://github.com/o/r/settings/keys"),
        "m",
        "f",
    )
    (result,) = to_sarif([finding])["runs"][0]["results"]
    assert result["level"] == "note"
    assert result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "github:repos/o/r/keys/7"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith(
        "https://github.com/"
    )


def test_lines_follow_the_yaml_nodes() -> None:
    workflow = parse_workflow(
        "on:\n  push:\n    tags: [v*]\njobs:\n  a:\n    steps:\n      - run: x\n", "w.yml"
    )
    assert workflow.triggers == {"push": {"tags": ["v*"]}}
    assert workflow.line(("jobs", "a", "steps", 0)) == 7
    assert workflow.line(("jobs", "a", "steps", 0, "nope")) == 7
    assert workflow.line(("on", "push")) == 2


def test_zizmor_failing_is_a_tool_error(tmp_path: Path) -> None:
    workflow = tmp_path / "w.yml"
    workflow.write_text("on: push\n")

    def broken(argv: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        assert argv[:3] == ["zizmor", "--offline", "--no-progress"]
        return subprocess.CompletedProcess(list(argv), 1, "", "fatal: no audit was performed")

    with pytest.raises(ToolError, match="no audit was performed"):
        zizmor_findings(tmp_path, [workflow], broken)

    def garbage(argv: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(list(argv), 0, "<html>", "")

    with pytest.raises(ToolError, match="not JSON"):
        zizmor_findings(tmp_path, [workflow], garbage)


def test_invalid_yaml_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.yml").write_text("jobs: [\n")
    assert main(["audit", str(tmp_path / "bad.yml"), "--format", "json"]) == 2
    assert json.loads(capsys.readouterr().out)["ok"] is False


def test_zizmor_is_installed() -> None:
    assert shutil.which("zizmor") is not None
