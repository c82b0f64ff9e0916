"""``vouch attest``: PEP 740 publish attestations in CI, from the job's ambient OIDC identity."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from vouch.cli.parser import add_command, handle

if TYPE_CHECKING:
    from vouch.provenance.attest import AttestReport
    from vouch.provenance.publisher import ExpectedPublisher


def add_parser(subparsers: Any) -> None:
    parser = add_command(
        subparsers, "attest",
        summary="write DIST.publish.attestation for each file, from the CI job's OIDC identity",
        description="In CI with an ambient OIDC credential (GitHub Actions with `id-token: write`, "
        "GitLab CI, Google Cloud, CircleCI), sign a PEP 740 publish attestation for each distribution with "
        "Sigstore, verify each against the expected publisher, then write DIST.publish.attestation "
        "(all or none; an existing one is never overwritten).",
        examples=["vouch attest dist/demo-1.0.tar.gz dist/demo-1.0-py3-none-any.whl",
                  "vouch attest dist/* --publisher github:demo/demo/release.yml@pypi --json"],
    )  # fmt: skip
    parser.add_argument("dists", nargs="+", type=Path, metavar="DIST", help="the sdist and wheels")
    parser.add_argument("--publisher", metavar="SPEC",
                        help="the expected publisher (default: the policy's [provenance])")  # fmt: skip
    parser.add_argument("--policy", type=Path, metavar="FILE", help="vouch.toml or pyproject.toml")
    parser.add_argument("--staging", action="store_true", help="sign with Sigstore staging (for tests)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    handle(parser, AttestArgs, run)


@dataclass(frozen=True)
class AttestArgs:
    """`vouch attest DIST...`."""

    dists: tuple[Path, ...]
    publisher: ExpectedPublisher
    staging: bool
    json: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> AttestArgs:
        from vouch.provenance.publisher import resolve_publisher  # noqa: PLC0415

        return cls(tuple(args.dists), resolve_publisher(args.publisher, args.policy), args.staging, args.json)


def run(command: AttestArgs, out: Console, err: Console) -> int:
    # imported here so that `vouch --help` and the other commands start fast
    from vouch.provenance.attest import attest  # noqa: PLC0415
    from vouch.trust import Trust  # noqa: PLC0415

    with err.status("attesting", spinner="dots"):
        report = attest(list(command.dists), command.publisher, trust=Trust(staging=command.staging))
    if command.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        render(report, out)
    return 0


def render(report: AttestReport, out: Console) -> None:
    out.print(f"expected publisher {report.publisher.spec}, trust root {report.trust_root}", markup=False)
    for item in report.attested:
        out.print(Text.assemble(("attested ", "bold green"), f"{item.dist.name}  {item.sha256}"))
        out.print(f"    {item.attestation} (signed by {item.signer}, verified)", markup=False)
    for note in report.notes:
        out.print(f"    note: {note}", style="dim", markup=False)
