"""The policy: trusted signers with their keys and roles, the threshold, role minimums.

Read from ``[tool.vouch]`` in pyproject.toml or from a ``vouch.toml`` (same keys at top level).
Parsing refuses what it does not understand: unknown keys, values of the wrong type, an empty
signer list, a threshold of 0 or above the number of signers, a role minimum that no set of
signers can meet, a signer without a key, a key file outside the policy's folder, and Sigstore
identity patterns that are unsafe (see ``vouch.policy.identity``) unless the signer says
``unsafe-wildcard = true``, which is then a warning every time the policy is loaded. An
insecure policy cannot be written by accident.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import itertools
import re
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from securesystemslib.signer import GPGKey

from vouch.errors import CheckError, ProjectConfigError, UsageError
from vouch.host import Host
from vouch.policy.identity import patterns_overlap, spans_repositories
from vouch.sign.openpgp import KeyValidity, key_from_armored, read_validity
from vouch.sign.ssh import SSHKey

_POLICY_KEYS = {"threshold", "require", "signers", "provenance", "runbook", "baseline"}
_SIGNER_KEYS = {
    "name", "roles", "ssh-key", "openpgp-fingerprint", "openpgp-key-file",
    "sigstore-identity", "sigstore-issuer", "valid-after", "valid-before", "unsafe-wildcard",
    "kept-evidence",
}  # fmt: skip
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
MAX_POLICY_BYTES = 1 << 20
MAX_KEY_BYTES = 1 << 20


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
    openpgp_validity: KeyValidity | None = None
    openpgp_material: bytes | None = field(default=None, repr=False)
    unsafe_wildcard: bool = False
    # sha256 of evidence lines this key signed before it was rotated out: they count after valid-before
    kept_evidence: frozenset[str] = frozenset()

    def valid_at(self, when: datetime.datetime) -> bool:
        if self.valid_after is not None and when < self.valid_after:
            return False
        return self.valid_before is None or when < self.valid_before

    def describe_keys(self) -> list[str]:
        keys = []
        if self.ssh_key is not None:
            keys.append(f"ssh {self.ssh_key.keyid}")
        if self.openpgp_key is not None:
            keys.append(f"openpgp {self.openpgp_key.keyid.upper()}")
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
    warnings: tuple[str, ...] = field(default=())
    # why a draft policy (see ``parse_policy(draft=True)``) cannot be used yet; empty when it can
    incomplete: tuple[str, ...] = field(default=())

    @property
    def names(self) -> list[str]:
        """The distinct signers, in order (a rotated key keeps its signer's name)."""
        return list(dict.fromkeys(s.name for s in self.signers))

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "threshold": self.threshold,
            "require": self.require,
            "incomplete": list(self.incomplete),
            "signers": [
                {
                    "name": s.name,
                    "roles": list(s.roles),
                    "keys": s.describe_keys(),
                    "valid_after": s.valid_after.isoformat() if s.valid_after else None,
                    "valid_before": s.valid_before.isoformat() if s.valid_before else None,
                    "kept_evidence": len(s.kept_evidence),
                }
                for s in self.signers
            ],
        }


def inside_folder(path: Path, folder: Path, what: str) -> Path:
    """``path`` resolved; refused when it (through symlinks) leaves ``folder``."""
    resolved = path.resolve()
    if not resolved.is_relative_to(folder.resolve()):
        raise UsageError(
            f"{what} {path} points outside {folder.resolve()}",
            hint="keep it inside the project; vouch does not follow links out of it",
        )
    return resolved


def regular_file(path: Path, what: str) -> bool:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise CheckError(f"cannot read {what} {path}: {exc.strerror}") from exc
    if not stat.S_ISREG(mode):
        raise UsageError(f"{what} {path} is not a regular file")
    return True


