"""Tampered PEP 740 attestations and provenance fail closed; the index's publisher claim is checked.

The changes are made to the real fixtures in each test: a flipped byte in the signature, the
statement, the certificate; a changed Rekor entry; a publisher claim that disagrees with the
certificate; an environment that the claim does not name.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.clirun import run
from tests.pep740_assets import DISTS, PA
from tests.test_provenance import CASES, GITHUB_PA, PA_SDIST, verify_args

CLAIM = {"kind": "GitHub", "repository": "trailofbits/pypi-attestations", "workflow": "release.yml"}

pytestmark = [pytest.mark.network, pytest.mark.usefixtures("pep740_assets", "sigstore_cache")]


def _flip(b64: str, position: int) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[position % len(raw)] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def _tampered_attestation(tmp_path: Path, change: str) -> Path:
    document = json.loads((PA / f"{PA_SDIST}.publish.attestation").read_text())
    if change == "signature":
        document["envelope"]["signature"] = _flip(document["envelope"]["signature"], 10)
    elif change == "statement":
        document["envelope"]["statement"] = _flip(document["envelope"]["statement"], 40)
    elif change == "certificate":  # in the issuer's signature at the end of the certificate
        material = document["verification_material"]
        material["certificate"] = _flip(material["certificate"], -20)
    elif change == "certificate-key":  # in the subject public key
        material = document["verification_material"]
        material["certificate"] = _flip(material["certificate"], 400)
    elif change == "log-entry-time":
        entry = document["verification_material"]["transparency_entries"][0]
        entry["integratedTime"] = str(int(entry["integratedTime"]) + 1)
    elif change == "garbage":
        path = tmp_path / "garbage.attestation"
        path.write_bytes(b"\x00not json")
        return path
    path = tmp_path / f"{change}.attestation"
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("signature", "DSSE: invalid signature"),
        ("statement", "DSSE: invalid signature"),
        ("certificate", "certificate chain"),
        ("certificate-key", "certificate chain"),
        ("log-entry-time", "invalid inclusion promise"),
        ("garbage", "not a PEP 740 attestation or Sigstore bundle"),
    ],
)
def test_tampered_attestation_fails(
    change: str, reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _tampered_attestation(tmp_path, change)
    args = ["provenance", "verify", "--filename", PA_SDIST, "--sha256", DISTS[PA_SDIST][1],
            "--attestation", str(path), "--publisher", GITHUB_PA, "--json"]  # fmt: skip
    code, out, _ = run(args, capsys)
    file = json.loads(out)["files"][0]
    assert (code, file["status"]) == (1, "failed")
    assert reason in file["reason"]


def _tampered_provenance(tmp_path: Path, **publisher: Any) -> Path:
    document = json.loads((PA / f"{PA_SDIST}.provenance").read_text())
    document["attestation_bundles"][0]["publisher"].update(publisher)
    path = tmp_path / f"{PA_SDIST}.provenance"
    path.write_text(json.dumps(document))
    return path


def _verify_sample(
    path: Path, publisher: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, Any]]:
    args = ["provenance", "verify", "--filename", PA_SDIST, "--sha256",
            DISTS[PA_SDIST][1], "--provenance", str(path), "--publisher", publisher,
            "--json"]  # fmt: skip
    code, out, _ = run(args, capsys)
    file: dict[str, Any] = json.loads(out)["files"][0]
    return code, file


@pytest.mark.parametrize(
    ("claim", "shown"),
    [
        ({"repository": "evil/pypi-attestations"}, "github:evil/pypi-attestations/release.yml"),
        ({"workflow": "other.yml"}, "github:trailofbits/pypi-attestations/other.yml"),
        ({"kind": "GitLab", "workflow_filepath": "release.yml"},
         "gitlab:trailofbits/pypi-attestations/release.yml"),
    ],
)
def test_publisher_claim_that_disagrees_with_the_certificate_fails(
    claim: dict[str, str], shown: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, file = _verify_sample(_tampered_provenance(tmp_path, **claim), GITHUB_PA, capsys)
    assert (code, file["status"]) == (1, "failed")
    assert f"publisher claim {shown} disagrees with the certificate" in file["reason"]
    assert file["attestations"][0]["verified"]  # the certificate itself is the expected publisher


def test_environment_is_compared_with_the_claim_and_labelled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _tampered_provenance(tmp_path, environment="pypi")
    code, file = _verify_sample(path, f"{GITHUB_PA}@pypi", capsys)
    assert code == 0
    assert any("matches the index's publisher claim" in n and "not in the Sigstore certificate" in n
               for n in file["notes"])  # fmt: skip
    code, file = _verify_sample(path, f"{GITHUB_PA}@release", capsys)
    assert (code, file["status"]) == (1, "failed")
    assert "claim says 'pypi', expected 'release' (a claim by the index" in file["reason"]
    code, file = _verify_sample(path, GITHUB_PA, capsys)
    assert code == 0
    assert any("claimed by the index, not required" in n for n in file["notes"])
    # the real provenance claims no environment (null)
    code, file = _verify_sample(PA / f"{PA_SDIST}.provenance", f"{GITHUB_PA}@pypi", capsys)
    assert code == 1
    assert "claim says none, expected 'pypi'" in file["reason"]


def test_environment_that_an_attestation_file_cannot_prove_fails(capsys: pytest.CaptureFixture[str]) -> None:
    """A real attestation that verifies, but the publisher demands an environment that no
    attestation file can show (the certificate holds none, the file carries no claim)."""
    case = next(c for c in CASES if c.id == "pa-publish")
    args = verify_args(case, pinned=False)
    args[args.index(GITHUB_PA)] = f"{GITHUB_PA}@release"
    code, out, err = run(args, capsys)
    report = json.loads(out)
    (file,) = report["files"]
    assert (code, file["status"], report["ok"]) == (1, "failed", False)
    assert all(a["verified"] for a in file["attestations"])  # the signature itself is fine
    assert "environment 'release': not checked" in file["reason"]
    assert "--unsafe-ignore-environment" in file["reason"]
    assert "\n" not in file["reason"]
    assert "warning" not in err

    code, out, err = run([*args, "--unsafe-ignore-environment"], capsys)
    (file,) = json.loads(out)["files"]
    assert (code, file["status"]) == (0, "verified")
    assert "environment 'release': not checked" in file["notes"][0]
    assert "warning: --unsafe-ignore-environment: the environment 'release'" in err


def test_unsafe_ignore_environment_is_refused_for_a_release(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["provenance", "demo==1.0", "--publisher", f"{GITHUB_PA}@release",
                        "--unsafe-ignore-environment"], capsys)  # fmt: skip
    assert code == 2
    # refused by the verb parser (an option of `verify` only): one line, exit 2
    assert "--unsafe-ignore-environment applies to `vouch provenance verify`, not to NAME==VERSION" in err


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"version": 1, "attestation_bundles": []}, "holds no attestation bundles"),
        (
            {"version": 1, "attestation_bundles": [{"publisher": CLAIM, "attestations": []}]},
            "holds no attestations",
        ),
        ({"version": 2, "attestation_bundles": []}, "not a PEP 740 provenance object"),
    ],
)
def test_empty_or_unknown_provenance_fails(
    document: dict[str, Any], reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.provenance"
    path.write_text(json.dumps(document))
    code, file = _verify_sample(path, GITHUB_PA, capsys)
    assert (code, file["status"]) == (1, "failed")
    assert reason in file["reason"]
