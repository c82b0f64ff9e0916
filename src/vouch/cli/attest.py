"""``vouch attest``: PEP 740 publish attestations in CI, from the job's ambient OIDC identity."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from vouch.provenance.attest import AttestReport


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "attest",
        help="write DIST.publish.attestation for each file, from the CI job's OIDC identity",
        description="In CI with an ambient OIDC credential (GitHub Actions with `id-token: write`, "
        "GitLab CI, Google Cloud, CircleCI), sign a PEP 740 publish attestation for each distribution with "
        "Sigstore, verify each against the expected publisher, then write DIST.publish.attestation "
        "(all or none; an existing one is never overwritten).",
    )
    parser.add_argument("dists", nargs="+", type=Path, metavar="DIST")
    parser.add_argument(
        "--publisher",
        metavar="SPEC",
        help="the expected publisher (default: [provenance] publisher in the policy)",
    )
    parser.add_argument("--policy", type=Path, metavar="FILE", help="vouch.toml or pyproject.toml")
    parser.add_argument("--staging", action="store_true", help="sign with Sigstore staging (for tests)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    # imported here so that `vouch --help` and the other commands start fast
    from vouch.provenance.attest import attest  # noqa: PLC0415
    from vouch.provenance.publisher import resolve_publisher  # noqa: PLC0415
    from vouch.trust import Trust  # noqa: PLC0415

    publisher = resolve_publisher(args.publisher, args.policy)
    with err.status("attesting", spinner="dots"):
        report = attest(args.dists, publisher, trust=Trust(staging=args.staging))
    if args.json:
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