def find_policy(path: Path | None, project: Path = Path()) -> Path:
    """The policy file: ``path``, else vouch.toml or a pyproject.toml with [tool.vouch] in
    ``project``. A policy that is a symlink to somewhere outside its folder is refused."""
    if path is not None:
        if not regular_file(path, "policy file"):
            raise UsageError(f"policy file {path} does not exist")
        inside_folder(path, path.absolute().parent, "the policy file")
        return path
    for candidate in (project / "vouch.toml", project / "pyproject.toml"):
        if regular_file(candidate, "policy file"):
            inside_folder(candidate, project, "the policy file")
            if candidate.name == "vouch.toml" or b"[tool.vouch]" in read_bounded(candidate, MAX_POLICY_BYTES):
                return candidate
    raise UsageError("no policy: pass --policy FILE, or add vouch.toml or [tool.vouch] to pyproject.toml")


def read_bounded(path: Path, limit: int, *, shown: Path | None = None) -> bytes:
    """At most ``limit`` bytes of a policy or key file; a larger one is a configuration error."""
    shown = shown or path
    try:
        with path.open("rb") as stream:
            data = stream.read(limit + 1)
    except OSError as exc:
        raise CheckError(f"cannot read {shown}: {exc.strerror}") from exc
    if len(data) > limit:
        raise ProjectConfigError(f"{shown} is larger than {limit} bytes")
    return data


def parse_table(data: bytes, path: Path) -> dict[str, Any]:
    """The policy table of a vouch.toml, or of [tool.vouch] in a pyproject.toml, from its bytes."""
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ProjectConfigError(f"{path} is not valid TOML: it is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProjectConfigError(f"{path} is not valid TOML: {exc}") from exc
    except RecursionError:
        raise ProjectConfigError(f"{path} is not valid TOML: nested too deeply") from None
    if path.name == "pyproject.toml":
        tool = document.get("tool", {})
        table = tool.get("vouch") if isinstance(tool, dict) else None
        if not isinstance(table, dict):
            raise ProjectConfigError(f"{path} has no [tool.vouch] table")
        return table
    return document


def policy_table(path: Path) -> tuple[dict[str, Any], bytes]:
    data = read_bounded(path, MAX_POLICY_BYTES)
    return parse_table(data, path), data


def load_policy(path: Path | None = None, project: Path = Path(), *, host: Host | None = None) -> Policy:
    found = find_policy(path, project)
    table, data = policy_table(found)
    return parse_policy(table, found, hashlib.sha256(data).hexdigest(), host=host)


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


def _string(entry: dict[str, Any], key: str, signer: str) -> str | None:
    value = entry.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ProjectConfigError(f"signer {signer}: {key} must be a non-empty string")
    return value


def _openpgp(entry: dict[str, Any], name: str, base: Path) -> tuple[GPGKey, bytes] | None:
    fingerprint = _string(entry, "openpgp-fingerprint", name)
    key_file = _string(entry, "openpgp-key-file", name)
    if fingerprint is None:
        if key_file is not None:
            raise ProjectConfigError(f"signer {name}: openpgp-key-file needs openpgp-fingerprint")
        return None
    if key_file is None:
        raise ProjectConfigError(f"signer {name}: openpgp-fingerprint needs openpgp-key-file")
    key_path = base / key_file
    if not regular_file(key_path, f"signer {name}'s key file"):
        raise ProjectConfigError(f"signer {name}: key file {key_path} does not exist")
    inside_folder(key_path, base, f"signer {name}'s key file")
    material = read_bounded(key_path, MAX_KEY_BYTES)
    text = material.decode("ascii", errors="replace")
    if "-----BEGIN PGP PRIVATE KEY BLOCK-----" in text:
        raise ProjectConfigError(
            f"signer {name}: {key_path} is a private key: the policy needs the public key",
            hint=f"replace it with gpg --armor --export {fingerprint.upper()} (never commit a private key)",
        )
    if not material.isascii() or "-----BEGIN PGP PUBLIC KEY BLOCK-----" not in text:
        raise ProjectConfigError(f"signer {name}: {key_path} is not an ASCII-armored OpenPGP public key")
    key = key_from_armored(text, fingerprint)
    return key, material


def openpgp_key_material(policy: Policy, signer: str) -> bytes | None:
    """``signer``'s armored OpenPGP public key, read from the policy's key file and checked again
    (for gpg itself, e.g. to verify a clearsigned checksum file); None when it has no such key."""
    for entry in policy.raw.get("signers", []):
        if isinstance(entry, dict) and entry.get("name") == signer:
            found = _openpgp(entry, signer, policy.path.parent)
            return found[1] if found else None
    return None


def _signer(entry: Any, base: Path) -> TrustedSigner:
    if not isinstance(entry, dict):
        raise ProjectConfigError("each [[signers]] entry must be a table")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ProjectConfigError("a signer has no name (name must be a non-empty string)")
    unknown = set(entry) - _SIGNER_KEYS
    if unknown:
        raise ProjectConfigError(f"signer {name}: unknown keys {sorted(unknown)}")
    roles = entry.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) and r for r in roles):
        raise ProjectConfigError(f"signer {name}: roles must be a list of strings")
    line = _string(entry, "ssh-key", name)
    ssh_key = SSHKey.from_line(line) if line is not None else None
    openpgp = _openpgp(entry, name, base)
    identity, issuer = _string(entry, "sigstore-identity", name), _string(entry, "sigstore-issuer", name)
    if (identity is None) != (issuer is None):
        raise ProjectConfigError(f"signer {name}: sigstore-identity and sigstore-issuer go together")
    unsafe = entry.get("unsafe-wildcard", False)
    if not isinstance(unsafe, bool):
        raise ProjectConfigError(f"signer {name}: unsafe-wildcard must be true or false")
    if unsafe and identity is None:
        raise ProjectConfigError(f"signer {name}: unsafe-wildcard applies to a sigstore-identity only")
    if ssh_key is None and openpgp is None and identity is None:
        raise ProjectConfigError(f"signer {name} has no key (ssh-key, openpgp-*, sigstore-*)")
    kept = entry.get("kept-evidence", [])
    if not isinstance(kept, list) or not all(isinstance(k, str) and _SHA256_HEX.fullmatch(k) for k in kept):
        raise ProjectConfigError(f"signer {name}: kept-evidence must be a list of sha256 hex digests")
    if kept and entry.get("valid-before") is None:
        raise ProjectConfigError(f"signer {name}: kept-evidence applies to a key with valid-before only")
    return TrustedSigner(
        name=name,
        roles=tuple(roles),
        ssh_key=ssh_key,
        openpgp_key=openpgp[0] if openpgp else None,
        sigstore_identity=identity,
        sigstore_issuer=issuer,
        valid_after=_when(entry.get("valid-after"), "valid-after", name),
        valid_before=_when(entry.get("valid-before"), "valid-before", name),
        openpgp_material=openpgp[1] if openpgp else None,
        unsafe_wildcard=unsafe,
        kept_evidence=frozenset(kept),
    )


