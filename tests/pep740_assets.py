"""Real PEP 740 test assets from a pinned public source, so a fresh clone needs nothing beside it.

The sdist of pypi-attestations 0.0.30 on PyPI carries trailofbits/pypi-attestations' own
``test/assets/``: real Sigstore attestations, Integrity API provenance files and the distributions
they attest (GitHub, GitLab, Google Cloud Build, CircleCI, and staging email identities). They
verify offline: each Rekor entry carries its inclusion proof. The sdist is downloaded once at test
time from files.pythonhosted.org, its sha256 checked against the value pinned here, and its
``test/assets/`` extracted (regular files only, by base name) into ``$VOUCH_TEST_CACHE`` (default
``~/.cache/vouch-tests``), atomically, so parallel workers and later runs reuse it.

Sigstore's trust roots (production and staging ``trusted_root.json``) come from the installed
``sigstore`` package, which ships them for offline verification.

One derived file is made here from a real one: a GitLab Integrity API provenance wrapping the real
GitLab attestation, with the publisher claim that PyPI would serve for it (the claim is the
index's unsigned word, so writing it is what an index does; the signature is untouched).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import tempfile
from importlib import resources
from pathlib import Path

import httpx
import pytest

SDIST = "pypi_attestations-0.0.30.tar.gz"
SDIST_URL = (
    "https://files.pythonhosted.org/packages/97/1e/"
    "eb8a0233cdcaf01acb18076ac8b8a057714177b3717baf26b78a11b8d929/pypi_attestations-0.0.30.tar.gz"
)
SDIST_SHA256 = "14ff13c76bbef02a483c2b77532da02bfd746b5141b881f355e06b9807434423"
_MAX_SDIST = 4 * 1024 * 1024  # it is 139,108 bytes; anything much larger is not that file
_MAX_MEMBER = 1024 * 1024
_PREFIX = "pypi_attestations-0.0.30/test/assets/"

CACHE = Path(os.environ.get("VOUCH_TEST_CACHE") or Path.home() / ".cache" / "vouch-tests")
ROOT = CACHE / f"pypi-attestations-0.0.30-{SDIST_SHA256[:16]}"
PA = ROOT / "assets"  # test/assets/ of the sdist
DERIVED = ROOT / "derived"  # files made here from real ones (see the module docstring)
GITLAB_PROVENANCE = DERIVED / "gitlab_oidc_project-0.0.3.tar.gz.provenance"

_SIGSTORE_STORE = Path(str(resources.files("sigstore"))) / "_store"
TRUSTED_ROOT = {  # the roots that sigstore itself ships and verifies offline with
    "production": _SIGSTORE_STORE / "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev" / "trusted_root.json",
    "staging": _SIGSTORE_STORE / "https%3A%2F%2Ftuf-repo-cdn.sigstage.dev" / "trusted_root.json",
}

# The distributions that the assets attest: filename -> (requirement on PyPI or "-", sha256).
# Those with "-" are only in the sdist's assets; the others are also on PyPI under that digest.
DISTS: dict[str, tuple[str, str]] = {
    "pypi_attestations-0.0.19.tar.gz": (
        "pypi-attestations==0.0.19",
        "9bb1add04b1b4e182be6b0b80931593f7a291eb49d69b4fd728a5d4cbcdc4bd3",
    ),
    "pypi_attestations-0.0.30.tar.gz": ("pypi-attestations==0.0.30", SDIST_SHA256),
    "pypi_attestation_models-0.0.4a2.tar.gz": (
        "pypi-attestation-models==0.0.4a2",
        "c9709ce6fd5b67b59b4a28758cf14d3f411803c4b89b6068b1f1a8e4ee94c8ef",
    ),
    "rfc8785-0.1.2-py3-none-any.whl": (
        "rfc8785==0.1.2",
        "c4e92e9ecc828bef2aa7dba1de8ac983511f7532a0df11c770d39099a25cf201",
    ),
    "sampleproject-4.0.0.tar.gz": (
        "sampleproject==4.0.0",
        "0ace7980f82c5815ede4cd7bf9f6693684cec2ae47b9b7ade9add533b8627c6b",
    ),
    "gitlab_oidc_project-0.0.3.tar.gz": (
        "-",
        "c1ca9b0d85df1606451098233018534497bf584362e10e4a8c21dfaea92c02a8",
    ),
    "gcb_attestation_test-0.0.0.tar.gz": (
        "-",
        "461317362419124b6012e855423a9078d6de8aed3e74fa78cc74d669b23dc6cf",
    ),
    "circleci_sign_publish_example-0.0.1.dev137-py3-none-any.whl": (
        "-",
        "8cb34da1e27336f11a2c43f3f9c7433bd76f24f470c904724f06ad7f131d9e9f",
    ),
}


def _download() -> bytes:
    with httpx.Client(timeout=60, follow_redirects=True) as client, client.stream("GET", SDIST_URL) as answer:
        answer.raise_for_status()
        data = bytearray()
        for chunk in answer.iter_bytes():
            data += chunk
            if len(data) > _MAX_SDIST:
                raise AssertionError(f"{SDIST_URL} is larger than {_MAX_SDIST} bytes")
    digest = hashlib.sha256(data).hexdigest()
    if digest != SDIST_SHA256:
        raise AssertionError(f"{SDIST} has sha256 {digest}, pinned {SDIST_SHA256}")
    return bytes(data)


def _extract(sdist: bytes, target: Path) -> None:
    """The regular files directly under test/assets/, by base name, each bounded in size."""
    with tarfile.open(fileobj=io.BytesIO(sdist), mode="r:gz") as archive:
        for member in archive:
            name = member.name.removeprefix(_PREFIX)
            if name == member.name or not name or "/" in name or name.startswith("."):
                continue
            if not member.isreg() or member.size > _MAX_MEMBER:
                raise AssertionError(f"{member.name} in {SDIST} is not a small regular file")
            source = archive.extractfile(member)
            assert source is not None
            (target / name).write_bytes(source.read())


def _derive(assets: Path, derived: Path) -> None:
    from pypi_attestations import (  # noqa: PLC0415  (imported only when the assets are prepared)
        Attestation,
        AttestationBundle,
        GitLabPublisher,
        Provenance,
    )

    attestation = Attestation.model_validate_json(
        (assets / "gitlab_oidc_project-0.0.3.tar.gz.publish.attestation").read_bytes()
    )
    claim = GitLabPublisher(repository="facutuesca/gitlab-oidc-project", workflow_filepath=".gitlab-ci.yml")
    bundle = AttestationBundle(publisher=claim, attestations=[attestation])
    provenance = Provenance(attestation_bundles=[bundle])
    (derived / GITLAB_PROVENANCE.name).write_text(provenance.model_dump_json(), encoding="utf-8")


def ensure_assets() -> Path:
    """The extracted ``test/assets/`` folder; downloads and prepares it on first use."""
    if PA.is_dir() and DERIVED.is_dir():
        return PA
    CACHE.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".pypi-attestations-", dir=CACHE))
    try:
        (staging / "assets").mkdir()
        (staging / "derived").mkdir()
        _extract(_download(), staging / "assets")
        _derive(staging / "assets", staging / "derived")
        try:
            staging.rename(ROOT)
        except OSError:
            if not PA.is_dir():  # not another worker that won the race
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return PA


@pytest.fixture
def sigstore_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """sigstore copies its bundled trust root into the user's cache: xdist workers must not race there."""
    root = tmp_path_factory.getbasetemp() / "sigstore"
    monkeypatch.setenv("XDG_CACHE_HOME", str(root / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(root / "data"))


@pytest.fixture(scope="session")
def pep740_assets() -> Path:
    """Request this (or ``usefixtures``) in every test that reads ``PA`` or ``DERIVED``; mark it network."""
    return ensure_assets()
