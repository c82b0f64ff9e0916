"""Sigstore keyless signing of a vouch statement, from the CI job's ambient OIDC identity.

sigstore-python signs the statement as a DSSE envelope inside a Sigstore bundle (Fulcio certificate,
Rekor entry). It needs an ambient credential (GitHub Actions with ``id-token: write``, GitLab CI
``id_tokens``, Google Cloud) and the network; neither exists where vouch's tests run, so this path
is exercised in CI workflows only, and ``vouch check`` verifies the bundles it makes.
"""

from __future__ import annotations

import json
from typing import Any

from vouch.errors import CheckError


def sign_keyless(payload: bytes) -> tuple[str, dict[str, Any]]:
    """(the certificate identity, the bundle as JSON) for ``payload``, an in-toto statement."""
    from sigstore.dsse import Statement  # noqa: PLC0415 - sigstore is slow to import
    from sigstore.errors import Error as SigstoreError  # noqa: PLC0415
    from sigstore.models import ClientTrustConfig  # noqa: PLC0415
    from sigstore.oidc import IdentityToken, detect_credential  # noqa: PLC0415
    from sigstore.sign import SigningContext  # noqa: PLC0415

    try:
        credential = detect_credential()
    except SigstoreError as exc:
        raise CheckError(f"cannot obtain an OIDC credential: {exc}") from exc
    if credential is None:
        raise CheckError(
            "no ambient OIDC credential for Sigstore signing",
            hint="in GitHub Actions give the job `permissions: id-token: write`; in GitLab CI add "
            "`id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore`; or sign with --key ssh:... or gpg:...",
        )
    try:
        token = IdentityToken(credential)
        context = SigningContext.from_trust_config(ClientTrustConfig.production())
        with context.signer(token) as signer:
            bundle = signer.sign_dsse(Statement(payload))
    except SigstoreError as exc:
        raise CheckError(f"Sigstore signing failed: {exc}") from exc
    return str(token.identity), json.loads(bundle.to_json())
