"""CircleCI and Google Cloud Build: the real examples of the pinned pypi-attestations sdist verify
against their publishers and fail against every other; the CircleCI SPEC; `vouch attest` on CircleCI.

The CircleCI attestation was signed in CircleCI-Public/sign-and-publish-examples (project
fdd9283f-..., pipeline definition 8e4f8ab2-..., ref refs/heads/pypi); the Google Cloud Build
provenance by the service account 919436158236-compute@developer.gserviceaccount.com.
"""

from __future__ import annotations

import base64
import importlib.metadata
import json
import os
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from pypi_attestations import Attestation, CircleCIPublisher, Distribution, Provenance

from tests.clirun import run
from tests.pep740_assets import DISTS, PA
from tests.test_provenance import GITHUB_PA, GITLAB, GOOGLE
from vouch.errors import UsageError
from vouch.provenance.attest import ambient_credential, attest
from vouch.provenance.publisher import describe_claim, parse_publisher

PROJECT = "fdd9283f-e619-46af-8f9c-851f7d3e8b2b"
PIPELINE = "8e4f8ab2-8d7c-4827-9f15-de076d6d647f"
ORIGIN = "github.com/CircleCI-Public/sign-and-publish-examples"
CIRCLECI = f"circleci:{PROJECT}/{PIPELINE}"
CIRCLECI_FULL = f"{CIRCLECI},{ORIGIN},refs/heads/pypi"
WHEEL = "circleci_sign_publish_example-0.0.1.dev137-py3-none-any.whl"
GCB = "gcb_attestation_test-0.0.0.tar.gz"
OTHER_UUID = "00000000-0000-4000-8000-000000000000"


pytestmark = pytest.mark.usefixtures("sigstore_cache")


# --- the SPEC (no network) -------------------------------------------------------------------------


def test_circleci_spec_names_the_ids_and_optionally_the_origin_and_ref() -> None:
    plain = parse_publisher(CIRCLECI)
    assert plain.kind == "CircleCI"
    assert plain.identity == CircleCIPublisher(project_id=PROJECT, pipeline_definition_id=PIPELINE)
    full = parse_publisher(CIRCLECI_FULL)
    assert full.identity == CircleCIPublisher(
        project_id=PROJECT, pipeline_definition_id=PIPELINE, vcs_origin=ORIGIN, vcs_ref="refs/heads/pypi"
    )
    assert parse_publisher(f"{CIRCLECI},{ORIGIN}").identity == CircleCIPublisher(
        project_id=PROJECT, pipeline_definition_id=PIPELINE, vcs_origin=ORIGIN
    )
    assert parse_publisher(CIRCLECI.upper().replace("CIRCLECI:", "circleci:")).identity == plain.identity
    # an index's claim is written back as the same SPEC
    assert describe_claim(full.identity) == CIRCLECI_FULL
    assert describe_claim(plain.identity) == CIRCLECI


@pytest.mark.parametrize(
    "spec",
    [
        "circleci:",
        f"circleci:{PROJECT}",
        f"circleci:{PROJECT}/not-a-uuid",
        f"circleci:{PROJECT}/{PIPELINE}/extra",
        f"circleci:{CIRCLECI[9:]},https://{ORIGIN}",
        f"circleci:{CIRCLECI[9:]},{ORIGIN},main",
        f"circleci:{CIRCLECI[9:]},{ORIGIN},refs/heads/a b",
        f"circleci:{CIRCLECI[9:]},",
    ],
)
def test_a_malformed_circleci_spec_is_a_usage_error(spec: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError):
        parse_publisher(spec)
    code, _, err = run(["provenance", "verify", "--filename", WHEEL, "--sha256", "0" * 64,
                        "--attestation", "x.attestation", "--publisher", spec], capsys)  # fmt: skip
    assert code == 2
    assert "circleci:" in err


def test_pypi_attestations_is_within_the_range_its_private_policy_use_was_checked_against() -> None:
    """vouch turns publishers into sigstore policies with pypi-attestations' private ``_as_policy``
    (provenance/attestation.py); the upper bound in pyproject.toml keeps a release that may change
    it out until someone checks it again. This test notices an installed version outside it."""
    installed = Version(importlib.metadata.version("pypi-attestations"))
    requirement = next(r for r in importlib.metadata.requires("vouch-release") or []
                       if r.startswith("pypi-attestations"))  # fmt: skip
    specifier = SpecifierSet(requirement.removeprefix("pypi-attestations").split(";")[0])
    assert any(s.operator == "<" for s in specifier), f"no upper bound in {requirement!r}"
    assert installed in specifier
    assert installed in SpecifierSet(">=0.0.26,<0.0.31"), "re-check _as_policy, then widen both bounds"
    assert callable(CircleCIPublisher(project_id=PROJECT, pipeline_definition_id=PIPELINE)._as_policy)


# --- the real files (network: the pinned sdist) ----------------------------------------------------

