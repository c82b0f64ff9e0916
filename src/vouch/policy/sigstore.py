"""Sigstore bundles as evidence: verified offline (the Rekor entry's inclusion proof and the
command's ``vouch.trust.Trust`` root) by sigstore-python, against each trusted signer's identity.

An identity may end in, or contain, ``*`` (``...release.yml@refs/tags/*``), which matches any run of
characters; sigstore's own ``Identity`` policy matches exactly, so the SAN check is done here,
with the issuer still checked by sigstore's ``OIDCIssuer``. Every trusted identity is tried and
all that match are returned: ``vouch check`` counts a bundle that matches two signers for
neither (the policy refuses such patterns unless ``unsafe-wildcard``).
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.x509 import (
    Certificate,
    OtherName,
    RFC822Name,
    SubjectAlternativeName,
    UniformResourceIdentifier,
)
from sigstore.errors import Error as SigstoreError
from sigstore.errors import VerificationError
from sigstore.models import Bundle
from sigstore.verify.policy import OIDCIssuer

from vouch.intoto import PAYLOAD_TYPE
from vouch.policy.identity import identity_regex
from vouch.policy.model import Policy
from vouch.trust import Trust

_OTHERNAME_SAN = "1.3.6.1.4.1.57264.1.7"


class IdentityPattern:
    """The certificate's SAN matches ``pattern`` (``*`` is a wildcard) and its issuer is ``issuer``."""

    def __init__(self, pattern: str, issuer: str) -> None:
        self.regex = identity_regex(pattern)
        self.issuer = OIDCIssuer(issuer)

    def verify(self, cert: Certificate) -> None:
        self.issuer.verify(cert)
        sans = cert.extensions.get_extension_for_class(SubjectAlternativeName).value
        values = set(sans.get_values_for_type(RFC822Name))
        values.update(sans.get_values_for_type(UniformResourceIdentifier))
        values.update(
            other.value.decode(errors="replace")
            for other in sans.get_values_for_type(OtherName)
            if other.type_id.dotted_string == _OTHERNAME_SAN
        )
        if not any(self.regex.match(value) for value in values):
            raise VerificationError(f"certificate identity {sorted(values)} does not match")


def sigstore_bundle_verifier(
    document: dict[str, Any], policy: Policy, trust: Trust
) -> tuple[set[str], bytes]:
    """The trusted signers whose identity the bundle verifies under (with ``trust``'s root), and its
    DSSE payload. A root that cannot be loaded is a CheckError, never a rejection of the bundle."""
    verifier = trust.verifier()
    try:
        bundle = Bundle.from_json(json.dumps(document))
    except (SigstoreError, ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"not a Sigstore bundle: {str(exc)[:300]}") from exc
    names: set[str] = set()
    payload = b""
    reasons = []
    for signer in policy.signers:
        if signer.sigstore_identity is None or signer.sigstore_issuer is None:
            continue
        try:
            payload_type, payload = verifier.verify_dsse(
                bundle, IdentityPattern(signer.sigstore_identity, signer.sigstore_issuer)
            )
        except (SigstoreError, VerificationError, ValueError) as exc:
            reasons.append(f"{signer.name}: {exc}")
            continue
        if payload_type != PAYLOAD_TYPE:
            raise ValueError(f"bundle payloadType {payload_type!r} is not {PAYLOAD_TYPE}")
        names.add(signer.name)
    if not names:
        raise ValueError("the Sigstore bundle verifies under no trusted identity" + (
            f" ({'; '.join(reasons)})" if reasons else ""))  # fmt: skip
    return names, payload
