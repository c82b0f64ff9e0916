"""``vouch doctor``: the releaser's machine against the policy's baseline; read-only, no root."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from vouch.cli.parser import add_command, handle, host_of

if TYPE_CHECKING:
    from vouch.doctor.report import DoctorReport
    from vouch.host import Host

_STYLE = {"pass": "green", "fail": "bold red", "unknown": "yellow"}


def add_parser(subparsers: Any) -> None:
    parser = add_command(
        subparsers, "doctor",
        summary="check this machine against the release baseline (OS, updates, disk encryption, keys)",
        description="Check the releaser's machine against [baseline] of the policy (or the defaults). "
        "Read-only, no root. Each check ends pass, fail or unknown. Exit 0 when nothing failed, 1 otherwise.",
        examples=["vouch doctor", "vouch doctor --sign ssh:~/.ssh/id_ed25519 --evidence doctor.jsonl"],
    )  # fmt: skip
    parser.add_argument("--policy", type=Path, metavar="FILE", help="vouch.toml or pyproject.toml")
    parser.add_argument("--sign", metavar="KEYSPEC", help="sign the result: ssh:PATH or gpg:FINGERPRINT")
    parser.add_argument("--evidence", type=Path, metavar="FILE",
                        help=f"with --sign: where the signed result goes (default: {_EVIDENCE})")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    handle(parser, DoctorArgs, run)


_EVIDENCE = Path("vouch-doctor.intoto.jsonl")


@dataclass(frozen=True)
class DoctorArgs:
    """`vouch doctor`."""

    policy: Path | None
    sign: str | None
    evidence: Path
    json: bool
    host: Host

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> DoctorArgs:
        from vouch.errors import UsageError  # noqa: PLC0415

        if args.evidence is not None and args.sign is None:
            raise UsageError("--evidence is where --sign appends the signed result: pass --sign KEYSPEC too")
        return cls(args.policy, args.sign, args.evidence or _EVIDENCE, args.json, host_of(args))


def run(command: DoctorArgs, out: Console, err: Console) -> int:
    from vouch.doctor.machine import Machine  # noqa: PLC0415
    from vouch.doctor.report import load_baseline, run_doctor, write_signed  # noqa: PLC0415
    from vouch.errors import UsageError  # noqa: PLC0415
    from vouch.sign.evidence import signer_from_keyspec  # noqa: PLC0415

    signer = None
    if command.sign is not None:
        signer = signer_from_keyspec(command.sign, host=command.host)
        if signer is None:
            raise UsageError("doctor --sign needs ssh:PATH or gpg:FINGERPRINT (Sigstore needs CI's identity)")
    report = run_doctor(Machine(run=command.host.run), load_baseline(command.policy))
    if signer is not None:
        write_signed(report, signer, command.evidence)
    if command.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        render(report, out)
        if signer is not None:
            out.print(f"signed statement appended to {command.evidence}", markup=False)
    return 1 if report.failed else 0


def render(report: DoctorReport, out: Console) -> None:
    for check in report.checks:
        out.print(
            Text.assemble(
                (f"{check.status:<8}", _STYLE[check.status]), (check.id, "bold"), f"  {check.detail}"
            )
        )
        if check.fix and check.status != "pass":
            out.print(f"          fix: {check.fix}", markup=False, style="dim")
    failed = len(report.failed)
    out.print(
        Text.assemble(("doctor: ", "bold"), (f"{failed} failed", "bold red" if failed else "bold green"))
    )
