"""`vouch provenance verify`: each PEP 740 fixture passes or fails as SOURCES.md says; tampering fails closed.

The fixtures are real Sigstore artifacts that verify offline: the test assets that the pinned sdist
of pypi-attestations 0.0.30 carries, downloaded once (tests/pep740_assets.py), so every test here
is marked `network`. Most tests use the name-and-digest form with the sha256 from DISTS; the real
distributions come from PyPI, or from the assets for those that are not on PyPI.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.clirun import run
from tests.pep740_assets import DISTS, GITLAB_PROVENANCE, PA, TRUSTED_ROOT
from vouch.index.simple import SimpleIndex

pytestmark = [pytest.mark.network, pytest.mark.usefixtures("pep740_assets", "sigstore_cache")]

SPT3G = ("spt3g-1.0-cp310-cp310-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
         "d2772f9a5199f05ed1be8d9aa78b879e51772e3ead9d73fe8057257b1aec7cf8")  # fmt: skip
GITHUB_PA = "github:trailofbits/pypi-attestations/release.yml"
GITHUB_MODELS = "github:trailofbits/pypi-attestation-models/release.yml"
GITLAB = "gitlab:facutuesca/gitlab-oidc-project/.gitlab-ci.yml"
GOOGLE = "google:919436158236-compute@developer.gserviceaccount.com"
WILLIAM = "email:william@yossarian.net,https://github.com/login/oauth"


def real_dist(filename: str, directory: Path) -> Path:
    """A distribution of DISTS, downloaded from PyPI (once per directory) or taken from the assets
    when it is not on PyPI, its sha256 checked."""
    requirement, sha256 = DISTS[filename]
    if requirement == "-":
        path = directory / filename
        shutil.copyfile(PA / filename, path)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256
        return path
    with SimpleIndex(cache_dir=directory) as index:
        (file,) = [f for f in index.project_files(requirement.split("==")[0]) if f.filename == filename]
        assert file.sha256 == sha256, "PyPI lists another sha256 than dists.txt"
        return index.download(file)


@dataclass(frozen=True)
class Case:
    id: str
    evidence: Path
    filename: str
    sha256: str
    publisher: str
    staging: bool = False
    reason: str | None = None  # None: must verify

    @property
    def flag(self) -> str:
        return "--provenance" if self.evidence.name.endswith(".provenance") else "--attestation"


def _case(id: str, evidence: Path, publisher: str, *, dist: str | None = None, **kw: Any) -> Case:
    filename = dist if dist is not None else evidence.name.split(".tar.gz")[0] + ".tar.gz"
    return Case(id, evidence, filename, DISTS[filename][1], publisher, **kw)


PA_SDIST = "pypi_attestations-0.0.19.tar.gz"
RFC = "rfc8785-0.1.2-py3-none-any.whl"
CASES = [
    # what SOURCES.md says passes
    _case("pa-publish", PA / f"{PA_SDIST}.publish.attestation", GITHUB_PA),
    _case("pa-slsa", PA / f"{PA_SDIST}.slsa.attestation", GITHUB_PA),
    _case("pa-provenance", PA / f"{PA_SDIST}.provenance", GITHUB_PA),
    _case("gitlab", PA / "gitlab_oidc_project-0.0.3.tar.gz.publish.attestation", GITLAB),
    _case("models-bundle", PA / "pypi_attestation_models-0.0.4a2.tar.gz.sigstore", GITHUB_MODELS),
    _case("models-attestation", PA / "pypi_attestation_models-0.0.4a2.tar.gz.attestation", GITHUB_MODELS),
    _case("rfc8785", PA / f"{RFC}.attestation", WILLIAM, dist=RFC, staging=True),
    _case("rfc8785-publish", PA / f"{RFC}.publish.attestation", WILLIAM, dist=RFC, staging=True),
    _case("rfc8785-bundle", PA / f"{RFC}.sigstore", WILLIAM, dist=RFC, staging=True),
    _case("google", PA / "gcb_attestation_test-0.0.0.tar.gz.provenance", GOOGLE),
    _case("gitlab-provenance", GITLAB_PROVENANCE, GITLAB),
    # and what fails, with the reason
    _case("pa-wrong-repository", PA / f"{PA_SDIST}.provenance", "github:other/repo/release.yml",
          reason="OIDCSourceRepositoryURI does not match"),
    _case("pa-wrong-workflow", PA / f"{PA_SDIST}.publish.attestation",
          "github:trailofbits/pypi-attestations/wrong.yml", reason="Build Config URI"),
    _case("pa-as-gitlab", PA / f"{PA_SDIST}.publish.attestation",
          "gitlab:trailofbits/pypi-attestations/release.yml", reason="OIDCIssuerV2 does not match"),
    _case("pa-as-google", PA / f"{PA_SDIST}.publish.attestation", GOOGLE, reason="OIDCIssuer does not match"),
    _case("pa-on-staging", PA / f"{PA_SDIST}.publish.attestation", GITHUB_PA, staging=True,
          reason="certificate chain"),
    _case("gitlab-wrong-path", PA / "gitlab_oidc_project-0.0.3.tar.gz.publish.attestation",
          "gitlab:facutuesca/gitlab-oidc-project/wrong.yml", reason="Build Config URI"),
    _case("gitlab-as-github", PA / "gitlab_oidc_project-0.0.3.tar.gz.publish.attestation",
          "github:facutuesca/gitlab-oidc-project/.gitlab-ci.yml", reason="OIDCIssuerV2 does not match"),
    _case("models-wrong-workflow", PA / "pypi_attestation_models-0.0.4a2.tar.gz.sigstore",
          "github:trailofbits/pypi-attestation-models/wrong.yml", reason="Build Config URI"),
    _case("rfc8785-on-production", PA / f"{RFC}.attestation", WILLIAM, dist=RFC, reason="certificate chain"),
    _case("rfc8785-other-person", PA / f"{RFC}.publish.attestation", dist=RFC, staging=True,
          publisher="email:fake@example.com,https://github.com/login/oauth", reason="SANs do not match"),
    _case("google-as-github", PA / "gcb_attestation_test-0.0.0.tar.gz.provenance", GITHUB_PA,
          reason="OIDCIssuerV2 does not match"),
    _case("provenance-for-another-release", PA / f"{PA_SDIST}.provenance", GITHUB_PA,
          dist="pypi_attestations-0.0.30.tar.gz", reason="subject does not match distribution name"),
]  # fmt: skip
CASES += [
    Case("spt3g-tags-reordered", PA / ("spt3g-1.0-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64"
         ".whl.publish.attestation"), *SPT3G, WILLIAM, staging=True),
    Case("spt3g-on-production", PA / ("spt3g-1.0-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64"
         ".whl.publish.attestation"), *SPT3G, WILLIAM, reason="certificate chain"),
    Case("digest-mismatch", PA / f"{PA_SDIST}.publish.attestation", PA_SDIST, "00" * 32, GITHUB_PA,
         reason="subject does not match distribution digest"),
    Case("name-mismatch", PA / f"{PA_SDIST}.publish.attestation", "pypi_attestations-0.0.20.tar.gz",
         DISTS[PA_SDIST][1], GITHUB_PA, reason="subject does not match distribution name"),
    Case("attestation-moved-to-another-file", PA / f"{PA_SDIST}.publish.attestation",
         "sampleproject-4.0.0.tar.gz", DISTS["sampleproject-4.0.0.tar.gz"][1], GITHUB_PA,
         reason="subject does not match distribution name"),
]  # fmt: skip


def verify_args(case: Case, *, pinned: bool) -> list[str]:
    args = ["provenance", "verify", "--filename", case.filename, "--sha256", case.sha256,
            case.flag, str(case.evidence), "--publisher", case.publisher, "--json"]  # fmt: skip
    if pinned:  # the fixtures' copy of sigstore's root, through sigstore's Verifier and vouch's checks
        root = "staging" if case.staging else "production"
        return [*args, "--trusted-root", str(TRUSTED_ROOT[root])]
    return [*args, "--staging"] if case.staging else args


@pytest.mark.parametrize("pinned", [False, True], ids=["sigstore-root", "pinned-root"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fixture(case: Case, pinned: bool, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(verify_args(case, pinned=pinned), capsys)
    report = json.loads(out)
    (file,) = report["files"]
    if case.reason is None:
        assert (code, file["status"]) == (0, "verified"), file["reason"]
        assert all(a["verified"] for a in file["attestations"])
        assert file["attestations"][0]["predicate_type"].startswith("https://")
    else:
        assert (code, file["status"]) == (1, "failed"), err
        assert case.reason in file["reason"]
        assert not report["ok"]


def test_verified_report_names_the_signer_and_the_claim(capsys: pytest.CaptureFixture[str]) -> None:
    case = next(c for c in CASES if c.id == "pa-provenance")
    code, out, _ = run(verify_args(case, pinned=False)[:-1], capsys)
    assert code == 0
    assert "verified" in out
    assert (
        "signed by https://github.com/trailofbits/pypi-attestations/.github/workflows/release.yml@refs/tags/v0.0.19"
        in out
    )
    assert "index's publisher claim: github:trailofbits/pypi-attestations/release.yml" in out
    assert "provenance: VERIFIED" in out


def test_wrong_workflow_names_the_certificate_uri(capsys: pytest.CaptureFixture[str]) -> None:
    case = next(c for c in CASES if c.id == "pa-wrong-workflow")
    _, out, _ = run(verify_args(case, pinned=False), capsys)
    reason = json.loads(out)["files"][0]["reason"]
    assert (
        "https://github.com/trailofbits/pypi-attestations/.github/workflows/release.yml@refs/tags/v0.0.19"
        in reason
    )
    assert "wrong.yml @ trailofbits/pypi-attestations" in reason
    assert "<Extension" not in reason


def test_staging_hint(capsys: pytest.CaptureFixture[str]) -> None:
    case = next(c for c in CASES if c.id == "rfc8785-on-production")
    _, out, _ = run(verify_args(case, pinned=False), capsys)
    assert "if it was made with Sigstore staging, pass --staging" in json.loads(out)["files"][0]["reason"]


def test_every_attestation_must_verify(capsys: pytest.CaptureFixture[str]) -> None:
    good = PA / f"{PA_SDIST}.publish.attestation"
    other = PA / "gitlab_oidc_project-0.0.3.tar.gz.publish.attestation"
    args = ["provenance", "verify", "--filename", PA_SDIST, "--sha256", DISTS[PA_SDIST][1], "--attestation",
            str(good), "--attestation", str(other), "--publisher", GITHUB_PA, "--json"]  # fmt: skip
    code, out, _ = run(args, capsys)
    file = json.loads(out)["files"][0]
    assert code == 1
    assert [a["verified"] for a in file["attestations"]] == [True, False]


# --- real distributions from PyPI ---------------------------------------------------------------


@pytest.fixture(scope="session")
def pypi_dists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pypi-dists")


REAL = [
    (PA_SDIST, PA / f"{PA_SDIST}.provenance", GITHUB_PA, 0),
    (PA_SDIST, PA / f"{PA_SDIST}.slsa.attestation", GITHUB_PA, 0),
    (
        "pypi_attestation_models-0.0.4a2.tar.gz",
        PA / "pypi_attestation_models-0.0.4a2.tar.gz.sigstore",
        GITHUB_MODELS,
        0,
    ),
    (RFC, PA / f"{RFC}.publish.attestation", WILLIAM, 0),
    (
        "gitlab_oidc_project-0.0.3.tar.gz",
        PA / "gitlab_oidc_project-0.0.3.tar.gz.publish.attestation",
        GITLAB,
        0,
    ),
    ("gcb_attestation_test-0.0.0.tar.gz", PA / "gcb_attestation_test-0.0.0.tar.gz.provenance", GOOGLE, 0),
    ("pypi_attestations-0.0.30.tar.gz", PA / f"{PA_SDIST}.provenance", GITHUB_PA, 1),
]


@pytest.mark.network
@pytest.mark.parametrize("row", REAL, ids=[f"{r[0]}-{r[1].name}" for r in REAL])
def test_real_distribution(
    row: tuple[str, Path, str, int], pypi_dists: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dist, evidence, publisher, code = row
    path = real_dist(dist, pypi_dists)
    flag = "--provenance" if evidence.name.endswith(".provenance") else "--attestation"
    staging = ["--staging"] if dist == RFC else []
    args = [
        "provenance",
        "verify",
        str(path),
        flag,
        str(evidence),
        "--publisher",
        publisher,
        *staging,
        "--json",
    ]
    result, out, err = run(args, capsys)
    assert result == code, out + err
    assert json.loads(out)["files"][0]["sha256"] == DISTS[dist][1]
