"""``vouch ci github`` and ``vouch ci gitlab``: write a hardened release workflow."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "ci",
        help="write a release workflow: build, independent rebuild, CI signatures, check, publish",
    )
    parser.add_argument("kind", choices=["github", "gitlab"])
    parser.add_argument("--out", type=Path, metavar="PATH",
                        help="default: .github/workflows/release.yml or .gitlab-ci.yml")  # fmt: skip
    parser.add_argument("--project", help="the PyPI project (default: [project] name of pyproject.toml)")
    parser.add_argument("--python", default="3.11", help="the Python of the build (default: 3.11)")
    parser.add_argument("--policy", default="vouch.toml", help="the policy file in the repository")
    parser.add_argument("--environment", default="pypi", help="the protected deployment environment")
    parser.add_argument("--tag-pattern", default="v*",
                        help='the release tags (GitHub glob; default "v*"; Django: "[0-9]*")')  # fmt: skip
    parser.add_argument("--image", metavar="NAME@sha256:DIGEST",
                        help="GitLab: the job image by digest (built in for Python 3.11)")  # fmt: skip
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
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    from vouch.publish.workflows import WorkflowOptions, project_name, write_workflow  # noqa: PLC0415

    options = WorkflowOptions(
        kind=args.kind,
        project=args.project or project_name(Path()),
        python=args.python,
        policy=args.policy,
        environment=args.environment,
        tag_pattern=args.tag_pattern,
        image=args.image,
    )
    written = write_workflow(
        options, args.out, force=args.force, requirements=args.requirements, vouch_wheel=args.vouch_wheel,
        lock_only=args.lock_only,
    )  # fmt: skip
    if args.json:
        print(json.dumps({
            "written": str(written.workflow) if written.workflow else None,
            "requirements": str(written.requirements),
            "wheel": str(written.wheel) if written.wheel else None,
            "kind": args.kind,
        }))  # fmt: skip
        return 0
    if written.workflow is not None:
        out.print(f"wrote {written.workflow}: build, rebuild, sign (Sigstore), check, publish "
                  f"({args.environment})", markup=False)  # fmt: skip
    out.print(f"wrote {written.requirements}: vouch and its dependencies, pinned by sha256", markup=False)
    if written.wheel is not None:
        out.print(f"wrote {written.wheel}: vouch's wheel, pinned by sha256 in the requirements", markup=False)
    return 0
