"""The policy: trusted signers with their keys and roles, the threshold, role minimums.

Read from ``[tool.vouch]`` in pyproject.toml or from a ``vouch.toml`` (same keys at top level).
Parsing refuses what it does not understand: unknown keys, an empty signer list, a threshold of
0 or above the number of signers, a role minimum that no set of signers can meet, a signer
without a key. An insecure policy cannot be written by accident.
"""

from __future__ import annotations

import datetime
import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from securesystemslib.signer import GPGKey

from vouch.errors import ProjectConfigError, UsageError
from vouch.sign.openpgp import key_from_armored
from vouch.sign.ssh import SSHKey

_POLICY_KEYS = {"threshold", "require", "signers", "provenance", "runbook", "baseline"}
_SIGNER_KEYS = {
    "name", "roles", "ssh-key", "openpgp-fingerprint", "openpgp-key-file",
    "sigstore-identity", "sigstore-issuer", "valid-after", "valid-before",
}  # fmt: skip


@dataclass(frozen=True)
class TrustedSigner:
    name: str
    roles: tuple[str, ...]
    ssh_key: SSHKey | None = None
    openpgp_key: GPGKey | None = None
    sigstore_identity: str | None = None
    sigstore_issuer: str | None = None
    valid_after: datetime.datetime | None = None
    valid_before: datetime.datetime | None = None

    def valid_at(self, when: datetime.datetime) -> bool:
        if self.valid_after is not None and when < self.valid_after:
            return False
        return self.valid_before is None or when < self.valid_before

    def describe_keys(self) -> list[str]:
        keys = []
        if self.ssh_key is not None:
            keys.append(f"ssh {self.ssh_key.keyid}")
        if self.openpgp_key is not None:
            keys.append(f"openpgp {self.openpgp_key.keyid}")
        if self.sigstore_identity is not None:
            keys.append(f"sigstore {self.sigstore_identity} ({self.sigstore_issuer})")
        return keys


@dataclass(frozen=True)
class Policy:
    threshold: int
    require: dict[str, int]
    signers: tuple[TrustedSigner, ...]
    path: Path
    sha256: str
    raw: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "threshold": self.threshold,
            "require": self.require,
            "signers": [
                {
                    "name": s.name,
                    "roles": list(s.roles),
                    "keys": s.describe_keys(),
                    "valid_after": s.valid_after.isoformat() if s.valid_after else None,
                    "valid_before": s.valid_before.isoformat() if s.valid_before else None,
                }
                for s in self.signers
            ],
        }


def find_policy(path: Path | None, project: Path = Path()) -> Path:
    if path is not None:
        if not path.is_file():
            raise UsageError(f"policy file {path} does not exist")
        return path
    for candidate in (project / "vouch.toml", project / "pyproject.toml"):
        if candidate.is_file() and (
            candidate.name == "vouch.toml" or "[tool.vouch]" in candidate.read_text()
        ):
            return candidate
    raise UsageError("no policy: pass --policy FILE, or add vouch.toml or [tool.vouch] to pyproject.toml")


def policy_table(path: Path) -> tuple[dict[str, Any], bytes]:
    data = path.read_bytes()
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProjectConfigError(f"{path} is not valid TOML: {exc}") from exc
    if path.name == "pyproject.toml":
        table = document.get("tool", {}).get("vouch")
        if not isinstance(table, dict):
            raise ProjectConfigError(f"{path} has no [tool.vouch] table")
        return table, data
    return document, data


def load_policy(path: Path | None = None, project: Path = Path()) -> Policy:
    found = find_policy(path, project)
    table, data = policy_table(found)
    return parse_policy(table, found, hashlib.sha256(data).hexdigest())


def _when(value: Any, field: str, signer: str) -> datetime.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError as exc:
            raise ProjectConfigError(f"signer {signer}: {field} {value!r} is not a date") from exc
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        value = datetime.datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime.datetime):
        raise ProjectConfigError(f"signer {signer}: {field} must be a date or datetime")
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


def _signer(entry: Any, base: Path) -> TrustedSigner:
    if not isinstance(entry, dict):
        raise ProjectConfigError("each [[signers]] entry must be a table")
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise ProjectConfigError("a signer has no name")
    unknown = set(entry) - _SIGNER_KEYS
    if unknown:
        raise ProjectConfigError(f"signer {name}: unknown keys {sorted(unknown)}")
    roles = entry.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise ProjectConfigError(f"signer {name}: roles must be a list of strings")
    ssh_key = SSHKey.from_line(entry["ssh-key"]) if "ssh-key" in entry else None
    openpgp_key = None
    if "openpgp-fingerprint" in entry:
        key_file = entry.get("openpgp-key-file")
        if not isinstance(key_file, str):
            raise ProjectConfigError(f"signer {name}: openpgp-fingerprint needs openpgp-key-file")
        key_path = base / key_file
        if not key_path.is_file():
            raise ProjectConfigError(f"signer {name}: key file {key_path} does not exist")
        openpgp_key = key_from_armored(key_path.read_text(), entry["openpgp-fingerprint"])
    identity, issuer = entry.get("sigstore-identity"), entry.get("sigstore-issuer")
    if (identity is None) != (issuer is None):
        raise ProjectConfigError(f"signer {name}: sigstore-identity and sigstore-issuer go together")
    if ssh_key is None and openpgp_key is None and identity is None:
        raise ProjectConfigError(f"signer {name} has no key (ssh-key, openpgp-*, sigstore-*)")
    return TrustedSigner(
        name=name,
        roles=tuple(roles),
        ssh_key=ssh_key,
        openpgp_key=openpgp_key,
        sigstore_identity=identity,
        sigstore_issuer=issuer,
        valid_after=_when(entry.get("valid-after"), "valid-after", name),
        valid_before=_when(entry.get("valid-before"), "valid-before", name),
    )


def parse_policy(table: dict[str, Any], path: Path, sha256: str) -> Policy:
    unknown = set(table) - _POLICY_KEYS
    if unknown:
        raise ProjectConfigError(f"{path}: unknown policy keys {sorted(unknown)}")
    entries = table.get("signers", [])
    if not isinstance(entries, list) or not entries:
        raise ProjectConfigError(f"{path}: the policy trusts no signers", hint="add [[signers]]")
    signers = tuple(_signer(entry, path.parent) for entry in entries)
    names = [s.name for s in signers]
    if len(set(names)) != len(names):
        raise ProjectConfigError(f"{path}: signer names must be unique")
    owners: dict[str, str] = {}
    for signer in signers:  # one key is one person: a shared key would count twice
        for key in signer.describe_keys():
            if key in owners:
                raise ProjectConfigError(f"{path}: {signer.name} and {owners[key]} share the key {key}")
            owners[key] = signer.name
    threshold = table.get("threshold")
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
        raise ProjectConfigError(f"{path}: threshold must be an integer of at least 1")
    if threshold > len(signers):
        raise ProjectConfigError(f"{path}: threshold {threshold} exceeds the {len(signers)} trusted signers")
    require = table.get("require", {})
    if not isinstance(require, dict):
        raise ProjectConfigError(f"{path}: [require] must map roles to counts")
    for role, count in require.items():
        holders = sum(role in s.roles for s in signers)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ProjectConfigError(f"{path}: require.{role} must be a non-negative integer")
        if count > holders:
            raise ProjectConfigError(
                f"{path}: require.{role} = {count}, but {holders} signers have that role"
            )
    return Policy(threshold, dict(require), signers, path, sha256, table)
