"""``vouch/unhashed-install`` for GitLab CI: ``.gitlab-ci.yml`` jobs that hold an OIDC token.

A job holds a token when it (or ``default:``) declares ``id_tokens`` or ``secrets``. Its scripts
are its own ``before_script`` (else ``default:``'s, else the top level's), ``script`` and
``after_script``; its image is its own, else ``default:``'s, else the top level's. zizmor does not
read GitLab files, so only this rule runs on them. CI/CD variables a project defines in its
settings are not visible in the file, so a job using only those is not seen as holding a secret.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vouch.audit.findings import Finding, Location
from vouch.audit.installs import DIGEST, FIX, RULE, unhashed_installs
from vouch.audit.workflow import Route, Workflow

_KEYWORDS = {
    "default", "include", "stages", "variables", "workflow", "image", "services", "before_script",
    "after_script", "cache", "pages",
}  # fmt: skip


def is_gitlab_ci(workflow: Workflow) -> bool:
    """A GitLab CI file: named so, or without GitHub's ``jobs:`` and with a job that has a ``script``."""
    if workflow.path.rsplit("/", 1)[-1].endswith(("gitlab-ci.yml", "gitlab-ci.yaml")):
        return True
    if "jobs" in workflow.document:
        return False
    return any("script" in job for _, job in _jobs(workflow))


def _jobs(workflow: Workflow) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, job in workflow.document.items():
        if name not in _KEYWORDS and not name.startswith(".") and isinstance(job, dict):
            yield name, job


def _effective(workflow: Workflow, name: str, job: dict[str, Any], key: str) -> tuple[Route, Any]:
    default = workflow.document.get("default")
    if key in job:
        return (name, key), job[key]
    if isinstance(default, dict) and key in default:
        return ("default", key), default[key]
    return (key,), workflow.document.get(key)


def _lines(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [line for item in value for line in _lines(item)]
    return []


def _image(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("name")
    return value if isinstance(value, str) else None


def gitlab_unhashed_install(workflow: Workflow, base: Path | None = None) -> Iterator[Finding]:
    for name, job in _jobs(workflow):
        holds = [key for key in ("id_tokens", "secrets") if _effective(workflow, name, job, key)[1]]
        if not holds:
            continue
        what = "an OIDC token (id_tokens)" if "id_tokens" in holds else "CI secrets (secrets:)"
        for key in ("before_script", "script", "after_script"):
            route, value = _effective(workflow, name, job, key)
            for line in _lines(value):
                for item in unhashed_installs(line, base):
                    where = ".".join(map(str, route))
                    yield Finding(
                        RULE, "high", Location(workflow.path, workflow.line(route)),
                        f"job {name!r} holds {what} and runs `{item.command.strip()}` ({where}): "
                        f"{item.reason}; whoever controls that name on the index runs code next to it",
                        FIX,
                    )  # fmt: skip
        route, value = _effective(workflow, name, job, "image")
        if _image(value) is None:
            yield Finding(
                RULE, "high", Location(workflow.path, workflow.line((name,))),
                f"job {name!r} holds {what} and names no image: it runs in the runner's default image, "
                "which nothing pins",
                "set image: NAME:TAG@sha256:DIGEST on the job or under default:",
            )  # fmt: skip
        images = [(route, _image(value))]
        services_route, services = _effective(workflow, name, job, "services")
        listed = services if isinstance(services, list) else []
        images += [(services_route, _image(service)) for service in listed]
        for image_route, image in images:
            if image is not None and not DIGEST.search(image):
                yield Finding(
                    RULE, "high", Location(workflow.path, workflow.line(image_route)),
                    f"job {name!r} holds {what} and runs the image {image!r}, not pinned by digest",
                    "pin the image as NAME:TAG@sha256:DIGEST",
                )  # fmt: skip
