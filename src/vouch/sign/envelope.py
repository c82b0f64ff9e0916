"""DSSE envelopes (securesystemslib's ``Envelope``) as vouch writes and reads them.

Parsing is strict and happens before any signature is verified: exactly the DSSE fields, the
in-toto payload type, base64 that decodes, between one and ``MAX_SIGNATURES`` signatures, each
with a string key id and signature, no key id twice (compared in canonical form: ``0x``, spaces
and the case of hex digits do not make another key). The signature is verified over
PAE(payloadType, payload) of the bytes received, never over a re-serialised copy.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from securesystemslib.dsse import Envelope
from securesystemslib.signer import Signature, Signer

from vouch.intoto import PAYLOAD_TYPE

MAX_SIGNATURES = 16
_FIELDS = {"payload", "payloadType", "signatures"}
_HEX = re.compile(r"[0-9a-fA-F]+")


class EnvelopeError(ValueError):
    """A line that is not a well-formed DSSE envelope; the message says why."""


def canonical_keyid(keyid: str) -> str:
    """One spelling per key: hex key ids (OpenPGP fingerprints) without spaces or ``0x``, in
    lower case; other ids (SSH ``SHA256:...``, case-sensitive base64) as they are."""
    compact = "".join(keyid.split())
    if compact[:2] in ("0x", "0X"):
        compact = compact[2:]
    return compact.lower() if _HEX.fullmatch(compact) else keyid


def sign_payload(payload: bytes, signer: Signer) -> dict[str, Any]:
    envelope = Envelope(payload, PAYLOAD_TYPE, {})
    envelope.sign(signer)
    document: dict[str, Any] = envelope.to_dict()
    return document


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise EnvelopeError(f"{what} is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EnvelopeError(f"{what} is not valid base64: {exc}") from None


def _signature(entry: Any) -> Signature:
    if not isinstance(entry, dict) or not isinstance(entry.get("keyid"), str) or not entry["keyid"]:
        raise EnvelopeError("a signature has no keyid")
    extra = {k: v for k, v in entry.items() if k not in ("keyid", "sig")}
    if not all(isinstance(v, str) for v in extra.values()):
        raise EnvelopeError("a signature has fields that are not strings")
    sig = _b64(entry.get("sig"), "a signature's sig")
    if not sig:
        raise EnvelopeError("a signature is empty")
    return Signature(canonical_keyid(entry["keyid"]), sig.hex(), extra)


def parse_envelope(document: Any) -> Envelope:
    if not isinstance(document, dict) or set(document) != _FIELDS:
        raise EnvelopeError("not a DSSE envelope (payload, payloadType, signatures)")
    if document["payloadType"] != PAYLOAD_TYPE:
        shown = document["payloadType"]
        shown = repr(shown[:100]) if isinstance(shown, str) else type(shown).__name__
        raise EnvelopeError(f"payloadType {shown} is not {PAYLOAD_TYPE}")
    signatures = document["signatures"]
    if not isinstance(signatures, list) or not signatures:
        raise EnvelopeError("the envelope has no signatures")
    if len(signatures) > MAX_SIGNATURES:
        raise EnvelopeError(f"{len(signatures)} signatures, more than the {MAX_SIGNATURES} accepted")
    payload = _b64(document["payload"], "the payload")
    parsed: dict[str, Signature] = {}
    for entry in signatures:
        signature = _signature(entry)
        if signature.keyid in parsed:
            raise EnvelopeError(f"key {signature.keyid[:100]} signs twice")
        parsed[signature.keyid] = signature
    return Envelope(payload, PAYLOAD_TYPE, parsed)


def envelope_line(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))
