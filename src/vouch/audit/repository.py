"""Who can push a release tag and publish: the rules over a GitHub repository's settings.

Reads a :class:`RepositoryExport`; an endpoint the token could not read is itself a finding
(``github/unreadable``), never a silent pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vouch.audit.findings import Finding, Location
from vouch.audit.github import RepositoryExport

_ROLE_IDS = {2: "maintain", 4: "write", 5: "admin"}
_PUSH = ("admin", "maintain", "push")


class _Repo:
    def __init__(self, export: RepositoryExport) -> None:
        self.export = export
        self.name = export.repository
        self.findings: list[Finding] = []

    def location(self, api: str, settings: str = "") -> Location:
        path = f"repos/{self.name}/{api}".rstrip("/")
        return Location(api=path, url=f"https://github.com/{self.name}/settings/{settings}".rstrip("/"))

    def add(self, rule: str, severity: str, location: Location, message: str, fix: str) -> None:
        finding = Finding(f"github/{rule}", severity, location, message, fix)
        if finding not in self.findings:
            self.findings.append(finding)

    def read(self, endpoint: str, kind: type, *, settings: str = "", missing_ok: bool = False) -> Any:
        response = self.export.get(endpoint)
        if response.status == 200 and isinstance(response.body, kind):
            return response.body
        if missing_ok and response.status == 404:
            return None
        what = "not in the export" if response.status == 0 else f"HTTP {response.status}"
        self.add(
            "unreadable",
            "medium",
            self.location(endpoint.split("?", maxsplit=1)[0], settings),
            f"could not read {endpoint.split('?', maxsplit=1)[0] or 'the repository'} ({what}): not audited",
            "use a token that can read the repository's administration settings (fine-grained: "
            "Administration, Environments and Actions read; classic: repo), or a complete export",
        )
        return None


def _actor(actor: Mapping[str, Any]) -> str:
    kind, ident = actor.get("actor_type"), actor.get("actor_id")
    if kind == "RepositoryRole":
        return f"repository role {_ROLE_IDS.get(ident, ident) if isinstance(ident, int) else ident}"
    if kind == "OrganizationAdmin":
        return "organization admins"
    return f"{kind} {ident}"


def _rulesets(repo: _Repo, target: str) -> list[dict[str, Any]]:
    summaries = repo.read("rulesets?includes_parents=true", list, settings="rules") or []
    found = []
    for summary in summaries:
        if not isinstance(summary, dict) or summary.get("target") != target:
            continue
        if summary.get("enforcement") != "active":
            continue
        detail = repo.read(f"rulesets/{summary.get('id')}", dict, settings="rules")
        if detail is not None:
            found.append(detail)
    return found


def _rule_types(ruleset: Mapping[str, Any]) -> set[str]:
    return {str(rule.get("type")) for rule in ruleset.get("rules", []) if isinstance(rule, dict)}


def _includes(ruleset: Mapping[str, Any]) -> list[str]:
    ref_name = (
        ruleset.get("conditions", {}).get("ref_name", {})
        if isinstance(ruleset.get("conditions"), dict)
        else {}
    )
    include = ref_name.get("include", []) if isinstance(ref_name, dict) else []
    return [str(pattern) for pattern in include]


def _bypass(repo: _Repo, ruleset: dict[str, Any], severity: str) -> None:
    name, ident = ruleset.get("name", "?"), ruleset.get("id")
    actors = ruleset.get("bypass_actors")
    location = repo.location(f"rulesets/{ident}", f"rules/{ident}")
    if actors is None:
        repo.add(
            "unreadable",
            "medium",
            location,
            f"ruleset {name!r}: its bypass actors are not visible to this token",
            "audit with a token of a repository admin",
        )
        return
    always = [_actor(a) for a in actors if isinstance(a, dict) and a.get("bypass_mode") != "pull_request"]
    if always:
        repo.add(
            "ruleset-bypass",
            severity,
            location,
            f"{ruleset.get('target')} ruleset {name!r} can be bypassed by: {', '.join(always)}",
            "remove the bypass actors, or limit them to pull requests (bypass_mode pull_request)",
        )


def _writers(repo: _Repo) -> tuple[list[str], list[str]]:
    collaborators = repo.read("collaborators?affiliation=all", list, settings="access") or []
    teams = repo.read("teams", list, settings="access") or []
    people = []
    for person in collaborators:
        permissions = person.get("permissions", {}) if isinstance(person, dict) else {}
        if any(permissions.get(p) for p in _PUSH):
            role = next(p for p in _PUSH if permissions.get(p))
            people.append(f"{person.get('login')} ({person.get('role_name', role)})")
        if permissions.get("admin"):
            repo.add(
                "admin-collaborator",
                "low",
                repo.location(f"collaborators/{person.get('login')}", "access"),
                f"{person.get('login')} is an admin: can change rulesets, environments and secrets, "
                "and bypass protections",
                "grant maintain or write unless they administer the repository",
            )
    groups = [
        f"team {t.get('slug')} ({t.get('permission')})"
        for t in teams
        if isinstance(t, dict) and t.get("permission") in {"admin", "maintain", "push"}
    ]
    return people, groups


def _tags_and_branches(repo: _Repo, writers: list[str]) -> None:
    tag_rulesets = [r for r in _rulesets(repo, "tag") if _rule_types(r) & {"creation", "update", "deletion"}]
    if not tag_rulesets:
        who = ", ".join(writers) if writers else "everyone with write access"
        repo.add(
            "tags-unprotected",
            "high",
            repo.location("rulesets", "rules"),
            f"no active tag ruleset restricts creating or moving tags: these can push a release tag: {who}",
            "add a tag ruleset on refs/tags/v* that restricts creations, updates and deletions, "
            "with only the release managers as bypass actors",
        )
    for ruleset in tag_rulesets:
        _bypass(repo, ruleset, "medium")
    meta = repo.read("", dict) or {}
    default = str(meta.get("default_branch", "main"))
    branch_rulesets = [
        r
        for r in _rulesets(repo, "branch")
        if {"~DEFAULT_BRANCH", "~ALL", f"refs/heads/{default}"} & set(_includes(r))
    ]
    if not branch_rulesets:
        repo.add(
            "default-branch-unprotected",
            "medium",
            repo.location("rulesets", "rules"),
            f"no active branch ruleset protects the default branch {default!r}",
            "add a branch ruleset on ~DEFAULT_BRANCH requiring pull requests and blocking force pushes",
        )
    for ruleset in branch_rulesets:
        _bypass(repo, ruleset, "low")


def _environments(repo: _Repo, publishing: Mapping[str, Location]) -> None:
    body = repo.read("environments", dict, settings="environments")
    if body is None:
        return
    environments = {str(e.get("name")): e for e in body.get("environments", []) if isinstance(e, dict)}
    for name, where in publishing.items():
        if name not in environments:
            repo.add(
                "environment-missing",
                "high",
                repo.location(f"environments/{name}", "environments"),
                f"the environment {name!r} that {where} publishes from does not exist: it protects nothing",
                f"create the environment {name!r} with required reviewers",
            )
    for name, environment in environments.items():
        location = repo.location(f"environments/{name}", f"environments/{environment.get('id', '')}/edit")
        rules = [r for r in environment.get("protection_rules", []) if isinstance(r, dict)]
        reviewers = next((r for r in rules if r.get("type") == "required_reviewers"), None)
        if reviewers is None:
            severity = "high" if name in publishing else "medium"
            used = " (a publish job uses it)" if name in publishing else ""
            repo.add(
                "environment-no-reviewers",
                severity,
                location,
                f"environment {name!r}{used} has no required reviewers: a deployment needs nobody's approval",
                "add required reviewers (the release managers) to the environment",
            )
        elif not reviewers.get("prevent_self_review"):
            repo.add(
                "environment-self-review",
                "low",
                location,
                f"environment {name!r}: whoever starts a deployment can approve it",
                "enable 'Prevent self-review' on the environment",
            )
        if environment.get("deployment_branch_policy") is None:
            repo.add(
                "environment-any-ref",
                "low",
                location,
                f"environment {name!r} accepts deployments from any branch or tag",
                "restrict deployment branches and tags to the release tags (e.g. v*)",
            )


def _actions(repo: _Repo) -> None:
    body = repo.read("actions/permissions/workflow", dict, settings="actions")
    if body is None:
        return
    location = repo.location("actions/permissions/workflow", "actions")
    if body.get("default_workflow_permissions") != "read":
        repo.add(
            "workflow-token-write",
            "medium",
            location,
            f"the default GITHUB_TOKEN permissions are {body.get('default_workflow_permissions')!r}: "
            "every workflow without a permissions block can push code and tags",
            "set 'Workflow permissions' to read repository contents",
        )
    if body.get("can_approve_pull_request_reviews"):
        repo.add(
            "actions-can-approve",
            "low",
            location,
            "GitHub Actions can create and approve pull requests",
            "disable 'Allow GitHub Actions to create and approve pull requests'",
        )


def _immutable_releases(repo: _Repo) -> None:
    body = repo.read("immutable-releases", dict, settings="", missing_ok=True)
    response = repo.export.get("immutable-releases")
    if response.status not in {200, 404}:
        return  # reported as unreadable
    if body is None or not body.get("enabled"):
        repo.add(
            "mutable-releases",
            "low",
            repo.location("immutable-releases"),
            "releases are not immutable: their assets and tags can be changed after publication",
            "enable release immutability in the repository's settings (Releases section)",
        )


def audit_repository(
    export: RepositoryExport, publishing: Mapping[str, Location] | None = None
) -> list[Finding]:
    """Findings over ``export``; ``publishing`` maps the environments publish jobs use to where."""
    repo = _Repo(export)
    people, teams = _writers(repo)
    _tags_and_branches(repo, people + teams)
    keys = repo.read("keys", list, settings="keys") or []
    for key in keys:
        if isinstance(key, dict) and key.get("read_only") is False:
            repo.add(
                "deploy-key-write",
                "high",
                repo.location(f"keys/{key.get('id')}", "keys"),
                f"deploy key {key.get('title')!r} has write access: whoever holds it can push release tags",
                "make the deploy key read-only, or remove it",
            )
    _environments(repo, publishing or {})
    _actions(repo)
    _immutable_releases(repo)
    return repo.findings
