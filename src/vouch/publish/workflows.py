"""``vouch ci github|gitlab``: a hardened release workflow, from the templates beside this module.

The GitHub workflow: tags only, ``permissions: {}`` at the top and the least each job needs, every
action pinned to a full commit SHA, no persisted checkout credentials, no caches, and OIDC tokens
only in the two jobs that run no project code (Sigstore signing as CI, and the publish job in a
protected environment). It has no zizmor findings under the regular and pedantic personas.

Both install vouch only from the hash-pinned requirements file written beside them (see
``vouch.publish.requirements``); the GitLab pipeline's image is pinned by digest. The signing job
checks out that file alone (a sparse checkout), never the project.

The release managers' signed statements reach the check job as git notes on the tagged commit
(``refs/notes/vouch``, see ``vouch.sign.notes``): the job fetches that ref and runs ``vouch check
--git-notes``. Nothing is committed to hand them over, so the tagged commit stays the one every
statement names.
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
from vouch.host import Host
from vouch.publish.requirements import FILENAME, Resolver, compile_requirements, parse_requirements

TEMPLATES = {"github": "github-release.yml", "gitlab": "gitlab-release.yml"}
DEFAULT_PATHS = {"github": Path(".github/workflows/release.yml"), "gitlab": Path(".gitlab-ci.yml")}
# GitLab's job image, by digest: the Docker Hub python image (Debian bookworm, with git). Another
# Python needs --image NAME@sha256:DIGEST (`docker buildx imagetools inspect python:X.Y-bookworm`).
DEFAULT_IMAGES = {
    "3.11": "python:3.11-bookworm@sha256:b99029c95d3d37fb1e4e76d287f7984373dca77c665885986e31b2c95260c13c",
}
_DIGEST = re.compile(r"[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class WorkflowOptions:
    kind: str
    project: str
    python: str = "3.11"
    policy: str = "vouch.toml"
    environment: str = "pypi"
    tag_pattern: str = "v*"  # GitHub's glob for release tags; Django's tags are bare: "[0-9]*"
    vouch_version: str = __version__
    image: str | None = None  # GitLab: the job image pinned by digest (default: DEFAULT_IMAGES)


@dataclass(frozen=True)
class Written:
    workflow: Path | None  # None with lock_only
    requirements: Path
    wheel: Path | None


def project_name(directory: Path) -> str:
    pyproject = directory / "pyproject.toml"
    try:
        name = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["name"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(
            f"cannot read [project] name from {pyproject}: {exc}", hint="pass --project NAME"
        ) from exc
    return str(name)


def repository_path(path: Path) -> str:
    """``path`` as the workflow names it: relative to the repository root (the jobs' working folder)."""
    absolute = path.resolve()
    try:
        return absolute.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        parts = absolute.parts
        if len(parts) >= 3 and parts[-3:-1] == (".github", "workflows"):
            return "/".join(parts[-3:])
        return absolute.name


def _image(options: WorkflowOptions) -> str:
    image = options.image or DEFAULT_IMAGES.get(options.python)
    if image is None:
        raise UsageError(
            f"no default GitLab image for Python {options.python}",
            hint=f"pass --image python:{options.python}-bookworm@sha256:DIGEST (an image with git)",
        )
    if not _DIGEST.fullmatch(image):
        raise UsageError(f"image {image!r} is not pinned by digest", hint="use NAME:TAG@sha256:DIGEST")
    return image


def render(options: WorkflowOptions, requirements: str = FILENAME, local_wheels: tuple[str, ...] = ()) -> str:
    """The workflow text; ``requirements`` and ``local_wheels`` are paths from the repository root."""
    if options.kind not in TEMPLATES:
        raise UsageError(f"unknown CI {options.kind!r}: choose github or gitlab")
    plain = (options.project, options.python, options.policy, options.environment)
    for value in (*plain, requirements, *local_wheels):
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
        "@ENVIRONMENT@": options.environment,
        "@PROJECT@": options.project,
        "@TAG_PATTERN@": options.tag_pattern,
        "@REQUIREMENTS@": requirements,
        "@SPARSE@": "\n".join(" " * 12 + path.removeprefix("./") for path in (requirements, *local_wheels)),
        "@IMAGE@": _image(options) if options.kind == "gitlab" else "",
    }
    for token, value in substitutions.items():
        text = text.replace(token, value)
    return text


def _same(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def write_workflow(
    options: WorkflowOptions,
    out: Path | None,
    *,
    force: bool = False,
    requirements: Path | None = None,
    vouch_wheel: Path | None = None,
    lock_only: bool = False,
    resolver: Resolver | None = None,
    host: Host | None = None,
) -> Written:
    """Write the workflow and, beside it, the hash-pinned requirements file (and vouch's wheel).

    ``requirements``: an existing file to use as it is (checked); else it is resolved with uv,
    with vouch from PyPI or from ``vouch_wheel``. ``lock_only``: write only the requirements."""
    if options.kind not in TEMPLATES:
        raise UsageError(f"unknown CI {options.kind!r}: choose github or gitlab")
    render(options)  # refuses bad values before anything is resolved or written
    target = out or DEFAULT_PATHS[options.kind]
    if target.exists() and not force and not lock_only:
        raise UsageError(f"{target} exists already", hint="pass --force to replace it")
    if requirements is not None and vouch_wheel is not None:
        raise UsageError("pass --requirements FILE or --vouch-wheel WHEEL, not both")
    requirements_path = target.parent / FILENAME
    wheel_target = target.parent / vouch_wheel.name if vouch_wheel is not None else None
    if requirements is not None:
        try:
            text = requirements.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {requirements}: {exc}") from exc
    else:
        wheel_ref = "./" + repository_path(wheel_target) if wheel_target is not None else None
        text = compile_requirements(
            options.python, version=options.vouch_version, wheel=vouch_wheel, wheel_path=wheel_ref,
            resolver=resolver, host=host,
        )  # fmt: skip
    pins = parse_requirements(text, str(requirements or requirements_path))
    local = tuple(pin.spec for pin in pins if pin.spec.startswith("./"))
    workflow = None if lock_only else render(options, repository_path(requirements_path), local)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if vouch_wheel is not None and wheel_target is not None and not _same(vouch_wheel, wheel_target):
            write_bytes_atomic(wheel_target, vouch_wheel.read_bytes())
        if requirements is None or not _same(requirements, requirements_path):
            write_bytes_atomic(requirements_path, text.encode("utf-8"))
        if workflow is not None:
            write_bytes_atomic(target, workflow.encode("utf-8"))
    except OSError as exc:
        raise OutputError(f"cannot write beside {target}: {exc.strerror}") from exc
    return Written(None if lock_only else target, requirements_path, wheel_target)
