"""``vouch ci github`` and ``vouch ci gitlab``: write a hardened release workflow."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from vouch.cli.parser import add_command, add_verbs, handle, host_of, verb

if TYPE_CHECKING:
    from vouch.host import Host
    from vouch.publish.workflows import WorkflowOptions


def add_parser(subparsers: Any) -> None:
    parser = add_command(
        subparsers, "ci",
        summary="write a release workflow: build, independent rebuild, CI signatures, check, publish",
        description="Write a hardened release workflow for GitHub Actions or GitLab CI: build, an "
        "independent rebuild, CI signatures (Sigstore), vouch check against the policy and the "
        "release managers' evidence, then a gated publish from a protected environment. vouch is "
        "installed from a requirements file pinned by sha256, written beside the workflow.",
        examples=["vouch ci github --tag-pattern '[0-9]*'", "vouch ci gitlab --python 3.11 --force"],
    )  # fmt: skip
    verbs = add_verbs(parser)
    github = verb(
        parser, verbs, "github", scope="`vouch ci github`",
        summary="write .github/workflows/release.yml",
        description="Write a GitHub Actions release workflow, run on release tags (--tag-pattern), "
        "publishing from a protected deployment environment with trusted publishing.",
        examples=["vouch ci github", "vouch ci github --project django --tag-pattern '[0-9]*' --force"],
    )  # fmt: skip
    _add_common(github, ".github/workflows/release.yml")
    github.add_argument("--tag-pattern", default="v*",
                        help='the release tags, a GitHub glob (default "v*"; Django: "[0-9]*")')  # fmt: skip
    handle(github, CiArgs, run)
    gitlab = verb(
        parser, verbs, "gitlab", scope="`vouch ci gitlab`",
        summary="write .gitlab-ci.yml",
        description="Write a GitLab CI release pipeline, run on tags, its job image pinned by digest.",
        examples=["vouch ci gitlab", "vouch ci gitlab --python 3.12 --image python:3.12@sha256:DIGEST"],
    )  # fmt: skip
    _add_common(gitlab, ".gitlab-ci.yml")
    gitlab.add_argument("--image", metavar="NAME@sha256:DIGEST",
                        help="the job image by digest (built in for Python 3.11)")  # fmt: skip
    handle(gitlab, CiArgs, run)


def _add_common(parser: argparse.ArgumentParser, default_out: str) -> None:
    """The options of both CI systems."""
    parser.add_argument("--out", type=Path, metavar="PATH", help=f"default: {default_out}")
    parser.add_argument("--project", help="the PyPI project (default: [project] name of pyproject.toml)")
    parser.add_argument("--python", default="3.11", help="the Python of the build (default: 3.11)")
    parser.add_argument("--policy", default="vouch.toml", help="the policy file in the repository")
    parser.add_argument("--environment", default="pypi", help="the protected deployment environment")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--requirements", type=Path, metavar="FILE",
                        help="use this hash-pinned requirements file for vouch instead of resolving "
                        "one with uv (offline)")  # fmt: skip
    source.add_argument("--vouch-wheel", type=Path, metavar="WHEEL",
                        help="install vouch from this wheel (made by `vouch build` from vouch's tag), "
                        "copied beside the workflow, pinned by sha256 (default: vouch-release "
                        "from PyPI)")  # fmt: skip
    parser.add_argument("--lock-only", action="store_true",
                        help="only (re)write the requirements file beside the workflow")  # fmt: skip
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    parser.add_argument("--json", action="store_true", help="print what was written as JSON")


@dataclass(frozen=True)
class CiArgs:
    """`vouch ci github|gitlab`: the workflow's options, and where and how to write it."""

    options: WorkflowOptions
    out: Path | None
    force: bool
    requirements: Path | None
    vouch_wheel: Path | None
    lock_only: bool
    json: bool
    host: Host

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> CiArgs:
        from vouch.publish.workflows import WorkflowOptions, project_name  # noqa: PLC0415

        kind: str = args.verb
        options = WorkflowOptions(
            kind=kind,
            project=args.project or project_name(Path()),
            python=args.python,
            policy=args.policy,
            environment=args.environment,
            **({"tag_pattern": args.tag_pattern} if kind == "github" else {"image": args.image}),
        )
        return cls(options, args.out, args.force, args.requirements, args.vouch_wheel, args.lock_only,
                   args.json, host_of(args))  # fmt: skip


def run(command: CiArgs, out: Console, err: Console) -> int:
    from vouch.publish.workflows import write_workflow  # noqa: PLC0415

    written = write_workflow(
        command.options, command.out, force=command.force, requirements=command.requirements,
        vouch_wheel=command.vouch_wheel, lock_only=command.lock_only, host=command.host,
    )  # fmt: skip
    if command.json:
        print(json.dumps({
            "written": str(written.workflow) if written.workflow else None,
            "requirements": str(written.requirements),
            "wheel": str(written.wheel) if written.wheel else None,
            "kind": command.options.kind,
        }))  # fmt: skip
        return 0
    if written.workflow is not None:
        out.print(f"wrote {written.workflow}: build, rebuild, sign (Sigstore), check, publish "
                  f"({command.options.environment})", markup=False)  # fmt: skip
    out.print(f"wrote {written.requirements}: vouch and its dependencies, pinned by sha256", markup=False)
    if written.wheel is not None:
        out.print(f"wrote {written.wheel}: vouch's wheel, pinned by sha256 in the requirements", markup=False)
    return 0
