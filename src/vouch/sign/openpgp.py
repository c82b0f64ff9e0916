"""OpenPGP keys and signatures, through securesystemslib's GnuPG signer and key.

Signing asks gpg (so gpg-agent, smartcards and YubiKeys work). Verification parses the public key
from the policy's key file and checks signatures in-process (securesystemslib with
pyca/cryptography): no gpg process per statement, and no keyring trust involved: only the key the
policy names counts. The ASCII-armor decoder is a few lines of RFC 4880 section 6, written here
because securesystemslib reads binary keys only.

securesystemslib ignores revocations, so whether a key or subkey is revoked, and when it
expires, is asked of gpg itself, once per key file when the policy is loaded
(``gpg --with-colons --import-options show-only --import`` in an empty GNUPGHOME): a revoked key
or subkey, or one expired at the time of the check, does not count, and says so.
"""

from __future__ import annotations

import base64
import datetime
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from securesystemslib._gpg import common as gpg_common
from securesystemslib._gpg import exceptions as gpg_exceptions
from securesystemslib.exceptions import UnsupportedLibraryError
from securesystemslib.signer import GPGKey, GPGSigner, Signature

from vouch.errors import ToolError, UsageError
from vouch.gpg import gpg, scratch_home
from vouch.host import Host


def dearmor(text: str) -> bytes:
    """The binary packets of an ASCII-armored OpenPGP block."""
    lines = [line.strip() for line in text.strip().splitlines()]
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("-----BEGIN PGP"))
        end = next(i for i, line in enumerate(lines) if line.startswith("-----END PGP"))
        body_start = lines.index("", start)
    except (StopIteration, ValueError):
        raise UsageError("not an ASCII-armored OpenPGP key") from None
    body = [line for line in lines[body_start + 1 : end] if not line.startswith("=")]
    try:
        return base64.b64decode("".join(body), validate=True)
    except ValueError as exc:
        raise UsageError(f"the OpenPGP armor is corrupt: {exc}") from exc


def canonical_fingerprint(text: str) -> str:
    compact = "".join(text.split()).lower()
    return compact[2:] if compact.startswith("0x") else compact


def key_from_armored(text: str, fingerprint: str) -> GPGKey:
    """The public key with ``fingerprint`` (and its subkeys) from an armored export."""
    fingerprint = canonical_fingerprint(fingerprint)
    try:
        bundle: dict[str, Any] = gpg_common.get_pubkey_bundle(dearmor(text), fingerprint)
    except (gpg_exceptions.KeyNotFoundError, gpg_exceptions.PacketParsingError, ValueError) as exc:
        raise UsageError(f"OpenPGP key {fingerprint}: {exc}") from exc
    if bundle["keyid"] != fingerprint:
        raise UsageError(f"the key file holds {bundle['keyid']}, not {fingerprint}")
    key = GPGKey(bundle["keyid"], bundle["type"], bundle["method"], bundle["keyval"])
    key.unrecognized_fields["subkeys"] = bundle.get("subkeys", {})
    return key


@dataclass(frozen=True)
class KeyValidity:
    """Revocations and expiry dates of a primary key and its subkeys, by fingerprint (lower case),
    as gpg reads them from the key material."""

    revoked: frozenset[str]
    expires: Mapping[str, datetime.datetime]
    fingerprints: frozenset[str] = frozenset()  # the primary and every subkey gpg lists

    def problem(self, primary: str, signing: str, now: datetime.datetime) -> str | None:
        """Why a signature by ``signing`` (the primary or a subkey) does not count, or None."""
        keys = [(primary, "OpenPGP key")] + ([(signing, "OpenPGP subkey")] if signing != primary else [])
        for fingerprint, what in keys:
            if fingerprint in self.revoked:
                return f"the {what} {fingerprint.upper()} is revoked"
            expires = self.expires.get(fingerprint)
            if expires is not None and expires <= now:
                return f"the {what} {fingerprint.upper()} expired on {expires:%Y-%m-%d}"
        return None


