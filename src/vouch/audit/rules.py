"""Release rules that zizmor lacks: who holds the OIDC token, how and when a release is published.

- ``vouch/oidc-untrusted-code``: a job holding ``id-token: write`` also builds the project or runs
  third-party code (an action outside actions/, github/, pypa/, sigstore/; a build or test tool;
  an unpinned ``pip install``).
- ``vouch/publish-without-environment``: a publish job names no deployment environment, so no
  reviewer stands between a push and the index.
- ``vouch/pr-target-checkout-head``: a ``pull_request_target`` workflow checks out the PR's head.
- ``vouch/publish-on-branch-push``: a publishing workflow runs on branch pushes, not only tags.
- ``vouch/pypi-token``: a long-lived PyPI token where Trusted Publishing would do.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from typing import Any

from vouch.audit.findings import Finding, Location
from vouch.audit.workflow import Route, Workflow, steps

TRUSTED_OWNERS = ("actions/", "github/", "pypa/", "sigstore/")
PUBLISH_ACTION = "pypa/gh-action-pypi-publish"
_PUBLISH_RUN = re.compile(
    r"\b(twine\s+upload|uv\s+publish|poetry\s+publish|flit\s+publish|hatch\s+publish|pdm\s+publish"
    r"|vouch\s+publish|maturin\s+(publish|upload))\b"
)
_BUILD_RUN = re.compile(
    r"(\bpython[\d.]*\s+-m\s+(build|pytest|tox|nox|pip\s+wheel)\b|\bpyproject-build\b|\buv\s+build\b"
    r"|\b(hatch|pdm|poetry|flit)\s+(build|run)\b|\bsetup\.py\b|\bpip\s+wheel\b|(^|[\s;&|])make(\s|$)"
    r"|\b(tox|nox|pytest|cibuildwheel|maturin)\b|\bvouch\s+(re)?build\b|\bnpm\s+(install|ci|run)\b"
    r"|\byarn\b|\bcargo\s+(build|run)\b|\buvx\b|\bpipx\s+run\b)",
    re.MULTILINE,
)
_PIP_INSTALL = re.compile(r"\bpip\s+install\s+([^\n;&|]*)")
_TOKEN_ENV = (
    "TWINE_PASSWORD",
    "UV_PUBLISH_TOKEN",
    "UV_PUBLISH_PASSWORD",
    "POETRY_PYPI_TOKEN_PYPI",
    "FLIT_PASSWORD",
    "HATCH_INDEX_AUTH",
    "PDM_PUBLISH_PASSWORD",
    "MATURIN_PYPI_TOKEN",
)
_SECRET = re.compile(r"\$\{\{\s*secrets\.(?!GITHUB_TOKEN\b)\w+")
_PR_HEAD = re.compile(
    r"github\.event\.pull_request\.head\.|github\.head_ref|refs/pull/|github\.event\.number"
    r"|github\.event\.pull_request\.number"
)
_TRUSTED_PUBLISHING_HOSTS = ("pypi.org", "test.pypi.org")


def _unpinned_installs(command: str) -> list[str]:
    """Requirements of ``pip install`` that run code nobody pinned: a path, ``-e``, ``-r`` (unless
    with ``--require-hashes``), or a name without ``==``. ``pip install "vouch==1.0"`` installs one
    pinned release and passes here (``vouch/unhashed-install`` wants its hash)."""
    loose = []
    for match in _PIP_INSTALL.finditer(command):
        try:
            words = shlex.split(match.group(1))
        except ValueError:
            words = match.group(1).split()
        hashed = "--require-hashes" in words  # -r FILE then installs only what FILE pins by sha256
        skip = False
        for word in words:
            if skip:
                skip = False
                continue
            if word in {"-r", "--requirement"} and hashed:
                skip = True
            elif word in {"-e", "--editable", "-r", "--requirement"}:
                loose.append(word)
                skip = True
            elif word in {"-c", "--constraint", "-i", "--index-url", "--extra-index-url", "--python"}:
                skip = True
            elif word.startswith("-"):
                continue
            elif "==" not in word or word.startswith((".", "/")):
                loose.append(word)
    return loose


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _permissions(workflow: Workflow, job: dict[str, Any]) -> Any:
    return job["permissions"] if "permissions" in job else workflow.document.get("permissions")


def holds_id_token(workflow: Workflow, job: dict[str, Any]) -> bool:
    permissions = _permissions(workflow, job)
    if permissions == "write-all":
        return True
    return isinstance(permissions, dict) and permissions.get("id-token") == "write"


def _untrusted(step: dict[str, Any]) -> str | None:
    uses = step.get("uses")
    if isinstance(uses, str) and not uses.startswith("./"):
        if not uses.startswith(TRUSTED_OWNERS):
            return f"the third-party action {uses.split('@')[0]}"
        return None
    run = step.get("run")
    if isinstance(run, str):
        build = _BUILD_RUN.search(run)
        if build:
            return f"`{build.group(0).strip()}`"
        loose = _unpinned_installs(run)
        if loose:
            return f"`pip install {' '.join(loose)}` (unpinned or local code)"
    return None


def is_publish_step(step: dict[str, Any]) -> bool:
    uses, run = step.get("uses"), step.get("run")
    if isinstance(uses, str) and uses.startswith(PUBLISH_ACTION):
        return True
    return isinstance(run, str) and _PUBLISH_RUN.search(run) is not None


def publish_jobs(workflow: Workflow) -> Iterator[tuple[str, dict[str, Any], int]]:
    """Jobs that upload to an index, each with the index of its first publishing step."""
    for name, job in workflow.jobs():
        for index, step in steps(job):
            if is_publish_step(step):
                yield name, job, index
                break


def oidc_untrusted_code(workflow: Workflow) -> Iterator[Finding]:
    for name, job in workflow.jobs():
        if not holds_id_token(workflow, job):
            continue
        for index, step in steps(job):
            reason = _untrusted(step)
            if reason is not None:
                route: Route = ("jobs", name, "steps", index)
                yield Finding(
                    "vouch/oidc-untrusted-code",
                    "high",
                    Location(workflow.path, workflow.line(route)),
                    f"job {name!r} holds an OIDC token (id-token: write) and runs {reason}: that code "
                    "can mint a token and publish or sign as the project",
                    "build and test in a job without id-token; hand the artifacts over with "
                    "upload-artifact and give id-token: write only to a job that runs no project or "
                    "third-party code",
                )
                break


def publish_without_environment(workflow: Workflow) -> Iterator[Finding]:
    for name, job, _ in publish_jobs(workflow):
        environment = job.get("environment")
        if isinstance(environment, dict):
            environment = environment.get("name")
        if not environment:
            yield Finding(
                "vouch/publish-without-environment",
                "high",
                Location(workflow.path, workflow.line(("jobs", name))),
                f"job {name!r} publishes without a deployment environment: nobody has to approve a release",
                "add `environment: pypi` to the job, require reviewers on that environment, and name "
                "it in the PyPI Trusted Publisher",
            )


def pr_target_checkout_head(workflow: Workflow) -> Iterator[Finding]:
    if "pull_request_target" not in workflow.triggers:
        return
    for name, job in workflow.jobs():
        for index, step in steps(job):
            uses, run = step.get("uses"), step.get("run")
            with_ = _mapping(step.get("with"))
            head = (
                isinstance(uses, str)
                and uses.startswith("actions/checkout")
                and any(_PR_HEAD.search(str(with_.get(k, ""))) for k in ("ref", "repository"))
            )
            head = head or (
                isinstance(run, str)
                and (
                    re.search(r"\bgh\s+pr\s+checkout\b", run) is not None
                    or (
                        re.search(r"\bgit\s+(fetch|checkout)\b", run) is not None
                        and _PR_HEAD.search(run) is not None
                    )
                )
            )
            if head:
                route: Route = ("jobs", name, "steps", index)
                yield Finding(
                    "vouch/pr-target-checkout-head",
                    "high",
                    Location(workflow.path, workflow.line(route)),
                    f"job {name!r} checks out the pull request's head in a pull_request_target workflow: "
                    "untrusted code runs with the base repository's secrets and write token",
                    "trigger on pull_request instead, or never check out or run the head's code here",
                )


def _tags_only(workflow: Workflow, job: dict[str, Any], step: dict[str, Any]) -> bool:
    guard = f"{job.get('if', '')} {step.get('if', '')}"
    return "refs/tags/" in guard or "github.ref_type == 'tag'" in guard


def publish_on_branch_push(workflow: Workflow) -> Iterator[Finding]:
    push = workflow.triggers.get("push", False)
    if push is False:
        return
    branches = (
        push is None
        or not isinstance(push, dict)
        or "tags" not in push
        or ("branches" in push or "branches-ignore" in push)
    )
    if not branches:
        return
    for name, job, index in publish_jobs(workflow):
        if _tags_only(workflow, job, job["steps"][index]):
            continue
        yield Finding(
            "vouch/publish-on-branch-push",
            "medium",
            Location(workflow.path, workflow.line(("on", "push"))),
            f"job {name!r} publishes on pushes to branches, not only on release tags",
            'trigger the publishing workflow on `push: tags: ["v*"]` (protected by a tag ruleset), '
            "or guard the job with `if: startsWith(github.ref, 'refs/tags/')`",
        )


def _secret_in(mapping: Any, keys: tuple[str, ...]) -> str | None:
    if not isinstance(mapping, dict):
        return None
    for key in keys:
        if _SECRET.search(str(mapping.get(key, ""))):
            return key
    return None


def pypi_token(workflow: Workflow) -> Iterator[Finding]:
    for name, job in workflow.jobs():
        for index, step in steps(job):
            if not is_publish_step(step):
                continue
            with_ = _mapping(step.get("with"))
            target = str(with_.get("repository-url", "")) + " " + str(step.get("run", ""))
            urls = re.findall(r"https?://([^/\s\"']+)", target)
            if any(host not in _TRUSTED_PUBLISHING_HOSTS for host in urls):
                continue  # an index without Trusted Publishing needs its token
            key = _secret_in(with_, ("password",))
            for env in (step.get("env"), job.get("env"), workflow.document.get("env")):
                key = key or _secret_in(env, _TOKEN_ENV)
            run = step.get("run")
            if (
                key is None
                and isinstance(run, str)
                and re.search(r"(-p|--password|--token)\s+\S*" + _SECRET.pattern, run)
            ):
                key = "the command line"
            if key is not None:
                route: Route = ("jobs", name, "steps", index)
                yield Finding(
                    "vouch/pypi-token",
                    "medium",
                    Location(workflow.path, workflow.line(route)),
                    f"job {name!r} publishes with a long-lived token from secrets ({key})",
                    "configure a Trusted Publisher on PyPI for this workflow and environment, give the "
                    "job id-token: write, drop the password, and revoke the token",
                )


RULES = (
    oidc_untrusted_code,
    publish_without_environment,
    pr_target_checkout_head,
    publish_on_branch_push,
    pypi_token,
)


def release_findings(workflow: Workflow) -> list[Finding]:
    return [finding for rule in RULES for finding in rule(workflow)]


def publish_environments(workflows: list[Workflow]) -> dict[str, Location]:
    """The environments that publish jobs name, with where: the repository audit checks them."""
    found: dict[str, Location] = {}
    for workflow in workflows:
        for name, job, _ in publish_jobs(workflow):
            environment = job.get("environment")
            if isinstance(environment, dict):
                environment = environment.get("name")
            if isinstance(environment, str) and environment and "${{" not in environment:
                found.setdefault(
                    environment, Location(workflow.path, workflow.line(("jobs", name, "environment")))
                )
    return found
