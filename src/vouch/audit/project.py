"""One call for ``vouch audit``: a project's workflows (zizmor + release rules) and its repository."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from vouch.audit.findings import Finding, sort_findings
from vouch.audit.github import RepositoryExport, fetch_export, read_export, write_export
from vouch.audit.gitlab import gitlab_unhashed_install, is_gitlab_ci
from vouch.audit.installs import unhashed_install
from vouch.audit.repository import audit_repository
from vouch.audit.rules import publish_environments, release_findings
from vouch.audit.workflow import collect, load
from vouch.audit.zizmor import zizmor_findings
from vouch.errors import UsageError
from vouch.host import Host


@dataclass(frozen=True)
class AuditOptions:
    path: Path | None = Path()
    github: str | None = None
    github_export: Path | None = None
    save_export: Path | None = None


@dataclass(frozen=True)
class AuditResult:
    findings: list[Finding]
    workflows: list[str]
    repository: str | None

    def failing(self, min_severity: str) -> list[Finding]:
        return [f for f in self.findings if f.at_least(min_severity)]


def audit(
    options: AuditOptions, *, host: Host | None = None, environ: Mapping[str, str] | None = None
) -> AuditResult:
    """zizmor (run on ``host``) and vouch's rules on the workflows; the repository's settings from
    GitHub (through ``host``'s HTTP transport) or from a saved export."""
    if options.github and options.github_export:
        raise UsageError("pass --github OWNER/REPO or --github-export FILE, not both")
    if options.save_export and not options.github:
        raise UsageError("--save-export needs --github OWNER/REPO")
    findings: list[Finding] = []
    names: list[str] = []
    publishing = {}
    if options.path is not None:
        base, files = collect(options.path)
        loaded = load(base, files)
        pipelines = [w for w in loaded if is_gitlab_ci(w)]
        workflows = [w for w in loaded if not is_gitlab_ci(w)]
        github = [f for f, w in zip(files, loaded, strict=True) if not is_gitlab_ci(w)]
        names = [w.path for w in loaded]
        for workflow in workflows:
            if not isinstance(workflow.document.get("jobs"), dict):
                raise UsageError(
                    f"{workflow.path} is not a GitHub workflow (no jobs:) "
                    "nor a GitLab CI file (no job with script:)",
                    hint="pass a file of .github/workflows, a .gitlab-ci.yml, or the project folder",
                )
        if github:
            findings += zizmor_findings(base, github, host=host)
        for workflow in workflows:
            findings += release_findings(workflow)
            findings += unhashed_install(workflow, base)
        for pipeline in pipelines:
            findings += gitlab_unhashed_install(pipeline, base)
        publishing = publish_environments(workflows)
    export: RepositoryExport | None = None
    if options.github_export is not None:
        export = read_export(options.github_export)
    elif options.github:
        token = (os.environ if environ is None else environ).get("GITHUB_TOKEN")
        export = fetch_export(options.github, token, host=host)
        if options.save_export is not None:
            write_export(export, options.save_export)
    if export is not None:
        findings += audit_repository(export, publishing)
    return AuditResult(sort_findings(findings), names, export.repository if export else None)
