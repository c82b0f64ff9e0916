"""`vouch attest`: refuses without an ambient OIDC credential, never overwrites, writes only what verifies.

Signing needs a CI's OIDC token and Sigstore's services, neither of which exists here: the signer
is replaced by one that returns a recorded real attestation, and vouch verifies it as it would a
fresh one.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
from pypi_attestations import Attestation, Distribution

from tests.clirun import run
from tests.pep740_assets import DISTS, PA
from tests.test_provenance import GITHUB_PA, PA_SDIST, real_dist
from vouch.errors import CheckError, UsageError, VerificationError
from vouch.provenance.attest import attest, sigstore_sign
from vouch.provenance.publisher import parse_publisher

AMBIENT = [
    "GITHUB_ACTIONS", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "GITLAB_CI",
    "SIGSTORE_ID_TOKEN", "SIGSTORE_IDENTITY_TOKEN", "BUILDKITE", "CIRCLECI", "GOOGLE_SERVICE_ACCOUNT_NAME",
]  # fmt: skip
TOKEN = "token"  # noqa: S105 - a stand-in, never sent anywhere
pytestmark = [pytest.mark.network, pytest.mark.usefixtures("pep740_assets", "sigstore_cache")]


def recorded() -> Attestation:
    return Attestation.model_validate_json((PA / f"{PA_SDIST}.publish.attestation").read_bytes())


@pytest.fixture(autouse=True)
def _no_ambient_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in AMBIENT:
        monkeypatch.delenv(name, raising=False)


def recorded_signer(token: str, dists: Sequence[Distribution], staging: bool) -> list[Attestation]:
    assert token == TOKEN
    assert not staging
    return [recorded() for _ in dists]


@pytest.fixture
def sdist(tmp_path: Path) -> Path:
    """A file named like the attested sdist, with other bytes (enough to reach the credential)."""
    path = tmp_path / PA_SDIST
    path.write_bytes(b"not the real sdist")
    return path


def test_without_a_credential_exit_3_and_say_how_to_grant_one(
    sdist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["attest", str(sdist), "--publisher", GITHUB_PA], capsys)
    assert code == 3
    assert "no ambient OIDC credential" in err
    assert "permissions: id-token: write" in err
    assert not list(sdist.parent.glob("*.attestation"))
    code, out, _ = run(["attest", str(sdist), "--publisher", GITHUB_PA, "--json"], capsys)
    assert code == 3
    assert json.loads(out.splitlines()[0])["error"]["type"] == "CheckError"


def test_github_actions_without_id_token_permission(
    sdist: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, _, err = run(["attest", str(sdist), "--publisher", GITHUB_PA], capsys)
    assert code == 3
    assert "could not be obtained" in err
    assert "ACTIONS_ID_TOKEN_REQUEST" in err
    assert "id-token: write" in err


def test_existing_attestation_is_never_overwritten(sdist: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = sdist.with_name(sdist.name + ".publish.attestation")
    existing.write_text("keep me")
    code, _, err = run(["attest", str(sdist), "--publisher", GITHUB_PA], capsys)
    assert code == 2
    assert "never overwrites" in err
    assert existing.read_text() == "keep me"
    with pytest.raises(UsageError, match="never overwrites"):
        attest([sdist], parse_publisher(GITHUB_PA), credential=lambda: TOKEN, sign=recorded_signer)
    assert existing.read_text() == "keep me"


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["attest", str(tmp_path / "missing-1.0.tar.gz"), "--publisher", GITHUB_PA], capsys)[0] == 2
    (tmp_path / "notes.txt").write_text("x")
    code, _, err = run(["attest", str(tmp_path / "notes.txt"), "--publisher", GITHUB_PA], capsys)
    assert code == 2
    assert "not an sdist or wheel" in err
    code, _, err = run(["attest", str(tmp_path / "notes.txt"), "--publisher", "github:x"], capsys)
    assert code == 2


def test_attestation_that_does_not_verify_is_not_written(sdist: Path) -> None:
    with pytest.raises(VerificationError, match="none was written") as caught:
        attest([sdist], parse_publisher(GITHUB_PA), credential=lambda: TOKEN, sign=recorded_signer)
    assert "subject does not match distribution digest" in str(caught.value)
    assert not list(sdist.parent.glob("*.attestation"))


def test_the_token_is_never_printed(sdist: Path) -> None:
    secret = "secret-token-value"  # noqa: S105 - must not appear in any message
    with pytest.raises(CheckError) as caught:
        attest([sdist], parse_publisher(GITHUB_PA), credential=lambda: secret, sign=sigstore_sign)
    assert "signing with Sigstore failed" in str(caught.value)
    assert secret not in str(caught.value)
    assert secret not in str(caught.value.__cause__)


@pytest.mark.network
def test_attest_writes_verified_attestations(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    dist = tmp_path / PA_SDIST
    shutil.copyfile(real_dist(PA_SDIST, tmp_path_factory.mktemp("pypi-dists")), dist)
    report = attest([dist], parse_publisher(GITHUB_PA), credential=lambda: TOKEN, sign=recorded_signer)
    (item,) = report.attested
    assert item.attestation == tmp_path / f"{PA_SDIST}.publish.attestation"
    assert item.sha256 == DISTS[PA_SDIST][1]
    assert item.signer.startswith("https://github.com/trailofbits/pypi-attestations/")
    written = Attestation.model_validate_json(item.attestation.read_bytes())
    assert written == recorded()
    assert (
        report.to_json()["attested"][0]["predicate_type"] == "https://docs.pypi.org/attestations/publish/v1"
    )
    with pytest.raises(UsageError, match="never overwrites"):
        attest([dist], parse_publisher(GITHUB_PA), credential=lambda: TOKEN, sign=recorded_signer)
    item.attestation.unlink()
    with pytest.raises(VerificationError, match="OIDCSourceRepositoryURI does not match"):
        attest([dist], parse_publisher("github:other/repo/release.yml"), credential=lambda: TOKEN,
               sign=recorded_signer)  # fmt: skip
    assert not item.attestation.exists()