CASES = [
    # (evidence, publisher, expected reason or None)
    (f"{WHEEL}.publish.attestation", CIRCLECI, None),
    (f"{WHEEL}.publish.attestation", CIRCLECI_FULL, None),
    (f"{WHEEL}.provenance", CIRCLECI_FULL, None),
    (f"{WHEEL}.publish.attestation", f"circleci:{OTHER_UUID}/{PIPELINE}", "Build Signer URI"),
    (f"{WHEEL}.publish.attestation", f"circleci:{PROJECT}/{OTHER_UUID}", "Build Signer URI"),
    (f"{WHEEL}.publish.attestation", f"{CIRCLECI},github.com/other/repo", "OIDCSourceRepositoryURI"),
    (f"{WHEEL}.publish.attestation", f"{CIRCLECI},{ORIGIN},refs/heads/main", "OIDCSourceRepositoryRef"),
    (f"{WHEEL}.provenance", f"circleci:{OTHER_UUID}/{PIPELINE}", "Build Signer URI"),
    (f"{WHEEL}.publish.attestation", GITHUB_PA, "OIDCIssuerV2 does not match"),
    (f"{WHEEL}.publish.attestation", GITLAB, "OIDCIssuerV2 does not match"),
    (f"{WHEEL}.publish.attestation", GOOGLE, "OIDCIssuer does not match"),
    (f"{GCB}.provenance", GOOGLE, None),
    (f"{GCB}.provenance", CIRCLECI, "OIDCIssuerV2 does not match"),
    (f"{GCB}.provenance", "google:someone-else@developer.gserviceaccount.com", "SANs do not match"),
    (f"{GCB}.provenance", GITLAB, "OIDCIssuerV2 does not match"),
]


@pytest.mark.network
@pytest.mark.usefixtures("pep740_assets")
@pytest.mark.parametrize(("evidence", "publisher", "reason"), CASES)
def test_real_circleci_and_cloud_build_files_verify_only_against_their_publisher(
    evidence: str, publisher: str, reason: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    dist = WHEEL if evidence.startswith(WHEEL) else GCB
    flag = "--provenance" if evidence.endswith(".provenance") else "--attestation"
    code, out, err = run(
        ["provenance", "verify", "--filename", dist, "--sha256", DISTS[dist][1], flag, str(PA / evidence),
         "--publisher", publisher, "--json"], capsys,
    )  # fmt: skip
    report = json.loads(out)
    (file,) = report["files"]
    if reason is None:
        assert code == 0, out + err
        assert file["status"] == "verified"
        return
    assert code == 1, out + err
    assert file["status"] == "failed"
    assert reason in file["reason"]


@pytest.mark.network
@pytest.mark.usefixtures("pep740_assets")
def test_the_index_claim_of_the_circleci_provenance_is_reported_as_a_spec(
    capsys: pytest.CaptureFixture[str],
) -> None:
    claim = Provenance.model_validate_json((PA / f"{WHEEL}.provenance").read_bytes())
    assert describe_claim(claim.attestation_bundles[0].publisher) == CIRCLECI_FULL
    provenance = str(PA / f"{WHEEL}.provenance")
    code, out, _ = run(["provenance", "verify", "--filename", WHEEL, "--sha256", DISTS[WHEEL][1],
                        "--provenance", provenance, "--publisher", CIRCLECI], capsys)  # fmt: skip
    assert code == 0
    assert f"index's publisher claim: {CIRCLECI_FULL}" in out


@pytest.mark.network
@pytest.mark.usefixtures("pep740_assets")
def test_attest_on_circleci_writes_an_attestation_verified_as_the_circleci_publisher(tmp_path: Path) -> None:
    """Signing needs CircleCI's token and Sigstore: the signer returns the recorded real CircleCI
    attestation, and vouch verifies it against the SPEC before writing it."""
    wheel = tmp_path / WHEEL
    shutil.copyfile(PA / WHEEL, wheel)
    real = Attestation.model_validate_json((PA / f"{WHEEL}.publish.attestation").read_bytes())

    def signer(token: str, dists: Sequence[Distribution], staging: bool) -> list[Attestation]:
        assert (token, staging) == ("circleci-token", False)
        return [real for _ in dists]

    report = attest([wheel], parse_publisher(CIRCLECI_FULL), credential=lambda: "circleci-token", sign=signer)
    (item,) = report.attested
    assert item.signer == f"https://circleci.com/api/v2/projects/{PROJECT}/pipeline-definitions/{PIPELINE}"
    assert Attestation.model_validate_json(item.attestation.read_bytes()) == real
    item.attestation.unlink()
    with pytest.raises(Exception, match="Build Signer URI"):
        attest([wheel], parse_publisher(f"circleci:{PROJECT}/{OTHER_UUID}"),
               credential=lambda: "circleci-token", sign=signer)  # fmt: skip
    assert not item.attestation.exists()


def _jwt(claims: dict[str, str]) -> str:
    def part(value: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(claims)}.c2lnbmF0dXJl"


def test_the_ambient_credential_on_circleci_comes_from_circleci_run_oidc_get(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The `circleci` command that CircleCI puts in a job cannot run here: a stand-in on PATH answers
    as it does, and records what it was asked. vouch (through sigstore and id) asks it for a token
    of audience `sigstore` from CircleCI's root issuer (the issuer in a CircleCI certificate)."""
    for name in ("GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "GOOGLE_SERVICE_ACCOUNT_NAME",
                 "SIGSTORE_ID_TOKEN", "SIGSTORE_IDENTITY_TOKEN"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    token = _jwt({"aud": "sigstore", "iss": "https://oidc.circleci.com"})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "circleci"
    tool.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{tmp_path}/argv"\nprintf "%s\\n" "{token}"\n')
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("CIRCLECI", "true")
    assert ambient_credential() == token
    argv = (tmp_path / "argv").read_text().splitlines()
    assert argv[:4] == ["run", "oidc", "get", "--claims"]
    assert json.loads(argv[4]) == {"aud": "sigstore"}
    assert "--root-issuer" in argv
