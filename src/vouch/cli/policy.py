"""``vouch policy``: show the trust policy, create it, and edit it without losing its comments.

One small function per verb: it builds the typed inputs from its arguments, calls one library
function of ``vouch.policy.edit``, and prints the effective policy with ``render``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:
    from vouch.policy.model import Policy

EXAMPLES = {
    "show": "vouch policy show\n  vouch policy show --policy pyproject.toml --json",
    "init": "vouch policy init --threshold 2\n  vouch policy init --policy pyproject.toml --threshold 2",
    "add-signer": "vouch policy add-signer --name alice --role releaser --ssh-key-file ~/.ssh/id_ed25519.pub",
    "set-threshold": "vouch policy set-threshold 3",
    "require": "vouch policy require ci 1\n  vouch policy require ci 0    # removes the minimum",
    "remove-signer": "vouch policy remove-signer mallory",
    "rotate-key": "vouch policy rotate-key alice --ssh-key-file new.pub "
    "--evidence release-evidence/demo-1.0.intoto.jsonl",
}


def _verb(actions: Any, name: str, help_text: str, description: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = actions.add_parser(
        name, help=help_text, description=description, epilog=f"example:\n  {EXAMPLES[name]}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--policy", type=Path, metavar="FILE", help="default: vouch.toml or pyproject.toml")
    parser.add_argument("--json", action="store_true", help="print the effective policy as JSON")
    return parser


def _key_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ssh-key-file", type=Path, metavar="PUB", help="an SSH public key file (.pub)")
    parser.add_argument("--openpgp-fingerprint", metavar="FP")
    parser.add_argument("--openpgp-key-file", metavar="ASC", help="relative to the policy file")
    parser.add_argument("--sigstore-identity", metavar="SAN")
    parser.add_argument("--sigstore-issuer", metavar="URL")


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "policy", help="show or edit the trust policy",
        description="Show, create or edit the trust policy (vouch.toml or [tool.vouch] of pyproject.toml), "
        "keeping its comments and layout. Every edit prints the effective policy.",
    )  # fmt: skip
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = _verb(actions, "show", "print the effective policy", "Print the effective policy.")
    show.set_defaults(run=run_show)
    init = _verb(actions, "init", "create a policy", "Create a policy with a threshold and no signers yet "
                 "(add them with add-signer). Without --threshold it asks, on a terminal only.")  # fmt: skip
    init.add_argument("--threshold", type=int, metavar="N", help="distinct signers needed per artifact")
    init.set_defaults(run=run_init)
    add = _verb(actions, "add-signer", "trust one more signer", "Trust one more signer with one key.")
    add.add_argument("--name", required=True)
    add.add_argument("--role", action="append", default=[], help="repeatable")
    _key_options(add)
    add.set_defaults(run=run_add)
    threshold = _verb(actions, "set-threshold", "change the threshold",
                      "Change how many distinct trusted signers must vouch for each artifact.")  # fmt: skip
    threshold.add_argument("threshold", type=int, metavar="N")
    threshold.set_defaults(run=run_set_threshold)
    require = _verb(actions, "require", "set a role minimum",
                    "At least N of the signers must have ROLE; N = 0 removes the minimum.")  # fmt: skip
    require.add_argument("role", metavar="ROLE")
    require.add_argument("count", type=int, metavar="N")
    require.set_defaults(run=run_require)
    remove = _verb(
        actions,
        "remove-signer",
        "stop trusting a signer",
        "Remove a signer and every key they had (refused if the threshold could not be met).",
    )
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(run=run_remove)
    rotate = _verb(
        actions,
        "rotate-key",
        "give a signer a new key",
        "Give NAME a new key. The old key stays with valid-before = now; the evidence lines it "
        "signed in the --evidence files keep counting (kept-evidence), nothing it signs later does.",
    )
    rotate.add_argument("name", metavar="NAME")
    _key_options(rotate)
    rotate.add_argument(
        "--evidence",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="evidence files whose lines signed by the old key keep counting (repeatable)",
    )
    rotate.set_defaults(run=run_rotate)


def render(policy: Policy, out: Console, err: Console, *, as_json: bool) -> None:
    """The effective policy, as ``vouch policy show`` prints it."""
    for warning in policy.warnings:
        err.print(f"warning: {warning}", markup=False)
    if as_json:
        print(json.dumps(policy.to_json(), indent=2))
        return
    out.print(f"{policy.path} (sha256 {policy.sha256})", markup=False)
    out.print(f"threshold: {policy.threshold} of {len(policy.names)} distinct signers", markup=False)
    for role, count in policy.require.items():
        out.print(f"require: at least {count} with role {role}", markup=False)
    for signer in policy.signers:
        roles = ", ".join(signer.roles) or "no role"
        retired = ""
        if signer.valid_before is not None:
            retired = f" [valid before {signer.valid_before:%Y-%m-%d %H:%M:%S}Z"
            retired += f", {len(signer.kept_evidence)} evidence lines kept]" if signer.kept_evidence else "]"
        out.print(f"- {signer.name} ({roles}): {'; '.join(signer.describe_keys())}{retired}", markup=False)
    for reason in policy.incomplete:
        out.print(f"not usable yet: {reason.removeprefix(f'{policy.path}: ')}", markup=False)
    if policy.incomplete:
        out.print(
            "next: add signers with `vouch policy add-signer`; vouch check refuses it until then",
            markup=False,
        )


def _path(args: argparse.Namespace) -> Path:
    """The policy file to edit: ``--policy``, else the one ``vouch check`` would read here."""
    from vouch.errors import UsageError  # noqa: PLC0415 - keep `vouch --help` fast
    from vouch.policy.model import find_policy  # noqa: PLC0415

    if args.policy is not None:
        return Path(args.policy)
    try:
        return find_policy(None)
    except UsageError as exc:
        if exc.hint is not None or not str(exc).startswith("no policy"):
            raise
        raise UsageError(str(exc), hint="create one: vouch policy init --threshold N") from None


def run_show(args: argparse.Namespace, out: Console, err: Console) -> int:
    from vouch.policy.model import load_policy  # noqa: PLC0415

    render(load_policy(args.policy), out, err, as_json=args.json)
    return 0


def ask_threshold(prompt: Callable[[str], str] | None) -> int:
    """The threshold from the person at the terminal (``prompt``); with no terminal (None), refused:
    vouch never guesses how many signers a release needs."""
    from vouch.errors import UsageError  # noqa: PLC0415

    if prompt is None:
        raise UsageError("how many signers must vouch? no --threshold, and no terminal to ask",
                         hint="pass --threshold N (distinct signers needed per artifact)")  # fmt: skip
    answer = prompt("threshold: how many distinct signers must vouch for each artifact? ").strip()
    if not answer.isdigit() or int(answer) < 1:
        raise UsageError(f"{answer[:20]!r} is not a threshold", hint="a whole number of at least 1")
    return int(answer)


def run_init(args: argparse.Namespace, out: Console, err: Console,
             prompt: Callable[[str], str] | None = None) -> int:  # fmt: skip
    from vouch.policy.edit import init_policy  # noqa: PLC0415

    if prompt is None and sys.stdin is not None and sys.stdin.isatty():
        prompt = input
    threshold = args.threshold if args.threshold is not None else ask_threshold(prompt)
    render(init_policy(args.policy or Path("vouch.toml"), threshold), out, err, as_json=args.json)
    return 0


def key_entry(args: argparse.Namespace) -> dict[str, Any]:
    """The policy fields of the one key given by ``--ssh-key-file``, ``--openpgp-*`` or ``--sigstore-*``."""
    from vouch.errors import UsageError  # noqa: PLC0415
    from vouch.policy.edit import openpgp_fingerprint, ssh_key_line  # noqa: PLC0415

    entry: dict[str, Any] = {}
    if args.ssh_key_file is not None:
        entry["ssh-key"] = ssh_key_line(args.ssh_key_file)
    if (args.openpgp_fingerprint is None) != (args.openpgp_key_file is None):
        raise UsageError("--openpgp-fingerprint and --openpgp-key-file go together")
    if args.openpgp_fingerprint is not None:
        entry["openpgp-fingerprint"] = openpgp_fingerprint(args.openpgp_fingerprint)
        entry["openpgp-key-file"] = args.openpgp_key_file
    if (args.sigstore_identity is None) != (args.sigstore_issuer is None):
        raise UsageError("--sigstore-identity and --sigstore-issuer go together")
    if args.sigstore_identity is not None:
        entry["sigstore-identity"] = args.sigstore_identity
        entry["sigstore-issuer"] = args.sigstore_issuer
    if not entry:
        raise UsageError(
            "no key given",
            hint="pass --ssh-key-file PUB, --openpgp-fingerprint FP "
            "--openpgp-key-file ASC, or --sigstore-identity SAN --sigstore-issuer URL",
        )
    return entry


def run_add(args: argparse.Namespace, out: Console, err: Console) -> int:
    from vouch.policy.edit import add_signer  # noqa: PLC0415

    entry = {"name": args.name, "roles": args.role, **key_entry(args)}
    render(add_signer(_path(args), entry), out, err, as_json=args.json)
    return 0


def run_set_threshold(args: argparse.Namespace, out: Console, err: Console) -> int:
    from vouch.policy.edit import set_threshold  # noqa: PLC0415

    render(set_threshold(_path(args), args.threshold), out, err, as_json=args.json)
    return 0


def run_require(args: argparse.Namespace, out: Console, err: Console) -> int:
    from vouch.policy.edit import require_role  # noqa: PLC0415

    render(require_role(_path(args), args.role, args.count), out, err, as_json=args.json)
    return 0


def run_remove(args: argparse.Namespace, out: Console, err: Console) -> int:
    from vouch.policy.edit import remove_signer  # noqa: PLC0415

    render(remove_signer(_path(args), args.name), out, err, as_json=args.json)
    return 0


def run_rotate(args: argparse.Namespace, out: Console, err: Console) -> int:
    from vouch.policy.edit import rotate_key  # noqa: PLC0415

    render(rotate_key(_path(args), args.name, key_entry(args), args.evidence), out, err, as_json=args.json)
    return 0
