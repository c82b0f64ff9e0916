"""A small release (two artifact files), real SSH keys and a policy, for the attack tests of
`vouch check`: statements are signed with the real keys by the library, then tampered with."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.clirun import run
from tests.keys import ssh_key
from vouch.intoto import VOUCH_PREDICATE, Statement, Subject
from vouch.sign.envelope import sign_payload
from vouch.sign.evidence import append_evidence
from vouch.sign.ssh import SSHSigner

COMMIT = "c" * 40


def public_line(key: Path) -> str:
    return " ".join(key.with_name(key.name + ".pub").read_text().split()[:2])


@dataclass
class Small:
    root: Path
    artifacts: list[Path]
    keys: dict[str, Path]
    evidence: Path

    def digests(self) -> dict[str, str]:
        import hashlib  # noqa: PLC0415

        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in self.artifacts}

    def policy(self, threshold: int = 1, extra: str = "") -> Path:
        text = f"threshold = {threshold}\n"
        for name, role in (("alice", "releaser"), ("carol", "ci")):
            key = public_line(self.keys[name])
            text += f'[[signers]]\nname = "{name}"\nroles = ["{role}"]\nssh-key = "{key}"\n'
        path = self.root / "vouch.toml"
        path.write_text(text + extra)
        return path

    def statement(self, predicate_type: str = VOUCH_PREDICATE, predicate: Any = None) -> dict[str, Any]:
        if predicate is None:
            predicate = {"source": {"repository": None, "commit": COMMIT}, "role": None}
        subjects = [Subject(n, d) for n, d in sorted(self.digests().items())]
        return Statement(tuple(subjects), predicate_type, predicate).to_json()

    def sign(self, document: Any, key: str = "alice") -> dict[str, Any]:
        """Sign ``document`` (a statement, or any JSON, or raw bytes) and append it."""
        payload = document if isinstance(document, bytes) else json.dumps(document).encode()
        envelope = sign_payload(payload, SSHSigner(self.keys[key]))
        append_evidence(self.evidence, envelope)
        return envelope

    def check(self, capsys: pytest.CaptureFixture[str], *extra: str, policy: Path | None = None) -> tuple[
        int, dict[str, Any], str
    ]:  # fmt: skip
        policy = policy or self.policy()
        code, out, err = run(
            ["check", *map(str, self.artifacts), "--evidence", str(self.evidence), "--policy", str(policy),
             "--json", *extra],
            capsys,
        )  # fmt: skip
        return code, json.loads(out) if out.strip() else {}, err


def small_release(root: Path) -> Small:
    dist = root / "dist"
    dist.mkdir(parents=True)
    artifacts = [dist / "demo-1.0.tar.gz", dist / "demo-1.0-py3-none-any.whl"]
    for path in artifacts:
        path.write_bytes(os.urandom(4096))
    keys = {name: ssh_key(root / "keys", name) for name in ("alice", "carol", "mallory")}
    return Small(root, artifacts, keys, dist / "demo-1.0.intoto.jsonl")
