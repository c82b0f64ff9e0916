"""``vouch policy VERB``: show or edit the trust policy, one function per verb.

Each verb is an ``add_<verb>(parent, verbs)`` function in :data:`VERBS` that adds its parser
(description, arguments, examples), and a frozen dataclass with ``from_args`` and a ``run``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from vouch.cli.parser import VouchParser, add_command, add_verbs, handle, verb

_POLICY_HELP = "vouch.toml or pyproject.toml (default: the one in the current directory)"


def add_parser(subparsers: Any) -> None:
    parser = add_command(
        subparsers, "policy",
        summary="show or edit the trust policy",
        description="Show the effective trust policy, or edit it keeping the file's comments and layout.",
        examples=["vouch policy show", "vouch policy add-signer --name alice --role releaser "
                  "--ssh-key-file alice.pub"],
    )  # fmt: skip
    verbs = add_verbs(parser)
    for add_verb in VERBS:
        add_verb(parser, verbs)


# ---- vouch policy show ----------------------------------------------------------------------------


def add_show(parent: VouchParser, verbs: Any) -> None:
    parser = verb(
        parent, verbs, "show",
        summary="print the effective policy",
        description="Print the effective policy: its file and sha256, the threshold, the role minimums "
        "and every signer with their keys.",
        examples=["vouch policy show", "vouch policy show --policy pyproject.toml --json"],
    )  # fmt: skip
    parser.add_argument("--policy", type=Path, metavar="FILE", help=_POLICY_HELP)
    parser.add_argument("--json", action="store_true", help="print the policy as JSON")
    handle(parser, ShowArgs, run_show)


@dataclass(frozen=True)
class ShowArgs:
    policy: Path | None
    json: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ShowArgs:
        return cls(args.policy, args.json)


def run_show(command: ShowArgs, out: Console, err: Console) -> int:
    from vouch.policy.model import load_policy  # noqa: PLC0415 - keep `vouch --help` fast

    policy = load_policy(command.policy)
    for warning in policy.warnings:
        err.print(f"warning: {warning}", markup=False)
    if command.json:
        print(json.dumps(policy.to_json(), indent=2))
        return 0
    out.print(f"{policy.path} (sha256 {policy.sha256})", markup=False)
    out.print(f"threshold: {policy.threshold} of {len(policy.signers)} distinct signers", markup=False)
    for role, count in policy.require.items():
        out.print(f"require: at least {count} with role {role}", markup=False)
    for signer in policy.signers:
        roles = ", ".join(signer.roles) or "no role"
        out.print(f"- {signer.name} ({roles}): {'; '.join(signer.describe_keys())}", markup=False)
    return 0


# ---- vouch policy add-signer ----------------------------------------------------------------------


def add_add_signer(parent: VouchParser, verbs: Any) -> None:
    parser = verb(
        parent, verbs, "add-signer",
        summary="trust one more signer, keeping the file's layout",
        description="Add a signer with their roles and keys (SSH, OpenPGP, Sigstore identity) to the "
        "policy, keeping the file's comments and layout; a new policy file is created when there is none.",
        examples=["vouch policy add-signer --name alice --role releaser --ssh-key-file alice.pub",
                  "vouch policy add-signer --name bob --openpgp-fingerprint FINGERPRINT "
                  "--openpgp-key-file keys/bob.asc"],
    )  # fmt: skip
    parser.add_argument("--policy", type=Path, metavar="FILE", help=_POLICY_HELP)
    parser.add_argument("--name", required=True, help="the signer's name, unique in the policy")
    parser.add_argument("--role", action="append", default=[], help="a role of the signer (repeatable)")
    parser.add_argument("--ssh-key-file", type=Path, metavar="PUB", help="an SSH public key file")
    parser.add_argument("--openpgp-fingerprint", metavar="FP", help="an OpenPGP key's full fingerprint")
    parser.add_argument("--openpgp-key-file", metavar="ASC",
                        help="with --openpgp-fingerprint: the key file, relative to the policy")  # fmt: skip
    parser.add_argument("--sigstore-identity", metavar="SAN", help="a Sigstore certificate identity")
    parser.add_argument("--sigstore-issuer", metavar="URL", help="with --sigstore-identity: its OIDC issuer")
    parser.add_argument("--json", action="store_true", help="print what was added as JSON")
    handle(parser, AddSignerArgs, run_add_signer)


@dataclass(frozen=True)
class AddSignerArgs:
    policy: Path | None
    name: str
    roles: tuple[str, ...]
    ssh_key_file: Path | None
    openpgp_fingerprint: str | None
    openpgp_key_file: str | None
    sigstore_identity: str | None
    sigstore_issuer: str | None
    json: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> AddSignerArgs:
        from vouch.errors import UsageError  # noqa: PLC0415

        if args.openpgp_key_file is not None and not args.openpgp_fingerprint:
            raise UsageError("--openpgp-key-file goes with --openpgp-fingerprint: pass the key's fingerprint")
        if args.sigstore_issuer is not None and not args.sigstore_identity:
            raise UsageError("--sigstore-issuer goes with --sigstore-identity: pass the identity too")
        return cls(args.policy, args.name, tuple(args.role), args.ssh_key_file, args.openpgp_fingerprint,
                   args.openpgp_key_file, args.sigstore_identity, args.sigstore_issuer,
                   args.json)  # fmt: skip


def run_add_signer(command: AddSignerArgs, out: Console, err: Console) -> int:
    from vouch.errors import UsageError  # noqa: PLC0415 - keep `vouch --help` fast
    from vouch.policy.edit import add_signer, ssh_key_line  # noqa: PLC0415
    from vouch.policy.model import find_policy  # noqa: PLC0415

    try:
        path = find_policy(command.policy)
    except UsageError:
        path = command.policy or Path("vouch.toml")
    entry: dict[str, Any] = {"name": command.name, "roles": list(command.roles)}
    if command.ssh_key_file is not None:
        entry["ssh-key"] = ssh_key_line(command.ssh_key_file)
    if command.openpgp_fingerprint:
        entry["openpgp-fingerprint"] = command.openpgp_fingerprint
        entry["openpgp-key-file"] = command.openpgp_key_file
    if command.sigstore_identity:
        entry["sigstore-identity"] = command.sigstore_identity
        entry["sigstore-issuer"] = command.sigstore_issuer
    add_signer(path, entry)
    if command.json:
        print(json.dumps({"policy": str(path), "added": entry}))
    else:
        out.print(f"added {command.name} to {path}", markup=False)
    return 0


VERBS: tuple[Callable[[VouchParser, Any], None], ...] = (add_show, add_add_signer)
