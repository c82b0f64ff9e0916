"""``vouch ci github|gitlab``: a hardened release workflow, from the templates beside this module.

The GitHub workflow: tags only, ``permissions: {}`` at the top and the least each job needs, every
action pinned to a full commit SHA, no persisted checkout credentials, no caches, and OIDC tokens
only in the two jobs that run no project code (Sigstore signing as CI, and the publish job in a
protected environment). It has no zizmor findings under the regular and pedantic personas.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from vouch import __version__
from vouch.atomic import write_bytes_atomic
from vouch.errors import OutputError, UsageError

TEMPLATES = {"github": "github-release.yml", "gitlab": "gitlab-release.yml"}
DEFAULT_PATHS = {"github": Path(".github/workflows/release.yml"), "gitlab": Path(".gitlab-ci.yml")}


@dataclass(frozen=True)
class WorkflowOptions:
    kind: str
    project: str
    python: str = "3.11"
    policy: str = "vouch.toml"
    evidence_dir: str = "release-evidence"
    environment: str = "pypi"
    tag_pattern: str = "v*"  # GitHub's glob for release tags; Django's tags are bare: "[0-9]*"
    vouch_version: str = __version__


def project_name(directory: Path) -> str:
    pyproject = directory / "pyproject.toml"
    try:
        name = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["name"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(
            f"cannot read [project] name from {pyproject}: {exc}", hint="pass --project NAME"
        ) from exc
    return str(name)


def render(options: WorkflowOptions) -> str:
    if options.kind not in TEMPLATES:
        raise UsageError(f"unknown CI {options.kind!r}: choose github or gitlab")
    for value in (options.project, options.python, options.policy, options.evidence_dir, options.environment):
        if not value or any(c in value for c in "\n\r\"'$`{}\\ "):
            raise UsageError(f"{value!r} cannot go into a workflow: use plain names and paths")
    if not re.fullmatch(r"[A-Za-z0-9_.*?\[\]/+-]+", options.tag_pattern):
        raise UsageError(
            f"tag pattern {options.tag_pattern!r}: use letters, digits and the glob characters * ? [ ]"
        )
    text = resources.files("vouch.publish").joinpath("templates", TEMPLATES[options.kind]).read_text("utf-8")
    substitutions = {
        "@VOUCH_VERSION@": options.vouch_version,
        "@PYTHON@": options.python,
        "@POLICY@": options.policy,
        "@EVIDENCE_DIR@": options.evidence_dir,
        "@ENVIRONMENT@": options.environment,
        "@PROJECT@": options.project,
        "@TAG_PATTERN@": options.tag_pattern,
    }
    for token, value in substitutions.items():
        text = text.replace(token, value)
    return text


def write_workflow(options: WorkflowOptions, out: Path | None, *, force: bool = False) -> Path:
    target = out or DEFAULT_PATHS[options.kind]
    if target.exists() and not force:
        raise UsageError(f"{target} exists already", hint="pass --force to replace it")
    text = render(options)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(target, text.encode("utf-8"))
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror}") from exc
    return target
