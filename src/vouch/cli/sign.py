"""``vouch sign``: sign the digests of a build record (or of artifacts) into the evidence file."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from vouch.cli.parser import add_command, handle, host_of
from vouch.errors import UsageError

if TYPE_CHECKING:
    from vouch.host import Host


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
    parser.add_argument("--git-note", action="store_true",
                        help="append to the note (refs/notes/vouch) of the statement's commit instead of "
                        "a file (and to --evidence FILE too when given)")  # fmt: skip
    parser.add_argument("--repo", type=Path, default=Path(), metavar="DIR",
                        help="--git-note: the git repository (default: .)")  # fmt: skip
    parser.add_argument("--push", metavar="REMOTE",
                        help="--git-note: then merge REMOTE's notes and push refs/notes/vouch")  # fmt: skip
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
    git_note: bool
    repo: Path
    push: str | None
    json: bool
    host: Host

    @property
    def record(self) -> Path | None:
        """The build or rebuild record, when that is what is signed."""
        return self.inputs[0] if len(self.inputs) == 1 and self.inputs[0].name.endswith(".json") else None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SignArgs:
        command = cls(tuple(args.inputs), args.key, args.role, args.source_commit, args.evidence,
                      args.git_note, args.repo, args.push, args.json, host_of(args))  # fmt: skip
        if command.record is not None and command.source_commit is not None:
            raise UsageError("--source-commit applies to artifacts: a build record names its own commit")
        if command.push is not None and not command.git_note:
            raise UsageError("--push publishes the git note: pass --git-note too")
        return command


def run(command: SignArgs, out: Console, err: Console) -> int:
    from vouch.policy.check import shown_keyid  # noqa: PLC0415 - keep `vouch --help` fast
    from vouch.sign.evidence import (  # noqa: PLC0415
        default_evidence,
        dumps,
        sign,
        signer_from_keyspec,
        statement_from_artifacts,
        statement_from_record,
    )
    from vouch.sign.notes import NOTES_REF, append_note, push_notes, resolve_commit  # noqa: PLC0415

    inputs = list(command.inputs)
    if command.record is not None:
        statement = statement_from_record(command.record, command.role)
    else:
        statement = statement_from_artifacts(inputs, command.source_commit, command.role)
    evidence = command.evidence
    if evidence is None and not command.git_note:
        evidence = default_evidence(inputs[0].parent, sorted(statement.subjects))
    signer = signer_from_keyspec(command.key, host=command.host)
    if command.git_note:
        resolve_commit(command.repo, statement.commit, host=command.host)  # before anyone is asked to sign
    with err.status("signing (a hardware key may want a touch)", spinner="dots"):
        signed = sign(statement, signer, evidence)
    noted = None
    if command.git_note:
        noted = append_note(signed, command.repo, host=command.host)
        if command.push is not None:
            push_notes(command.repo, command.push, host=command.host)
    if command.json:
        print(dumps(signed))
        return 0
    out.print(f"signed with {shown_keyid(signed.keyid)} as {statement.role or 'no role'}:", markup=False)
    for name, digest in sorted(statement.subjects.items()):
        out.print(f"  {digest}  {name}", markup=False)
    out.print(f"source commit {statement.commit}", markup=False)
    if signed.evidence is not None:
        out.print(f"appended to {signed.evidence}", markup=False)
    if noted is not None:
        pushed = f", pushed to {command.push}" if command.push is not None else ""
        out.print(f"appended to the note {NOTES_REF} of {noted}{pushed}", markup=False)
    return 0
