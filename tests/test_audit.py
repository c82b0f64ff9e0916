"""`vouch audit` on workflows: zizmor's findings merged with vouch's release rules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.recording import Recorder
from vouch.audit.findings import Finding, Location, to_sarif
from vouch.audit.installs import unhashed_install, unhashed_installs
from vouch.audit.workflow import parse_workflow
from vouch.audit.zizmor import zizmor_findings
from vouch.cli import main
from vouch.errors import ToolError
from vouch.host import Completed

WORKFLOWS = Path(__file__).parent / "fixtures" / "audit" / "workflows"
CI = Path(__file__).parent / "fixtures" / "ci"
REQUIREMENTS = CI / "vouch-requirements.txt"  # hash-pinned, as `vouch ci` resolves it


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
    assert (
        main(
            ["ci", "github", "--project", "demo", "--out", str(workflow), "--requirements", str(REQUIREMENTS)]
        )
        == 0
    )
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

    broken = Recorder(lambda argv: Completed(argv, 1, b"", b"fatal: no audit was performed"))
    with pytest.raises(ToolError, match="no audit was performed"):
        zizmor_findings(tmp_path, [workflow], host=broken.host())
    ((call,),) = [broken.calls]
    assert call.argv == ("/fake/bin/zizmor", "--offline", "--no-progress", "--format", "json", "w.yml")
    assert call.cwd == tmp_path

    garbage = Recorder(lambda argv: Completed(argv, 0, b"<html>"))
    with pytest.raises(ToolError, match="not JSON"):
        zizmor_findings(tmp_path, [workflow], host=garbage.host())


def test_zizmor_runs_offline_without_the_github_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "w.yml").write_text("on: push\n")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret")
    runner = Recorder(lambda argv: Completed(argv, 0, b"[]"))
    assert zizmor_findings(tmp_path, [tmp_path / "w.yml"], host=runner.host()) == []
    (call,) = runner.calls
    assert call.env is not None
    assert "GITHUB_TOKEN" not in call.env
    assert "PATH" in call.env


def test_invalid_yaml_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.yml").write_text("jobs: [\n")
    assert main(["audit", str(tmp_path / "bad.yml"), "--format", "json"]) == 2
    assert json.loads(capsys.readouterr().out)["ok"] is False


def test_zizmor_is_installed() -> None:
    assert shutil.which("zizmor") is not None


# --- vouch/unhashed-install ----------------------------------------------------------------------


def test_old_vouch_ci_workflow_is_flagged_for_its_unhashed_install(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The workflow `vouch ci github` wrote before it pinned vouch by hash (kept as a fixture)."""
    code, findings = audit_json(capsys, str(CI / "old-github-release.yml"))
    assert code == 1
    ours = [f for f in findings if f["rule"].startswith("vouch/")]
    assert [(f["rule"], f["location"]["line"]) for f in ours] == [("vouch/unhashed-install", 93)]
    assert ours[0]["severity"] == "high"
    assert "job 'sign' holds an OIDC token" in ours[0]["message"]
    assert 'pip install "vouch==0.1.0"' in ours[0]["message"]
    assert "--require-hashes" in ours[0]["fix"]
    # the jobs without a token install the same way, and are not this rule's business
    assert "build" not in {f["message"].split("'")[1] for f in ours}


def test_a_job_with_a_secret_installs_only_by_hash_and_images_by_digest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    shutil.copyfile(WORKFLOWS / "unhashed-secret.yml", folder / "nightly.yml")
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "hashed.txt").write_text(
        "rich==13.9.4 \\\n    --hash=sha256:" + "a" * 64 + "\n# a comment\n"
    )
    (tmp_path / "requirements" / "loose.txt").write_text("rich==13.9.4\n")
    code, findings = audit_json(capsys, str(tmp_path))
    assert code == 1
    ours = sorted(
        (f["location"]["line"], f["message"]) for f in findings if f["rule"] == "vouch/unhashed-install"
    )
    assert [line for line, _ in ours] == [11, 17, 18]  # the image, the loose file, uv tool install
    assert "holds a secret" in ours[0][1]
    assert "'python:3.12-slim', not pinned by digest" in ours[0][1]
    assert "requirements file without --require-hashes" in ours[1][1]
    assert "`uv tool install` cannot check hashes" in ours[2][1]