def read_validity(material: bytes, *, host: Host | None = None) -> dict[str, KeyValidity]:
    """What gpg says of the keys in ``material`` (one or more exports), by primary fingerprint:
    revoked (or invalid) keys and subkeys, and expiry dates. One gpg process for all."""
    with scratch_home(host) as home:
        result = gpg(
            ["--no-tty", "--with-colons", "--fixed-list-mode", "--import-options", "show-only", "--import"],
            home=home, stdin=material, host=host, timeout=60,
        )  # fmt: skip
    groups: list[list[tuple[str, str, str]]] = []  # per primary key: (validity, expiry, fingerprint)
    pending: list[str] | None = None
    for line in result.stdout.decode(errors="replace").splitlines():
        fields = line.split(":")
        if fields[0] == "pub":
            groups.append([])
        if fields[0] in ("pub", "sub"):
            pending = fields
        elif fields[0] == "fpr" and pending is not None and groups and len(fields) > 9 and len(pending) > 6:
            groups[-1].append((pending[1], pending[6], fields[9].lower()))
            pending = None
    keys: dict[str, KeyValidity] = {}
    for group in groups:
        if group:
            keys[group[0][2]] = KeyValidity(
                revoked=frozenset(fpr for validity, _, fpr in group if validity in ("r", "i")),
                expires={
                    fpr: datetime.datetime.fromtimestamp(int(expiry), datetime.UTC)
                    for _, expiry, fpr in group if expiry.isdigit()
                },
                fingerprints=frozenset(fpr for _, _, fpr in group),
            )  # fmt: skip
    return keys


def key_ids(key: GPGKey) -> set[str]:
    """The primary fingerprint and every subkey's: a signature by any of them is this key's."""
    return {key.keyid, *key.unrecognized_fields.get("subkeys", {})}


def verify(key: GPGKey, signature: Signature, data: bytes) -> bool:
    from securesystemslib._gpg import functions as gpg_functions  # noqa: PLC0415

    pubkey = {
        "keyid": key.keyid,
        "type": key.keytype,
        "method": key.scheme,
        "keyval": key.keyval,
        "hashes": ["pgp+SHA2"],
        "subkeys": key.unrecognized_fields.get("subkeys", {}),
    }
    sig = {"keyid": signature.keyid, "signature": signature.signature, **signature.unrecognized_fields}
    try:
        return bool(gpg_functions.verify_signature(sig, pubkey, data))
    except (gpg_exceptions.KeyExpirationError, UnsupportedLibraryError, KeyError, ValueError):
        return False


class PrimaryKeySigner(GPGSigner):
    """Signs with the primary key itself (``FINGERPRINT!``): gpg would otherwise pick the newest
    signing subkey, which securesystemslib's key parser does not read, so no check could verify."""

    def sign(self, payload: bytes) -> Signature:
        from securesystemslib._gpg import functions as gpg_functions  # noqa: PLC0415

        try:
            raw: dict[str, Any] = gpg_functions.create_signature(
                payload, f"{self.public_key.keyid}!", self.homedir
            )
        except gpg_exceptions.KeyNotFoundError as exc:
            raise ValueError(str(exc)) from exc
        if raw["keyid"] != self.public_key.keyid:
            raise ValueError(f"gpg signed with {raw['keyid']}, not {self.public_key.keyid}")
        signature: Signature = self._sig_from_legacy_dict(raw)
        return signature


def signer_for(fingerprint: str) -> GPGSigner:
    homedir = os.environ.get("GNUPGHOME")
    try:
        _, public = GPGSigner.import_(canonical_fingerprint(fingerprint), homedir)
    except ValueError as exc:
        raise UsageError(f"gpg has no key {fingerprint}: {exc}") from exc
    except (OSError, UnsupportedLibraryError) as exc:
        raise ToolError(f"gpg is not usable: {exc}") from exc
    return PrimaryKeySigner(public, homedir)
