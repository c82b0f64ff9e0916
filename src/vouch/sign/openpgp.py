"""OpenPGP keys and signatures, through securesystemslib's GnuPG signer and key.

Signing asks gpg (so gpg-agent, smartcards and YubiKeys work). Verification parses the public key
from the policy's key file and checks signatures in-process (securesystemslib with
pyca/cryptography): no gpg process per statement, and no keyring trust involved: only the key the
policy names counts. The ASCII-armor decoder is a few lines of RFC 4880 section 6, written here
because securesystemslib reads binary keys only.
"""

from __future__ import annotations

import base64
import os
from typing import Any

from securesystemslib._gpg import common as gpg_common
from securesystemslib._gpg import exceptions as gpg_exceptions
from securesystemslib.exceptions import UnsupportedLibraryError
from securesystemslib.signer import GPGKey, GPGSigner, Signature

from vouch.errors import ToolError, UsageError


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


def key_from_armored(text: str, fingerprint: str) -> GPGKey:
    """The public key with ``fingerprint`` (and its subkeys) from an armored export."""
    fingerprint = fingerprint.replace(" ", "").lower()
    try:
        bundle: dict[str, Any] = gpg_common.get_pubkey_bundle(dearmor(text), fingerprint)
    except (gpg_exceptions.KeyNotFoundError, gpg_exceptions.PacketParsingError, ValueError) as exc:
        raise UsageError(f"OpenPGP key {fingerprint}: {exc}") from exc
    if bundle["keyid"] != fingerprint:
        raise UsageError(f"the key file holds {bundle['keyid']}, not {fingerprint}")
    key = GPGKey(bundle["keyid"], bundle["type"], bundle["method"], bundle["keyval"])
    key.unrecognized_fields["subkeys"] = bundle.get("subkeys", {})
    return key


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


def signer_for(fingerprint: str) -> GPGSigner:
    homedir = os.environ.get("GNUPGHOME")
    try:
        _, public = GPGSigner.import_(fingerprint.replace(" ", "").lower(), homedir)
    except ValueError as exc:
        raise UsageError(f"gpg has no key {fingerprint}: {exc}") from exc
    except (OSError, UnsupportedLibraryError) as exc:
        raise ToolError(f"gpg is not usable: {exc}") from exc
    return GPGSigner(public, homedir)
