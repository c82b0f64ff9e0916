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
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    from vouch.policy.check import shown_keyid  # noqa: PLC0415 - keep `vouch --help` fast
    from vouch.sign.evidence import (  # noqa: PLC0415
        default_evidence,
        dumps,
        sign,
        signer_from_keyspec,
        statement_from_artifacts,
        statement_from_record,
    )

    inputs: list[Path] = args.inputs
    if len(inputs) == 1 and inputs[0].name.endswith(".json"):
        statement = statement_from_record(inputs[0], args.role)
    else:
        statement = statement_from_artifacts(inputs, args.source_commit, args.role)
    evidence = args.evidence or default_evidence(inputs[0].parent, sorted(statement.subjects))
    signer = signer_from_keyspec(args.key)
    with err.status("signing (a hardware key may want a touch)", spinner="dots"):
        signed = sign(statement, signer, evidence)
    if args.json:
        print(dumps(signed))
        return 0
    out.print(f"signed with {shown_keyid(signed.keyid)} as {statement.role or 'no role'}:", markup=False)
    for name, digest in sorted(statement.subjects.items()):
        out.print(f"  {digest}  {name}", markup=False)
    out.print(f"source commit {statement.commit}", markup=False)
    out.print(f"appended to {signed.evidence}", markup=False)
    return 0
