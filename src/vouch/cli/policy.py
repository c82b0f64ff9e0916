"""``vouch policy VERB``: show the trust policy, create it, and edit it without losing its comments.

Each verb is an ``add_<verb>(parent, verbs)`` function in :data:`VERBS` that adds its parser
(description, arguments, examples) with ``handle``: a frozen dataclass built by ``from_args`` and a
``run_<verb>`` that calls one library function of ``vouch.policy.edit`` and prints the effective
policy with :func:`render`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from vouch.cli.parser import VouchParser, add_command, add_verbs, handle, verb

if TYPE_CHECKING:
    from vouch.policy.model import Policy

_POLICY_HELP = "vouch.toml or pyproject.toml (default: the one in the current directory)"


def add_parser(subparsers: Any) -> None:
    parser = add_command(
        subparsers, "policy",
        summary="show, create or edit the trust policy",
        description="Show the effective trust policy (vouch.toml or [tool.vouch] of pyproject.toml), "
        "create it, or edit it keeping the file's comments and layout. Every edit is checked before "
        "it is written and prints the effective policy.",
        examples=["vouch policy show", "vouch policy init --threshold 2",
                  "vouch policy add-signer --name alice --role releaser --ssh-key-file alice.pub"],
    )  # fmt: skip
    verbs = add_verbs(parser)
    for add_verb in VERBS:
        add_verb(parser, verbs)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", type=Path, metavar="FILE", help=_POLICY_HELP)
    parser.add_argument("--json", action="store_true", help="print the effective policy as JSON")


def _key_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ssh-key-file", type=Path, metavar="PUB", help="an SSH public key file (.pub)")
    parser.add_argument("--openpgp-fingerprint", metavar="FP", help="an OpenPGP key's full fingerprint")
    parser.add_argument("--openpgp-key-file", metavar="ASC",
                        help="with --openpgp-fingerprint: the key file, relative to the policy")  # fmt: skip
    parser.add_argument("--sigstore-identity", metavar="SAN", help="a Sigstore certificate identity")
    parser.add_argument("--sigstore-issuer", metavar="URL", help="with --sigstore-identity: its OIDC issuer")


def key_entry(args: argparse.Namespace) -> dict[str, Any]:
    """The policy fields of the one key given by ``--ssh-key-file``, ``--openpgp-*`` or ``--sigstore-*``."""
    from vouch.errors import UsageError  # noqa: PLC0415
    from vouch.policy.edit import openpgp_fingerprint, ssh_key_line  # noqa: PLC0415

    entry: dict[str, Any] = {}
    if args.ssh_key_file is not None:
        entry["ssh-key"] = ssh_key_line(args.ssh_key_file)
    if args.openpgp_key_file is not None and args.openpgp_fingerprint is None:
        raise UsageError("--openpgp-key-file goes with --openpgp-fingerprint: pass the key's fingerprint")
    if args.openpgp_fingerprint is not None and args.openpgp_key_file is None:
        raise UsageError("--openpgp-fingerprint goes with --openpgp-key-file: pass the public key file")
    if args.openpgp_fingerprint is not None:
        entry["openpgp-fingerprint"] = openpgp_fingerprint(args.openpgp_fingerprint)
        entry["openpgp-key-file"] = args.openpgp_key_file
    if args.sigstore_issuer is not None and args.sigstore_identity is None:
        raise UsageError("--sigstore-issuer goes with --sigstore-identity: pass the identity too")
    if args.sigstore_identity is not None and args.sigstore_issuer is None:
        raise UsageError("--sigstore-identity goes with --sigstore-issuer: pass the OIDC issuer too")
    if args.sigstore_identity is not None:
        entry["sigstore-identity"] = args.sigstore_identity
        entry["sigstore-issuer"] = args.sigstore_issuer
    if not entry:
        raise UsageError(
            "no key given",
            hint="pass --ssh-key-file PUB, --openpgp-fingerprint FP --openpgp-key-file ASC, "
            "or --sigstore-identity SAN --sigstore-issuer URL",
        )
    return entry


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


def _path(policy: Path | None) -> Path:
    """The policy file to edit: ``--policy``, else the one ``vouch check`` would read here."""
    from vouch.errors import UsageError  # noqa: PLC0415 - keep `vouch --help` fast
    from vouch.policy.model import find_policy  # noqa: PLC0415

    if policy is not None:
        return policy
    try:
        return find_policy(None)
    except UsageError as exc:
        if exc.hint is not None or not str(exc).startswith("no policy"):
            raise
        raise UsageError(str(exc), hint="create one: vouch policy init --threshold N") from None


@dataclass(frozen=True)
class EditArgs:
    """The options every verb has, and what the verb itself takes (``values``)."""

    policy: Path | None
    json: bool
    values: tuple[Any, ...] = ()

    @classmethod
    def of(cls, args: argparse.Namespace, *values: Any) -> EditArgs:
        return cls(args.policy, args.json, values)


def _register(
    parent: VouchParser, verbs: Any, name: str, *, summary: str, description: str, examples: list[str],
    arguments: Callable[[argparse.ArgumentParser], object],
    values: Callable[[argparse.Namespace], tuple[Any, ...]],
    run: Callable[[EditArgs, Console, Console], int],
) -> None:  # fmt: skip
    parser = verb(parent, verbs, name, summary=summary, description=description, examples=examples)
    _common(parser)
    arguments(parser)

    @dataclass(frozen=True)
    class Args(EditArgs):
        @classmethod
        def from_args(cls, args: argparse.Namespace) -> Args:
            return cls(args.policy, args.json, values(args))

    handle(parser, Args, run)


# ---- vouch policy show ----------------------------------------------------------------------------


def add_show(parent: VouchParser, verbs: Any) -> None:
    _register(
        parent, verbs, "show",
        summary="print the effective policy",
        description="Print the effective policy: its file and sha256, the threshold, the role minimums "
        "and every signer with their keys.",
        examples=["vouch policy show", "vouch policy show --policy pyproject.toml --json"],
        arguments=lambda _: None, values=lambda _: (), run=run_show,
    )  # fmt: skip


def run_show(command: EditArgs, out: Console, err: Console) -> int:
    from vouch.policy.model import load_policy  # noqa: PLC0415 - keep `vouch --help` fast

    render(load_policy(command.policy), out, err, as_json=command.json)
    return 0


# ---- vouch policy init ----------------------------------------------------------------------------


def add_init(parent: VouchParser, verbs: Any) -> None:
    def arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--threshold", type=int, metavar="N", help="distinct signers needed per artifact")

    _register(
        parent, verbs, "init",
        summary="create a policy",
        description="Create a policy with a threshold and no signers yet (add them with add-signer). "
        "Without --threshold it asks, on a terminal only; with no terminal it refuses.",
        examples=["vouch policy init --threshold 2",
                  "vouch policy init --policy pyproject.toml --threshold 2"],
        arguments=arguments, values=lambda args: (args.threshold,), run=run_init,
    )  # fmt: skip


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


def run_init(command: EditArgs, out: Console, err: Console) -> int:
    from vouch.policy.edit import init_policy  # noqa: PLC0415

    (threshold,) = command.values
    prompt = input if sys.stdin is not None and sys.stdin.isatty() else None
    threshold = threshold if threshold is not None else ask_threshold(prompt)
    render(init_policy(command.policy or Path("vouch.toml"), threshold), out, err, as_json=command.json)
    return 0


# ---- vouch policy add-signer ----------------------------------------------------------------------


def add_add_signer(parent: VouchParser, verbs: Any) -> None:
    def arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--name", required=True, help="the signer's name, unique in the policy")
        parser.add_argument("--role", action="append", default=[], help="a role of the signer (repeatable)")
        _key_options(parser)

    _register(
        parent, verbs, "add-signer",
        summary="trust one more signer, keeping the file's layout",
        description="Add a signer with their roles and one key (SSH, OpenPGP, Sigstore identity) to "
        "the policy, keeping the file's comments and layout. The policy must exist (vouch policy init).",
        examples=["vouch policy add-signer --name alice --role releaser --ssh-key-file alice.pub",
                  "vouch policy add-signer --name bob --openpgp-fingerprint FINGERPRINT "
                  "--openpgp-key-file keys/bob.asc"],
        arguments=arguments,
        values=lambda args: ({"name": args.name, "roles": list(args.role), **key_entry(args)},),
        run=run_add_signer,
    )  # fmt: skip


def run_add_signer(command: EditArgs, out: Console, err: Console) -> int:
    from vouch.policy.edit import add_signer  # noqa: PLC0415

    (entry,) = command.values
    render(add_signer(_path(command.policy), entry), out, err, as_json=command.json)
    return 0


# ---- vouch policy set-threshold, require, remove-signer -------------------------------------------


def add_set_threshold(parent: VouchParser, verbs: Any) -> None:
    _register(
        parent, verbs, "set-threshold",
        summary="change the threshold",
        description="Change how many distinct trusted signers must vouch for each artifact "
        "(refused when the policy's signers could not meet it).",
        examples=["vouch policy set-threshold 3"],
        arguments=lambda parser: parser.add_argument("threshold", type=int, metavar="N"),
        values=lambda args: (args.threshold,), run=run_set_threshold,
    )  # fmt: skip


def run_set_threshold(command: EditArgs, out: Console, err: Console) -> int:
    from vouch.policy.edit import set_threshold  # noqa: PLC0415

    render(set_threshold(_path(command.policy), *command.values), out, err, as_json=command.json)
    return 0


def add_require(parent: VouchParser, verbs: Any) -> None:
    def arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("role", metavar="ROLE")
        parser.add_argument("count", type=int, metavar="N")

    _register(
        parent, verbs, "require",
        summary="set a role minimum",
        description="At least N of the signers who vouch must have ROLE; N = 0 removes the minimum.",
        examples=["vouch policy require ci 1", "vouch policy require ci 0    # removes the minimum"],
        arguments=arguments, values=lambda args: (args.role, args.count), run=run_require,
    )  # fmt: skip


def run_require(command: EditArgs, out: Console, err: Console) -> int:
    from vouch.policy.edit import require_role  # noqa: PLC0415

    render(require_role(_path(command.policy), *command.values), out, err, as_json=command.json)
    return 0


def add_remove_signer(parent: VouchParser, verbs: Any) -> None:
    _register(
        parent, verbs, "remove-signer",
        summary="stop trusting a signer",
        description="Remove a signer and every key they had (refused if the threshold or a role "
        "minimum could no longer be met).",
        examples=["vouch policy remove-signer mallory"],
        arguments=lambda parser: parser.add_argument("name", metavar="NAME"),
        values=lambda args: (args.name,), run=run_remove_signer,
    )  # fmt: skip


def run_remove_signer(command: EditArgs, out: Console, err: Console) -> int:
    from vouch.policy.edit import remove_signer  # noqa: PLC0415

    render(remove_signer(_path(command.policy), *command.values), out, err, as_json=command.json)
    return 0


# ---- vouch policy rotate-key ----------------------------------------------------------------------


def add_rotate_key(parent: VouchParser, verbs: Any) -> None:
    def arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("name", metavar="NAME")
        _key_options(parser)
        parser.add_argument(
            "--evidence", type=Path, action="append", default=[], metavar="FILE",
            help="evidence files whose lines signed by the old key keep counting (repeatable)",
        )  # fmt: skip

    _register(
        parent, verbs, "rotate-key",
        summary="give a signer a new key",
        description="Give NAME a new key. The old key stays with valid-before = now; the evidence "
        "lines it signed in the --evidence files keep counting (kept-evidence), nothing it signs later does.",
        examples=["vouch policy rotate-key alice --ssh-key-file new.pub "
                  "--evidence dist/demo-1.0.intoto.jsonl"],
        arguments=arguments,
        values=lambda args: (args.name, key_entry(args), args.evidence),
        run=run_rotate_key,
    )  # fmt: skip


def run_rotate_key(command: EditArgs, out: Console, err: Console) -> int:
    from vouch.policy.edit import rotate_key  # noqa: PLC0415

    name, entry, evidence = command.values
    render(rotate_key(_path(command.policy), name, entry, evidence), out, err, as_json=command.json)
    return 0


VERBS: tuple[Callable[[VouchParser, Any], None], ...] = (
    add_show, add_init, add_add_signer, add_set_threshold, add_require, add_remove_signer, add_rotate_key,
)  # fmt: skip