def _with_validity(signers: tuple[TrustedSigner, ...], host: Host | None) -> tuple[TrustedSigner, ...]:
    """Each OpenPGP key with its revocations and expiry, read by one gpg process for all."""
    materials = [s.openpgp_material for s in signers if s.openpgp_material is not None]
    if not materials:
        return signers
    validity = read_validity(b"\n".join(materials), host=host)
    result = []
    for signer in signers:
        if signer.openpgp_key is None:
            result.append(signer)
            continue
        found = validity.get(signer.openpgp_key.keyid)
        if found is None:
            raise ProjectConfigError(f"signer {signer.name}: gpg cannot read their OpenPGP key")
        result.append(dataclasses.replace(signer, openpgp_validity=found, openpgp_material=None))
    return tuple(result)


def _identity_warnings(signers: tuple[TrustedSigner, ...], path: Path) -> tuple[str, ...]:
    """Unsafe Sigstore identity patterns: errors, or warnings for ``unsafe-wildcard`` signers."""
    warnings = [
        f"{path}: signer {s.name} has unsafe-wildcard = true: its sigstore-identity "
        f"{s.sigstore_identity!r} may match identities that are not theirs"
        for s in signers if s.unsafe_wildcard
    ]  # fmt: skip
    sigstore = [(s, s.sigstore_identity) for s in signers if s.sigstore_identity is not None]
    for signer, identity in sigstore:
        reason = spans_repositories(identity)
        if reason is not None and not signer.unsafe_wildcard:
            raise ProjectConfigError(
                f"{path}: signer {signer.name}'s sigstore-identity {identity!r} is unsafe: {reason}",
                hint="name the repository in full, or add unsafe-wildcard = true",
            )
    for (first, first_identity), (second, second_identity) in itertools.combinations(sigstore, 2):
        if first.sigstore_issuer != second.sigstore_issuer:
            continue
        if patterns_overlap(first_identity, second_identity):
            if not (first.unsafe_wildcard or second.unsafe_wildcard):
                raise ProjectConfigError(
                    f"{path}: the sigstore identities of {first.name} and {second.name} can match the "
                    "same certificate: one signature would count for two signers",
                    hint="make the patterns disjoint, or add unsafe-wildcard = true to one of them",
                )
            warnings.append(f"{path}: the sigstore identities of {first.name} and {second.name} overlap; "
                            "a bundle that matches both counts for neither")  # fmt: skip
    return tuple(warnings)


