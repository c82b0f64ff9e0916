"""``vouch check``: the k-of-n gate over a release's artifacts."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from vouch.cli.parser import add_command, existing, handle, host_of

if TYPE_CHECKING:
    from vouch.host import Host
    from vouch.policy.check import CheckReport
    from vouch.policy.model import Policy
    from vouch.trust import Trust


def add_parser(subparsers: Any) -> None:
    parser = add_command(
        subparsers, "check",
        summary="pass only when k distinct trusted signers vouched for every artifact",
        description="Verify the evidence against the policy: exit 0 only when, for every artifact, "
        "at least `threshold` distinct trusted signers signed exactly its name and sha256, all "
        "name one source commit, and every role minimum is met.",
        examples=["vouch check dist/demo-1.0.tar.gz dist/demo-1.0-py3-none-any.whl",
                  "vouch check dist/* --evidence evidence/demo-1.0.intoto.jsonl --vsa demo-1.0.vsa.json",
                  "vouch check dist/* --git-notes --rev v1.0  # the release managers' notes on the tag"],
    )  # fmt: skip
    parser.add_argument("artifacts", nargs="+", type=Path, metavar="ARTIFACT")
    parser.add_argument(
        "--evidence", type=Path, action="append", metavar="FILE",
        help="evidence files (default: NAME-VERSION.intoto.jsonl beside the artifacts)",
    )  # fmt: skip
    add_notes_options(parser)
    parser.add_argument("--policy", type=Path, metavar="FILE", help="vouch.toml or pyproject.toml")
    parser.add_argument("--vsa", type=Path, metavar="OUT", help="write a SLSA Verification Summary")
    add_trust_options(parser)
    parser.add_argument("--json", action="store_true")
    handle(parser, CheckArgs, run)


@dataclass(frozen=True)
class CheckArgs:
    """`vouch check ARTIFACT...`."""

    artifacts: tuple[Path, ...]
    evidence: tuple[Path, ...]
    notes: tuple[Path, str] | None  # (repository, revision) whose refs/notes/vouch note is evidence too
    policy: Path | None
    vsa: Path | None
    trust: Trust
    json: bool
    host: Host

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> CheckArgs:
        from vouch.sign.evidence import default_evidence  # noqa: PLC0415
        from vouch.trust import Trust  # noqa: PLC0415

        artifacts = [existing(path, "artifact") for path in args.artifacts]
        notes = notes_of(args)
        evidence = args.evidence or (
            [] if notes else [default_evidence(artifacts[0].parent, [p.name for p in artifacts])]
        )
        trust = Trust(staging=args.staging, pinned=args.trusted_root)
        return cls(tuple(artifacts), tuple(evidence), notes, args.policy, args.vsa, trust, args.json,
                   host_of(args))  # fmt: skip


def add_notes_options(parser: argparse.ArgumentParser) -> None:
    """``--git-notes [--repo DIR] [--rev REV]``: the release managers' statements as git notes."""
    parser.add_argument("--git-notes", action="store_true",
                        help="also read the note (refs/notes/vouch) of --rev's commit")  # fmt: skip
    parser.add_argument("--repo", type=Path, metavar="DIR",
                        help="--git-notes: the git repository (default: .)")  # fmt: skip
    parser.add_argument("--rev", metavar="REV",
                        help="--git-notes: the release's tag or commit (default: HEAD)")  # fmt: skip


def notes_of(args: argparse.Namespace) -> tuple[Path, str] | None:
    """(repository, revision) whose ``refs/notes/vouch`` note is evidence too, or None."""
    from vouch.errors import UsageError  # noqa: PLC0415

    if not args.git_notes and (args.repo is not None or args.rev is not None):
        raise UsageError("--repo and --rev go with --git-notes")
    return (args.repo or Path(), args.rev or "HEAD") if args.git_notes else None


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


def run(command: CheckArgs, out: Console, err: Console) -> int:
    # imported here so that `vouch --help` and the other commands start fast
    from vouch.atomic import write_json_atomic  # noqa: PLC0415
    from vouch.errors import OutputError  # noqa: PLC0415
    from vouch.policy.check import check  # noqa: PLC0415
    from vouch.policy.model import load_policy  # noqa: PLC0415
    from vouch.policy.vsa import verification_summary  # noqa: PLC0415
    from vouch.sign.notes import read_note  # noqa: PLC0415

    policy = load_policy(command.policy, host=command.host)
    for warning in policy.warnings:
        err.print(f"warning: {warning}", markup=False)
    verifier = sigstore_evidence(command.trust)
    lines = read_note(*command.notes, host=command.host)[1] if command.notes else []
    report = check(command.artifacts, command.evidence, policy, bundle_verifier=verifier, lines=lines)
    if command.vsa is not None:
        try:
            write_json_atomic(command.vsa, verification_summary(report))
        except OSError as exc:
            raise OutputError(f"cannot write {command.vsa}: {exc.strerror}") from exc
    if command.json:
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
