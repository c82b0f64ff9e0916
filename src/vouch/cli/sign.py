"""``vouch sign``: sign the digests of a build record (or of artifacts) into the evidence file."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from vouch.cli.parser import add_command, handle
from vouch.errors import UsageError


def add_parser(subparsers: Any) -> None:
    parser = add_command(
        subparsers, "sign",
        summary="sign a statement over a release's digests and append it to the evidence file",
        description="Sign an in-toto statement naming the artifacts (file + sha256) and the source "
        "commit: from a build or rebuild record you produced, or from artifacts with --source-commit.",
        examples=["vouch sign dist/demo-1.0.buildinfo.json --key ssh:~/.ssh/id_ed25519 --role releaser",
                  "vouch sign dist/demo-1.0.tar.gz dist/demo-1.0-py3-none-any.whl --key gpg:FINGERPRINT "
                  "--source-commit COMMIT"],
    )  # fmt: skip
    parser.add_argument("inputs", nargs="+", type=Path, metavar="RECORD | ARTIFACT")
    parser.add_argument(
        "--key", required=True, metavar="KEYSPEC",
        help="ssh:PATH (a private key, or a .pub held by ssh-agent), gpg:FINGERPRINT, or sigstore (CI)",
    )  # fmt: skip
    parser.add_argument("--role", help="the role you sign in (releaser, ci, ...)")
    parser.add_argument("--source-commit", metavar="SHA", help="the commit the artifacts were built from")
    parser.add_argument(
        "--evidence", type=Path, metavar="FILE",
        help="the evidence file (default: NAME-VERSION.intoto.jsonl beside the inputs)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true")
    handle(parser, SignArgs, run)


@dataclass(frozen=True)
class SignArgs:
    """`vouch sign RECORD | ARTIFACT...`."""

    inputs: tuple[Path, ...]
    key: str
    role: str | None
    source_commit: str | None
    evidence: Path | None
    json: bool

    @property
    def record(self) -> Path | None:
        """The build or rebuild record, when that is what is signed."""
        return self.inputs[0] if len(self.inputs) == 1 and self.inputs[0].name.endswith(".json") else None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SignArgs:
        command = cls(tuple(args.inputs), args.key, args.role, args.source_commit, args.evidence, args.json)
        if command.record is not None and command.source_commit is not None:
            raise UsageError("--source-commit applies to artifacts: a build record names its own commit")
        return command


def run(command: SignArgs, out: Console, err: Console) -> int:
    from vouch.sign.evidence import (  # noqa: PLC0415 - keep `vouch --help` fast
        default_evidence,
        dumps,
        sign,
        signer_from_keyspec,
        statement_from_artifacts,
        statement_from_record,
    )

    inputs = list(command.inputs)
    if command.record is not None:
        statement = statement_from_record(command.record, command.role)
    else:
        statement = statement_from_artifacts(inputs, command.source_commit, command.role)
    evidence = command.evidence or default_evidence(inputs[0].parent, sorted(statement.subjects))
    signer = signer_from_keyspec(command.key)
    with err.status("signing (a hardware key may want a touch)", spinner="dots"):
        signed = sign(statement, signer, evidence)
    if command.json:
        print(dumps(signed))
        return 0
    out.print(f"signed with {signed.keyid} as {statement.role or 'no role'}:", markup=False)
    for name, digest in sorted(statement.subjects.items()):
        out.print(f"  {digest}  {name}", markup=False)
    out.print(f"source commit {statement.commit}", markup=False)
    out.print(f"appended to {signed.evidence}", markup=False)
    return 0