@pytest.mark.parametrize(
    ("run", "flagged"),
    [
        ('pip install "vouch==0.1.0"', True),
        ("python3 -m pip install --upgrade pip", True),
        ("pip3 install -e .", True),
        ("uv pip install --system sigstore==3.6.1", True),
        ("pipx install twine", True),
        ("pipx run twine upload dist/*", True),
        ("pip install --require-hashes -r reqs.txt", False),
        ("uv pip install --require-hashes --no-deps --requirement=reqs.txt", False),
        ("pip install -r /etc/outside.txt", True),  # a file outside the repository is not read
        ("pip install -r missing.txt", True),
        ("pip install --require-hashes -r reqs.txt && pip install rich", True),
        ("echo pip is not installed here", False),
        ("pip wheel .", False),  # not an install (and the build rule's business)
    ],
)
def test_which_installs_are_unhashed(run: str, flagged: bool, tmp_path: Path) -> None:
    assert bool(unhashed_installs(run, tmp_path)) is flagged


def test_hash_pinned_file_read_from_the_repository_passes_without_the_flag(tmp_path: Path) -> None:
    (tmp_path / "reqs.txt").write_text("rich==13.9.4 --hash=sha256:" + "a" * 64 + "\n")
    assert unhashed_installs("pip install -r reqs.txt", tmp_path) == []
    assert unhashed_installs("pip install -r reqs.txt", None) != []  # nothing read: not shown to be hashed
    (tmp_path / "reqs.txt").write_text("rich==13.9.4 --hash=sha256:" + "a" * 64 + "\nhttpx==0.28.1\n")
    assert unhashed_installs("pip install -r reqs.txt", tmp_path) != []


def test_images_pinned_by_digest_and_jobs_without_credentials_pass() -> None:
    text = (WORKFLOWS / "unhashed-secret.yml").read_text()
    pinned = text.replace("python:3.12-slim", "python:3.12-slim@sha256:" + "b" * 64)
    messages = [f.message for f in unhashed_install(parse_workflow(pinned, "w.yml"))]
    assert messages
    assert not any("not pinned by digest" in m for m in messages)
    without_secret = text.replace("${{ secrets.UPLOAD_TOKEN }}", "nothing")
    assert list(unhashed_install(parse_workflow(without_secret, "w.yml"))) == []
    with_token = without_secret.replace("contents: read", "id-token: write")
    assert {f.rule for f in unhashed_install(parse_workflow(with_token, "w.yml"))} == {
        "vouch/unhashed-install"
    }


def test_old_gitlab_pipeline_is_flagged_and_the_new_one_is_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, findings = audit_json(capsys, str(CI / "old-gitlab-release.yml"))
    assert code == 1
    flagged = sorted((f["message"].split("'")[1], f["location"]["line"]) for f in findings)
    # the two jobs with id_tokens: an image by tag (line 13), vouch by bare name (before_script, 14)
    assert flagged == [("publish", 13), ("publish", 14), ("sign", 13), ("sign", 14)]
    assert {f["rule"] for f in findings} == {"vouch/unhashed-install"}
    assert main(["ci", "gitlab", "--project", "demo", "--out", str(tmp_path / ".gitlab-ci.yml"),
                 "--requirements", str(REQUIREMENTS)]) == 0  # fmt: skip
    capsys.readouterr()
    assert audit_json(capsys, str(tmp_path)) == (0, [])


def test_a_gitlab_job_with_secrets_and_no_image_is_flagged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text(
        "stages: [deploy]\n"
        "deploy:\n"
        "  stage: deploy\n"
        "  secrets:\n"
        "    TOKEN:\n"
        "      vault: deploy/token@ops\n"
        "  script:\n"
        "    - pipx install twine\n"
        "    - uv pip install --require-hashes -r vouch-requirements.txt\n"
        "build:\n"
        "  image: python:3.12\n"
        "  script:\n"
        "    - pip install build\n"
    )
    code, findings = audit_json(capsys, str(tmp_path))
    assert code == 1
    messages = [f["message"] for f in findings]
    assert len(messages) == 2, messages  # `build` holds nothing; the hashed install passes
    assert any("runner's default image" in m for m in messages)
    assert any("`pipx install` cannot check hashes" in m and "CI secrets" in m for m in messages)
