"""Signing key checks: OpenPGP (algorithm and size, expiry, primary secret offline or on a card,
revocation certificate), the SSH signing key (type, hardware-backed), git signing tags.

OpenPGP keys are read from ``gpg --with-colons --list-secret-keys``: field 2 validity, 3 length,
4 algorithm, 5 key id, 7 expiry, 12 capabilities, 15 the secret's serial (``#`` a stub, the
secret is offline; a card serial number, the secret is on a smartcard; ``+`` on this disk).
"""

from __future__ import annotations

import base64
import binascii
import datetime
from dataclasses import dataclass
from pathlib import Path

from vouch.doctor.baseline import Baseline
from vouch.doctor.machine import Machine
from vouch.doctor.result import CheckResult, failed, passed, unknown

_ALGORITHMS = {
    "1": "RSA",
    "2": "RSA",
    "3": "RSA",
    "16": "Elgamal",
    "17": "DSA",
    "18": "ECDH",
    "19": "ECDSA",
    "22": "EdDSA",
}
_SSH_HARDWARE = ("sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")


@dataclass(frozen=True)
class SecretKey:
    fingerprint: str
    algorithm: str
    bits: int
    expires: int | None  # epoch seconds
    validity: str
    serial: str  # field 15 of the primary's sec line
    uid: str

    @property
    def where(self) -> str:
        if self.serial == "#":
            return "offline (stub)"
        if self.serial and self.serial != "+":
            return f"on smartcard {self.serial}"
        return "on this disk"


def parse_secret_keys(listing: str) -> list[SecretKey]:
    keys: list[SecretKey] = []
    current: list[str] | None = None
    fingerprint = uid = ""

    def flush() -> None:
        if current is not None:
            keys.append(
                SecretKey(
                    fingerprint,
                    _ALGORITHMS.get(current[3], f"algorithm {current[3]}"),
                    int(current[2] or 0),
                    int(current[6]) if current[6].isdigit() else None,
                    current[1],
                    current[14] if len(current) > 14 else "",
                    uid,
                )
            )

    for line in listing.splitlines():
        fields = line.split(":")
        if fields[0] == "sec":
            flush()
            current, fingerprint, uid = fields + [""] * (15 - len(fields)), "", ""
        elif fields[0] == "fpr" and current is not None and not fingerprint:
            fingerprint = fields[9]
        elif fields[0] == "uid" and current is not None and not uid:
            uid = fields[9]
        elif fields[0] == "ssb" and current is not None and not fingerprint:
            fingerprint = "?"
    flush()
    return keys


def _secret_keys(machine: Machine) -> list[SecretKey] | CheckResult:
    listing = machine.output("gpg", "--batch", "--with-colons", "--fixed-list-mode", "--list-secret-keys")
    if listing is None:
        return unknown("gpg-keys", "gpg did not run")
    keys = [k for k in parse_secret_keys(listing) if k.validity not in {"r"}]
    if not keys:
        return unknown("gpg-keys", "no OpenPGP secret key on this machine (signing with SSH?)")
    return keys


def _algorithm(key: SecretKey, name: str, baseline: Baseline) -> CheckResult:
    check = f"gpg-key-algorithm:{key.fingerprint}"
    weak = key.algorithm in {"DSA", "Elgamal"} or (
        key.algorithm == "RSA" and key.bits < baseline.min_rsa_bits
    )
    if weak:
        return failed(
            check,
            f"{name}: {key.algorithm} {key.bits} is weak",
            f"make a new Ed25519 key (or RSA >= {baseline.min_rsa_bits})",
        )
    return passed(check, f"{name}: {key.algorithm} {key.bits}")


def _expiry(key: SecretKey, name: str, baseline: Baseline, now: datetime.datetime) -> CheckResult:
    check = f"gpg-key-expiry:{key.fingerprint}"
    if key.expires is None:
        return passed(check, f"{name}: does not expire")
    when = datetime.datetime.fromtimestamp(key.expires, datetime.UTC)
    fix = f"gpg --quick-set-expire {key.fingerprint} 1y"
    if key.validity == "e" or when <= now:
        return failed(check, f"{name}: expired on {when:%Y-%m-%d}", fix)
    if when <= now + datetime.timedelta(days=baseline.key_expiry_days):
        return failed(
            check, f"{name}: expires on {when:%Y-%m-%d}, within {baseline.key_expiry_days} days", fix
        )
    return passed(check, f"{name}: expires on {when:%Y-%m-%d}")


