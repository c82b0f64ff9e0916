"""``vouch check``: the k-of-n gate over a release's artifacts."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from vouch.policy.check import CheckReport
    from vouch.policy.model import Policy
    from vouch.trust import Trust


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "check",
        help="pass only when k distinct trusted signers vouched for every artifact",
        description="Verify the evidence against the policy: exit 0 only when, for every artifact, "
        "at least `threshold` distinct trusted signers signed exactly its name and sha256, all "
        "name one source commit, and every role minimum is met.",
    )
    parser.add_argument("artifacts", nargs="+", type=Path, metavar="ARTIFACT")
    parser.add_argument(
        "--evidence", type=Path, action="append", metavar="FILE",
        help="evidence files (default: NAME-VERSION.intoto.jsonl beside the artifacts)",
    )  # fmt: skip
    parser.add_argument("--policy", type=Path, metavar="FILE", help="vouch.toml or pyproject.toml")
    parser.add_argument("--vsa", type=Path, metavar="OUT", help="write a SLSA Verification Summary")
    add_trust_options(parser)
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(run=run)


def add_trust_options(parser: argparse.ArgumentParser) -> None:
    """``--staging``/``--trusted-root FILE``: the Sigstore root that evidence bundles must chain to."""
    parser.add_argument("--staging", action="store_true", help="Sigstore bundles made with Sigstore staging")
    parser.add_argument("--trusted-root", type=Path, metavar="FILE",
                        help="Sigstore bundles: use this trusted_root.json, not sigstore's own")  # fmt: skip


def sigstore_evidence(trust: Trust) -> Callable[[dict[str, Any], Policy], tuple[set[str], bytes]]:
    """The check's verifier of Sigstore bundles under ``trust``; sigstore (slow to import) is loaded
    only when the evidence holds a bundle."""

    def verify(document: dict[str, Any], policy: Policy) -> tuple[set[str], bytes]:
        from vouch.policy.sigstore import sigstore_bundle_verifier  # noqa: PLC0415

        return sigstore_bundle_verifier(document, policy, trust)

    return verify


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    # imported here so that `vouch --help` and the other commands start fast
    from vouch.atomic import write_json_atomic  # noqa: PLC0415
    from vouch.errors import OutputError  # noqa: PLC0415
    from vouch.policy.check import check  # noqa: PLC0415
    from vouch.policy.model import load_policy  # noqa: PLC0415
    from vouch.policy.vsa import verification_summary  # noqa: PLC0415
    from vouch.sign.evidence import default_evidence  # noqa: PLC0415
    from vouch.trust import Trust  # noqa: PLC0415

    trust = Trust(staging=args.staging, pinned=args.trusted_root)
    policy = load_policy(args.policy)
    for warning in policy.warnings:
        err.print(f"warning: {warning}", markup=False)
    artifacts: list[Path] = args.artifacts
    evidence = args.evidence or [default_evidence(artifacts[0].parent, [p.name for p in artifacts])]
    report = check(artifacts, evidence, policy, bundle_verifier=sigstore_evidence(trust))
    if args.vsa is not None:
        try:
            write_json_atomic(args.vsa, verification_summary(report))
        except OSError as exc:
            raise OutputError(f"cannot write {args.vsa}: {exc.strerror}") from exc
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        render(report, out)
    return 0 if report.passed else 1


def render(report: CheckReport, out: Console) -> None:
    policy = report.policy
    out.print(f"policy {policy.path}: {policy.threshold} of {len(policy.names)} signers"
              + "".join(f", {role} >= {n}" for role, n in policy.require.items()), markup=False)  # fmt: skip
    for artifact in report.artifacts:
        style = "green" if artifact.passed else "red"
        out.print(Text.assemble((f"{'passed' if artifact.passed else 'FAILED':<7}", f"bold {style}"),
                                f" {artifact.filename}  {artifact.sha256}"))  # fmt: skip
        out.print(f"    vouched by: {', '.join(sorted(artifact.vouched_by)) or 'nobody'}", markup=False)
        for missing in artifact.missing:
            out.print(f"    missing: {missing}", markup=False)
        for conflict in artifact.conflicts:
            out.print(Text.assemble(("    CONFLICT: ", "bold red"), conflict))
    for problem in report.problems:
        out.print(Text.assemble(("problem: ", "bold red"), problem))
    for rejection in report.rejected:
        who = f" ({rejection.signer})" if rejection.signer else ""
        out.print(f"rejected {rejection.source}{who}: {rejection.reason}", markup=False)
    verdict = "PASSED" if report.passed else "FAILED"
    out.print(Text.assemble(("check: ", "bold"), (verdict, "bold green" if report.passed else "bold red")))
