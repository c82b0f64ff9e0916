"""``vouch sign``: sign the digests of a build record (or of artifacts) into the evidence file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sign",
        help="sign a statement over a release's digests and append it to the evidence file",
        description="Sign an in-toto statement naming the artifacts (file + sha256) and the source "
        "commit: from a build or rebuild record you produced, or from artifacts with --source-commit.",
    )
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
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    from vouch.errors import UsageError  # noqa: PLC0415
    from vouch.host import Host  # noqa: PLC0415
    from vouch.sign.evidence import (  # noqa: PLC0415 - keep `vouch --help` fast
        default_evidence,
        dumps,
        sign,
        signer_from_keyspec,
        statement_from_artifacts,
        statement_from_record,
    )
    from vouch.sign.notes import NOTES_REF, append_note, push_notes, resolve_commit  # noqa: PLC0415

    inputs: list[Path] = args.inputs
    if len(inputs) == 1 and inputs[0].name.endswith(".json"):
        statement = statement_from_record(inputs[0], args.role)
    else:
        statement = statement_from_artifacts(inputs, args.source_commit, args.role)
    if args.push is not None and not args.git_note:
        raise UsageError("--push publishes the git note: pass --git-note too")
    evidence = args.evidence
    if evidence is None and not args.git_note:
        evidence = default_evidence(inputs[0].parent, sorted(statement.subjects))
    signer = signer_from_keyspec(args.key)
    if args.git_note:
        resolve_commit(args.repo, statement.commit, host=Host())  # before anyone is asked to sign
    with err.status("signing (a hardware key may want a touch)", spinner="dots"):
        signed = sign(statement, signer, evidence)
    noted = None
    if args.git_note:
        noted = append_note(signed, args.repo)
        if args.push is not None:
            push_notes(args.repo, args.push)
    if args.json:
        print(dumps(signed))
        return 0
    out.print(f"signed with {signed.keyid} as {statement.role or 'no role'}:", markup=False)
    for name, digest in sorted(statement.subjects.items()):
        out.print(f"  {digest}  {name}", markup=False)
    out.print(f"source commit {statement.commit}", markup=False)
    if signed.evidence is not None:
        out.print(f"appended to {signed.evidence}", markup=False)
    if noted is not None:
        pushed = f", pushed to {args.push}" if args.push is not None else ""
        out.print(f"appended to the note {NOTES_REF} of {noted}{pushed}", markup=False)
    return 0
