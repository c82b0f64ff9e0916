"""``vouch attest``: PEP 740 publish attestations from a CI job's ambient OIDC identity.

In GitHub Actions (with ``permissions: id-token: write``), GitLab CI (with an ``id_tokens`` entry
``SIGSTORE_ID_TOKEN`` of audience ``sigstore``), Google Cloud, CircleCI (``id`` runs the job's
``circleci run oidc get --claims '{"aud": "sigstore"}' --root-issuer``), and the other CIs the ``id``
package knows, the job's OIDC token is exchanged with Sigstore for a short-lived certificate, and
each distribution gets ``DIST.publish.attestation``. All attestations are verified against the
expected publisher before any is written; an existing attestation file is never overwritten. The
token is never printed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypi_attestations import Attestation, AttestationError, Distribution
from sigstore.errors import Error as SigstoreError

from vouch.atomic import write_bytes_atomic
from vouch.errors import CheckError, OutputError, UsageError, VerificationError
from vouch.provenance.attestation import verify_attestation
from vouch.provenance.publisher import ExpectedPublisher
from vouch.provenance.report import FORMAT_VERSION, one_line
from vouch.provenance.verify import local_distribution
from vouch.trust import Trust

SUFFIX = ".publish.attestation"
NO_CREDENTIAL = (
    "no ambient OIDC credential: vouch attest signs with the identity of the CI job that runs it "
    "(Trusted Publishing), and this environment offers none"
)
GRANT = (
    "on GitHub Actions give the job `permissions: id-token: write` (pull requests from forks get no "
    "token); on GitLab CI add `id_tokens: {SIGSTORE_ID_TOKEN: {aud: sigstore}}` to the job; on Google "
    "Cloud run as a service account; on CircleCI the token comes from `circleci run oidc get`, so "
    "the job's `circleci` command must be on PATH"
)
Credential = Callable[[], str | None]
Signer = Callable[[str, Sequence[Distribution], bool], list[Attestation]]


@dataclass(frozen=True)
class Attested:
    dist: Path
    attestation: Path
    sha256: str
    predicate_type: str
    signer: str

    def to_json(self) -> dict[str, Any]:
        return {
            "dist": str(self.dist),
            "attestation": str(self.attestation),
            "sha256": self.sha256,
            "predicate_type": self.predicate_type,
            "signer": self.signer,
        }


@dataclass(frozen=True)
class AttestReport:
    publisher: ExpectedPublisher
    trust_root: str
    attested: tuple[Attested, ...]
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "ok": True,
            "publisher": self.publisher.to_json(),
            "trust_root": self.trust_root,
            "attested": [a.to_json() for a in self.attested],
            "notes": list(self.notes),
        }


def ambient_credential() -> str | None:
    """The CI job's OIDC token for Sigstore, None when the environment offers none."""
    from sigstore.oidc import IdentityError, detect_credential  # noqa: PLC0415 - loads an HTTP client

    try:
        return detect_credential()
    except IdentityError as exc:
        raise CheckError(
            f"the ambient OIDC credential could not be obtained: {one_line(exc)}", hint=GRANT
        ) from exc


def sigstore_sign(token: str, dists: Sequence[Distribution], staging: bool) -> list[Attestation]:
    """Sign each distribution's publish statement with a Fulcio certificate for ``token``, logged in Rekor."""
    from sigstore.models import ClientTrustConfig  # noqa: PLC0415
    from sigstore.oidc import IdentityToken  # noqa: PLC0415
    from sigstore.sign import SigningContext  # noqa: PLC0415

    try:
        identity = IdentityToken(token)  # parsed first: a malformed token fails before any request
        config = ClientTrustConfig.staging() if staging else ClientTrustConfig.production()
        config.force_tlog_version = 1  # PEP 740 attestations carry Rekor v1 entries (as pypi-attestations)
        context = SigningContext.from_trust_config(config)
        with context.signer(identity, cache=True) as signer:
            return [Attestation.sign(signer, dist) for dist in dists]
    except (SigstoreError, AttestationError, OSError) as exc:
        raise CheckError(f"signing with Sigstore failed: {one_line(exc)}") from exc


def attest(
    dists: Sequence[Path],
    publisher: ExpectedPublisher,
    *,
    trust: Trust | None = None,
    credential: Credential = ambient_credential,
    sign: Signer = sigstore_sign,
) -> AttestReport:
    """Attest every file of ``dists``, verify every attestation, then write them all (or none).

    ``trust`` is the root the new attestations are verified under, and picks Sigstore staging
    or production for signing (default: production)."""
    trust = trust if trust is not None else Trust()
    if not dists:
        raise UsageError("name the distributions to attest")
    targets = [path.with_name(path.name + SUFFIX) for path in dists]
    if len({target.resolve() for target in targets}) != len(targets):
        raise UsageError("a distribution is named twice")
    for target in targets:
        if target.exists() or target.is_symlink():
            raise UsageError(f"{target} already exists; vouch attest never overwrites an attestation",
                             hint="remove it if it is stale, or keep it and skip this file")  # fmt: skip
    distributions = [local_distribution(path) for path in dists]
    token = credential()
    if token is None:
        raise CheckError(NO_CREDENTIAL, hint=GRANT)
    attestations = sign(token, distributions, trust.staging)
    if len(attestations) != len(distributions):
        raise CheckError(
            f"the signer returned {len(attestations)} attestations for {len(distributions)} files"
        )
    attested, failures = [], []
    for path, target, dist, attestation in zip(dists, targets, distributions, attestations, strict=True):
        try:
            verified = verify_attestation(trust, attestation, publisher.identity, dist)
        except VerificationError as exc:
            failures.append(f"{path.name}: {exc}")
            continue
        attested.append(Attested(path, target, dist.digest, verified.predicate_type, verified.signer))
    if failures:
        raise VerificationError(
            f"the new attestations do not verify against {publisher.spec}, so none was written: "
            + "; ".join(failures),
            hint="the publisher SPEC must name this CI job: its repository, workflow file (and, "
            "for the index, its environment)",
        )
    for item, attestation in zip(attested, attestations, strict=True):
        write_new(item.attestation, attestation.model_dump_json().encode())
    notes: tuple[str, ...] = ()
    if publisher.environment is not None:
        notes = (f"environment {publisher.environment!r}: not in the Sigstore certificate; the index "
                 "records it from the job's token when it accepts the upload",)  # fmt: skip
    return AttestReport(publisher, trust.name, tuple(attested), notes)


def write_new(path: Path, data: bytes) -> None:
    """Write ``path`` atomically, refusing to replace an existing file (even one that appeared meanwhile)."""
    try:
        write_bytes_atomic(path, data, exclusive=True)
    except FileExistsError as exc:
        raise OutputError(f"{path} appeared meanwhile; it was not overwritten") from exc
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}") from exc
