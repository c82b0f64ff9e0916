"""PEP 740 provenance: verify what an index serves against the expected publisher; attest in CI.

- ``publisher``: the publisher SPEC (``github:``, ``gitlab:``, ``google:``, ``email:``) and its
  default from the policy's ``[provenance]`` table.
- ``attestation``: one attestation verified against one identity, offline, under the
  ``vouch.trust.Trust`` the command was given (production, staging, or a pinned root).
- ``verify``: a file's attestations or provenance object checked attestation by attestation,
  with the index's publisher claim compared to the certificate.
- ``report``: the per-file verdicts (verified, failed, no provenance, not checked).
- ``release``: ``NAME==VERSION``: every file of a release, from a PEP 691 index.
- ``attest``: PEP 740 publish attestations from a CI job's ambient OIDC identity.
"""