def _same_signer(signers: tuple[TrustedSigner, ...], path: Path) -> None:
    """Entries may share a name only as one signer's key history (``vouch policy rotate-key``):
    the same roles, and every entry but one retired with ``valid-before``."""
    for name in dict.fromkeys(s.name for s in signers):
        entries = [s for s in signers if s.name == name]
        if len(entries) == 1:
            continue
        if len({s.roles for s in entries}) != 1 or sum(s.valid_before is None for s in entries) > 1:
            raise ProjectConfigError(
                f"{path}: signer names must be unique ({name} appears {len(entries)} times)",
                hint="entries may share a name only as rotated keys: the same roles, "
                "all but one with valid-before (vouch policy rotate-key writes them)",
            )


def parse_policy(
    table: dict[str, Any], path: Path, sha256: str, *, draft: bool = False, host: Host | None = None
) -> Policy:
    """The policy of ``table`` (read from ``path``), checked; gpg (on ``host``) reads its OpenPGP
    keys' revocations and expiry dates. ``draft``: a policy being written (``vouch policy init``
    and the edits after it) may trust fewer signers than its threshold or role minimums need; it
    is returned with the reasons in ``incomplete``, and :func:`load_policy` never accepts one."""
    unknown = set(table) - _POLICY_KEYS
    if unknown:
        raise ProjectConfigError(f"{path}: unknown policy keys {sorted(unknown)}")
    entries = table.get("signers", [])
    if not isinstance(entries, list) or (not entries and not draft):
        raise ProjectConfigError(f"{path}: the policy trusts no signers", hint="add [[signers]]")
    signers = _with_validity(tuple(_signer(entry, path.parent) for entry in entries), host)
    _same_signer(signers, path)
    owners: dict[str, str] = {}
    for signer in signers:  # one key is one person: a shared key would count twice
        for key in signer.describe_keys():
            if key in owners:
                raise ProjectConfigError(f"{path}: {signer.name} and {owners[key]} share the key {key}")
            owners[key] = signer.name
    threshold = table.get("threshold")
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
        raise ProjectConfigError(f"{path}: threshold must be an integer of at least 1")
    incomplete = []
    distinct = len({s.name for s in signers})
    if not signers:
        incomplete.append(f"{path}: the policy trusts no signers")
    elif threshold > distinct:
        incomplete.append(f"{path}: threshold {threshold} exceeds the {distinct} trusted signers")
    require, short = _require(table.get("require", {}), signers, path)
    incomplete += short
    if incomplete and not draft:
        raise ProjectConfigError(incomplete[0])
    warnings = _identity_warnings(signers, path)
    return Policy(threshold, require, signers, path, sha256, table, warnings, tuple(incomplete))


def _require(
    require: Any, signers: tuple[TrustedSigner, ...], path: Path
) -> tuple[dict[str, int], list[str]]:
    """The role minimums, and the ones that no set of the current signers can meet."""
    if not isinstance(require, dict):
        raise ProjectConfigError(f"{path}: [require] must map roles to counts")
    short = []
    for role, count in require.items():
        holders = len({s.name for s in signers if role in s.roles})
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ProjectConfigError(f"{path}: require.{role} must be a non-negative integer")
        if count > holders:
            short.append(f"{path}: require.{role} = {count}, but {holders} signers have that role")
    return dict(require), short
