"""DSSE envelopes (securesystemslib's ``Envelope``) as vouch writes and reads them.

Parsing is strict: exactly the DSSE fields, the in-toto payload type, base64 that decodes, a
non-empty signature list with string key ids, no key id twice. The signature is verified over
PAE(payloadType, payload) of the bytes received, never over a re-serialised copy.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from securesystemslib.dsse import Envelope
from securesystemslib.signer import Signature, Signer

from vouch.sign.statement import PAYLOAD_TYPE

_FIELDS = {"payload", "payloadType", "signatures"}


class EnvelopeError(ValueError):
    """A line that is not a well-formed DSSE envelope; the message says why."""


def sign_payload(payload: bytes, signer: Signer) -> dict[str, Any]:
    envelope = Envelope(payload, PAYLOAD_TYPE, {})
    envelope.sign(signer)
    document: dict[str, Any] = envelope.to_dict()
    return document


def parse_envelope(document: Any) -> Envelope:
    if not isinstance(document, dict) or set(document) != _FIELDS:
        raise EnvelopeError("not a DSSE envelope (payload, payloadType, signatures)")
    if document["payloadType"] != PAYLOAD_TYPE:
        raise EnvelopeError(f"payloadType {document['payloadType']!r} is not {PAYLOAD_TYPE}")
    signatures = document["signatures"]
    if not isinstance(signatures, list) or not signatures:
        raise EnvelopeError("the envelope has no signatures")
    try:
        payload = base64.b64decode(document["payload"], validate=True)
        parsed: dict[str, Signature] = {}
        for entry in signatures:
            if not isinstance(entry, dict) or not isinstance(entry.get("keyid"), str):
                raise EnvelopeError("a signature has no keyid")
            extra = {k: v for k, v in entry.items() if k not in ("keyid", "sig")}
            sig = base64.b64decode(entry["sig"], validate=True).hex()
            if entry["keyid"] in parsed:
                raise EnvelopeError(f"key {entry['keyid']} signs twice")
            parsed[entry["keyid"]] = Signature(entry["keyid"], sig, extra)
    except (binascii.Error, TypeError, ValueError) as exc:
        if isinstance(exc, EnvelopeError):
            raise
        raise EnvelopeError(f"bad base64: {exc}") from exc
    return Envelope(payload, PAYLOAD_TYPE, parsed)


def envelope_line(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))
