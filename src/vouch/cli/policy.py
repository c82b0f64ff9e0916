"""``vouch policy show`` and ``vouch policy add-signer``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser("policy", help="show or edit the trust policy")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="print the effective policy")
    show.add_argument("--policy", type=Path, metavar="FILE")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=run_show)
    add = actions.add_parser("add-signer", help="trust one more signer, keeping the file's layout")
    add.add_argument("--policy", type=Path, metavar="FILE", help="default: vouch.toml or pyproject.toml")
    add.add_argument("--name", required=True)
    add.add_argument("--role", action="append", default=[], help="repeatable")
    add.add_argument("--ssh-key-file", type=Path, metavar="PUB", help="an SSH public key file")
    add.add_argument("--openpgp-fingerprint", metavar="FP")
    add.add_argument("--openpgp-key-file", metavar="ASC", help="relative to the policy file")
    add.add_argument("--sigstore-identity", metavar="SAN")
    add.add_argument("--sigstore-issuer", metavar="URL")
    add.add_argument("--json", action="store_true")
    add.set_defaults(run=run_add)


def run_show(args: argparse.Namespace, out: Console, err: Console) -> int:
    from vouch.policy.model import load_policy  # noqa: PLC0415 - keep `vouch --help` fast

    policy = load_policy(args.policy)
    for warning in policy.warnings:
        err.print(f"warning: {warning}", markup=False)
    if args.json:
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


def run_add(args: argparse.Namespace, out: Console, err: Console) -> int:
    from vouch.errors import UsageError  # noqa: PLC0415 - keep `vouch --help` fast
    from vouch.policy.edit import add_signer, ssh_key_line  # noqa: PLC0415
    from vouch.policy.model import find_policy  # noqa: PLC0415

    try:
        path = find_policy(args.policy)
    except UsageError:
        path = args.policy or Path("vouch.toml")
    entry: dict[str, Any] = {"name": args.name, "roles": args.role}
    if args.ssh_key_file is not None:
        entry["ssh-key"] = ssh_key_line(args.ssh_key_file)
    if args.openpgp_fingerprint:
        entry["openpgp-fingerprint"] = args.openpgp_fingerprint
        entry["openpgp-key-file"] = args.openpgp_key_file
    if args.sigstore_identity:
        entry["sigstore-identity"] = args.sigstore_identity
        entry["sigstore-issuer"] = args.sigstore_issuer
    add_signer(path, entry)
    if args.json:
        print(json.dumps({"policy": str(path), "added": entry}))
    else:
        out.print(f"added {args.name} to {path}", markup=False)
    return 0
