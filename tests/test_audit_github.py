"""`vouch audit --github/--github-export`: who can push tags and publish, from GitHub's API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from vouch.audit.github import fetch_export, read_export
from vouch.audit.project import AuditOptions, audit
from vouch.audit.repository import audit_repository
from vouch.cli import main
from vouch.errors import NetworkError, UsageError
from vouch.host import Host

FIXTURES = Path(__file__).parent / "fixtures" / "audit"
BAD, GOOD = FIXTURES / "github-export-bad.json", FIXTURES / "github-export-good.json"
BASE = "repos/example-org/demo"


def findings_of(export: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(["audit", "--no-workflows", "--github-export", str(export), "--format", "json", *argv])
    found = json.loads(capsys.readouterr().out)["findings"]
    return code, {f"{f['rule']} {f['location']['api']}": f for f in found}


def edited(tmp_path: Path, **responses: Any) -> Path:
    document = json.loads(GOOD.read_text())
    for key, value in responses.items():
        path = f"{BASE}/{key}".rstrip("/") if key != "_" else BASE
        if value is None:
            del document["responses"][path]
        else:
            document["responses"][path] = value
    target = tmp_path / "export.json"
    target.write_text(json.dumps(document))
    return target


def test_a_well_guarded_repository_has_no_findings(capsys: pytest.CaptureFixture[str]) -> None:
    assert findings_of(GOOD, capsys) == (0, {})


def test_every_repository_finding_of_the_bad_export(capsys: pytest.CaptureFixture[str]) -> None:
    code, found = findings_of(BAD, capsys)
    assert code == 1
    assert set(found) == {
        f"github/deploy-key-write {BASE}/keys/7",
        f"github/tags-unprotected {BASE}/rulesets",
        f"github/workflow-token-write {BASE}/actions/permissions/workflow",
        f"github/actions-can-approve {BASE}/actions/permissions/workflow",
        f"github/environment-no-reviewers {BASE}/environments/pypi",
        f"github/environment-any-ref {BASE}/environments/pypi",
        f"github/environment-self-review {BASE}/environments/docs",
        f"github/admin-collaborator {BASE}/collaborators/alice",
        f"github/mutable-releases {BASE}/immutable-releases",
        f"github/ruleset-bypass {BASE}/rulesets/42",
    }
    tags = found[f"github/tags-unprotected {BASE}/rulesets"]
    assert tags["severity"] == "high"
    assert "alice (admin), bob (write), team core (admin)" in tags["message"]
    assert "carol" not in tags["message"]
    assert "repository role admin" in found[f"github/ruleset-bypass {BASE}/rulesets/42"]["message"]
    assert found[f"github/deploy-key-write {BASE}/keys/7"]["location"]["url"].endswith("/settings/keys")
    assert all(f["fix"] for f in found.values())


def test_min_severity_high_keeps_the_high_findings(capsys: pytest.CaptureFixture[str]) -> None:
    code, found = findings_of(BAD, capsys, "--min-severity", "high")
    assert code == 1
    assert {key.split()[0] for key in found} == {"github/deploy-key-write", "github/tags-unprotected"}


def test_tag_ruleset_bypass_and_unprotected_default_branch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = json.loads(GOOD.read_text())["responses"]
    tag = good[f"{BASE}/rulesets/44"] | {}
    tag["body"] = tag["body"] | {
        "bypass_actors": [{"actor_id": None, "actor_type": "OrganizationAdmin", "bypass_mode": "always"}]
    }
    summaries = [s for s in good[f"{BASE}/rulesets?includes_parents=true"]["body"] if s["target"] == "tag"]
    export = edited(
        tmp_path, **{"rulesets/44": tag, "rulesets?includes_parents=true": {"status": 200, "body": summaries}}
    )
    code, found = findings_of(export, capsys)
    assert code == 1
    assert set(found) == {
        f"github/ruleset-bypass {BASE}/rulesets/44",
        f"github/default-branch-unprotected {BASE}/rulesets",
    }
    assert found[f"github/ruleset-bypass {BASE}/rulesets/44"]["severity"] == "medium"
    assert "organization admins" in found[f"github/ruleset-bypass {BASE}/rulesets/44"]["message"]


def test_what_the_token_cannot_read_is_a_finding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = json.loads(GOOD.read_text())["responses"]
    hidden = good[f"{BASE}/rulesets/44"] | {}
    hidden["body"] = {k: v for k, v in hidden["body"].items() if k != "bypass_actors"}
    forbidden = {"status": 403, "body": {"message": "Must have admin rights to Repository."}}
    export = edited(
        tmp_path, **{"collaborators?affiliation=all": forbidden, "rulesets/44": hidden, "keys": None}
    )
    code, found = findings_of(export, capsys)
    assert code == 1
    assert set(found) == {
        f"github/unreadable {BASE}/collaborators",
        f"github/unreadable {BASE}/rulesets/44",
        f"github/unreadable {BASE}/keys",
    }
    assert "HTTP 403" in found[f"github/unreadable {BASE}/collaborators"]["message"]
    assert "not in the export" in found[f"github/unreadable {BASE}/keys"]["message"]


def test_the_environment_a_publish_job_uses_must_exist_and_have_reviewers(tmp_path: Path) -> None:
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    workflow = (FIXTURES / "workflows" / "tag-guarded.yml").read_text()
    (folder / "release.yml").write_text(workflow)
    result = audit(AuditOptions(path=tmp_path, github_export=GOOD))
    assert result.findings == []
    (folder / "release.yml").write_text(workflow.replace("name: pypi", "name: release"))
    result = audit(AuditOptions(path=tmp_path, github_export=GOOD))
    assert [(f.rule, f.severity, f.location.api) for f in result.findings] == [
        ("github/environment-missing", "high", f"{BASE}/environments/release")
    ]
    assert ".github/workflows/release.yml:" in result.findings[0].message
    bad = read_export(BAD)
    found = audit_repository(bad, {"pypi": result.findings[0].location})
    pypi = next(f for f in found if f.rule == "github/environment-no-reviewers")
    assert pypi.severity == "high"


def recorded_transport(requests: list[httpx.Request]) -> httpx.MockTransport:
    responses = json.loads(BAD.read_text())["responses"]

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        path = request.url.raw_path.decode().lstrip("/")
        path = path.replace("&per_page=100", "").replace("?per_page=100", "")
        if path == f"{BASE}/collaborators?affiliation=all" and "page=2" not in str(request.url):
            first = responses[path]["body"][:1]
            page2 = f"https://api.github.com/{BASE}/collaborators?affiliation=all&per_page=100&page=2"
            link = f'<{page2}>; rel="next"'
            return httpx.Response(200, json=first, headers={"Link": link})
        if "page=2" in str(request.url):
            return httpx.Response(200, json=responses[f"{BASE}/collaborators?affiliation=all"]["body"][1:])
        if path not in responses:
            return httpx.Response(404, json={"message": "Not Found"})
        return httpx.Response(responses[path]["status"], json=responses[path]["body"])

    return httpx.MockTransport(handler)


def test_live_path_fetches_pages_saves_the_export_and_hides_the_token(tmp_path: Path) -> None:
    requests: list[httpx.Request] = []
    saved = tmp_path / "saved.json"
    result = audit(
        AuditOptions(path=None, github="example-org/demo", save_export=saved),
        host=Host(transport=recorded_transport(requests)),
        environ={"GITHUB_TOKEN": "ghp_secret-token-value"},
    )
    assert all(r.headers["Authorization"] == "Bearer ghp_secret-token-value" for r in requests)
    assert all(r.url.host == "api.github.com" for r in requests)
    assert any("page=2" in str(r.url) for r in requests)
    assert "ghp_secret" not in saved.read_text()
    offline = audit(AuditOptions(path=None, github_export=saved))
    assert offline.findings == result.findings
    assert len(result.findings) == 10
    export = read_export(saved)
    assert [p["login"] for p in export.get("collaborators?affiliation=all").body] == ["alice", "bob", "carol"]


def test_unreachable_api_is_a_network_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no route", request=request)

    with pytest.raises(NetworkError, match="cannot reach the GitHub API"):
        fetch_export("example-org/demo", None, host=Host(transport=httpx.MockTransport(refuse)))


@pytest.mark.parametrize(
    ("document", "message"),
    [({"version": 9}, "not a vouch GitHub export"), ({"version": 1, "repository": "x"}, "needs")],
)
def test_a_bad_export_is_a_usage_error(tmp_path: Path, document: dict[str, Any], message: str) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document))
    with pytest.raises(UsageError, match=message):
        read_export(path)


def test_github_and_export_together_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--github", "o/r", "--github-export", str(GOOD)]) == 2
    assert "not both" in capsys.readouterr().err
