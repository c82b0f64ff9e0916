"""`vouch ci github|gitlab`: the generated release workflows are hardened and complete."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from vouch.cli import main


def generate(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = tmp_path / ("release.yml" if kind == "github" else ".gitlab-ci.yml")
    code = main(["ci", kind, "--project", "demo", "--out", str(out)])
    capsys.readouterr()
    assert code == 0
    return out


@pytest.mark.parametrize("persona", ["regular", "pedantic"])
def test_github_workflow_has_no_zizmor_findings(
    persona: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workflow = generate("github", tmp_path / ".github" / "workflows", capsys)
    zizmor = shutil.which("zizmor")
    assert zizmor is not None, "zizmor is a test dependency"
    result = subprocess.run(
        [zizmor, "--offline", "--format", "json", "--persona", persona, str(workflow)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == []


def test_github_workflow_has_the_jobs_and_the_least_privilege(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document: dict[Any, Any] = yaml.safe_load(generate("github", tmp_path, capsys).read_text())
    assert document[True] == {"push": {"tags": ["v*"]}}  # YAML 1.1 reads the key `on` as True
    assert document["permissions"] == {}
    jobs = document["jobs"]
    assert list(jobs) == ["build", "rebuild", "sign", "check", "publish"]
    with_token = {name for name, job in jobs.items() if job.get("permissions", {}).get("id-token") == "write"}
    assert with_token == {"sign", "publish"}
    for name in with_token:  # the jobs holding a token never check out or build the project
        assert not any("checkout" in step.get("uses", "") for step in jobs[name]["steps"])
        assert not any("vouch build" in step.get("run", "") for step in jobs[name]["steps"])
    assert jobs["publish"]["environment"]["name"] == "pypi"
    assert jobs["rebuild"]["needs"] == "build"
    steps = [step for job in jobs.values() for step in job["steps"]]
    for step in steps:
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
        if "actions/checkout" in step.get("uses", ""):
            assert step["with"]["persist-credentials"] is False
    runs = "\n".join(step.get("run", "") for step in steps)
    assert "vouch rebuild" in runs
    assert "vouch check" in runs
    assert "--key sigstore --role ci" in runs


def test_gitlab_pipeline_parses_and_has_the_stages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document: dict[str, Any] = yaml.safe_load(generate("gitlab", tmp_path, capsys).read_text())
    assert document["stages"] == ["build", "rebuild", "sign", "check", "publish"]
    assert document["workflow"]["rules"] == [{"if": "$CI_COMMIT_TAG"}]
    assert "id_tokens" in document["sign"]
    assert "id_tokens" in document["publish"]
    assert "id_tokens" not in document["build"]
    assert document["publish"]["environment"]["name"] == "pypi"


def test_existing_workflow_is_not_overwritten(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workflow = generate("github", tmp_path, capsys)
    workflow.write_text("mine")
    assert main(["ci", "github", "--project", "demo", "--out", str(workflow)]) == 2
    assert workflow.read_text() == "mine"
    assert main(["ci", "github", "--project", "demo", "--out", str(workflow), "--force"]) == 0


def test_values_that_would_inject_into_the_workflow_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "release.yml"
    assert main(["ci", "github", "--project", "demo${{ github.event }}", "--out", str(out)]) == 2
    assert not out.exists()


def test_tag_pattern_for_bare_version_tags_stays_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / ".github" / "workflows" / "release.yml"
    assert main(["ci", "github", "--project", "django", "--tag-pattern", "[0-9]*", "--out", str(out)]) == 0
    document: dict[Any, Any] = yaml.safe_load(out.read_text())
    assert document[True] == {"push": {"tags": ["[0-9]*"]}}
    result = subprocess.run(
        ["zizmor", "--offline", "--format", "json", "--persona", "pedantic", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert json.loads(result.stdout) == []
    assert main(["ci", "github", "--project", "django", "--tag-pattern", 'x"; rm -rf', "--out", str(out),
                 "--force"]) == 2  # fmt: skip
