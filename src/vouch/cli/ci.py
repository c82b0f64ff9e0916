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
    parser.add_argument("--evidence-dir", default="release-evidence",
                        help="where release managers commit their signed statements")  # fmt: skip
    parser.add_argument("--environment", default="pypi", help="the protected deployment environment")
    parser.add_argument("--tag-pattern", default="v*",
                        help='the release tags (GitHub glob; default "v*"; Django: "[0-9]*")')  # fmt: skip
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
        evidence_dir=args.evidence_dir,
        environment=args.environment,
        tag_pattern=args.tag_pattern,
    )
    path = write_workflow(options, args.out, force=args.force)
    if args.json:
        print(json.dumps({"written": str(path), "kind": args.kind}))
    else:
        out.print(f"wrote {path}: build, rebuild, sign (Sigstore), check, publish ({args.environment})",
                  markup=False)  # fmt: skip
    return 0