def _offline(key: SecretKey, name: str) -> CheckResult:
    check = f"gpg-primary-offline:{key.fingerprint}"
    if key.serial == "+" or not key.serial:
        return failed(
            check,
            f"{name}: the primary secret key is {key.where}",
            "move the primary key offline (keep signing subkeys) or onto a smartcard with keytocard",
        )
    return passed(check, f"{name}: the primary secret key is {key.where}")


def _revocation(key: SecretKey, name: str, machine: Machine) -> CheckResult:
    check = f"gpg-revocation-cert:{key.fingerprint}"
    path = machine.gnupg_home / "openpgp-revocs.d" / f"{key.fingerprint}.rev"
    if machine.read(path) is not None:
        return passed(check, f"{name}: revocation certificate at {path}")
    return unknown(
        check,
        f"{name}: no revocation certificate at {path}; it may be kept offline",
        f"gpg --gen-revoke {key.fingerprint} > KEY.rev, and store it offline",
    )


def check_gpg_keys(machine: Machine, baseline: Baseline, now: datetime.datetime) -> list[CheckResult]:
    found = _secret_keys(machine)
    if isinstance(found, CheckResult):
        return [found]
    results = []
    for key in found:
        name = f"{key.fingerprint[-16:]} {key.uid}".strip()
        results += [
            _algorithm(key, name, baseline),
            _expiry(key, name, baseline, now),
            _offline(key, name),
            _revocation(key, name, machine),
        ]
    return results


def rsa_bits(blob: str) -> int | None:
    """The modulus size of an ``ssh-rsa`` public key blob (base64), None if it does not parse."""
    try:
        data = base64.b64decode(blob, validate=True)
        fields, offset = [], 0
        for _ in range(3):
            length = int.from_bytes(data[offset : offset + 4], "big")
            fields.append(data[offset + 4 : offset + 4 + length])
            offset += 4 + length
    except (ValueError, binascii.Error):
        return None
    return int.from_bytes(fields[2], "big").bit_length() if fields[0] == b"ssh-rsa" else None


def _git_config(machine: Machine, key: str) -> str | None:
    value = machine.output("git", "config", "--get", key)
    return value.strip() if value is not None else None


def check_ssh_signing_key(machine: Machine, baseline: Baseline) -> CheckResult:
    check = "ssh-signing-key"
    if (_git_config(machine, "gpg.format") or "openpgp") != "ssh":
        return unknown(check, "git does not sign with SSH (gpg.format is not ssh)")
    configured = _git_config(machine, "user.signingkey")
    if not configured:
        return failed(
            check,
            "gpg.format is ssh but user.signingkey is not set",
            "git config --global user.signingkey ~/.ssh/id_ed25519_sk.pub",
        )
    if configured.startswith("key::"):
        line: str | None = configured[5:]
    else:
        path = Path(configured.replace("~", str(machine.home), 1))
        line = machine.read(path if path.suffix == ".pub" else path.with_name(path.name + ".pub"))
    if not line or len(line.split()) < 2:
        return unknown(check, f"cannot read the public key of {configured}")
    return _ssh_key_type(line.split()[0], line.split()[1], baseline)


def _ssh_key_type(kind: str, blob: str, baseline: Baseline) -> CheckResult:
    check = "ssh-signing-key"
    if kind in _SSH_HARDWARE:
        return passed(check, f"{kind}: hardware-backed (FIDO)")
    bits = rsa_bits(blob) if kind == "ssh-rsa" else None
    if kind == "ssh-dss" or (bits is not None and bits < baseline.min_rsa_bits):
        return failed(check, f"{kind}{f' {bits}' if bits else ''}: a weak key", "ssh-keygen -t ed25519-sk")
    if baseline.ssh_hardware_key:
        return failed(
            check,
            f"{kind}: the secret key is a file, not hardware-backed",
            "ssh-keygen -t ed25519-sk (a FIDO security key), or set ssh-hardware-key = false",
        )
    return passed(check, f"{kind} (hardware not required by the baseline)")


def check_git_signs_tags(machine: Machine, baseline: Baseline) -> CheckResult:
    check = "git-sign-tags"
    if machine.output("git", "--version") is None:
        return unknown(check, "git did not run")
    if (_git_config(machine, "tag.gpgSign") or "").lower() in {"true", "yes", "on", "1"}:
        return passed(check, "git signs annotated tags (tag.gpgSign = true)")
    return failed(
        check, "git does not sign tags by default (tag.gpgSign unset)", "git config --global tag.gpgSign true"
    )
