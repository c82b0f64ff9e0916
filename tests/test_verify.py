"""`vouch verify` against a loopback PEP 691 index serving real PEP 740 provenance.

The provenance and distributions are the real ones from the pinned pypi-attestations sdist's test
assets (tests/pep740_assets.py): pypi-attestations 0.0.19 published by GitHub Actions, and a
Google Cloud Build publisher. The files are never downloaded: the attestations sign the digest,
and the digest is the one the lock pins.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.pep740_assets import DISTS, PA, TRUSTED_ROOT
from tests.verify_index import Index, Served, pylock, states, verify, write_lock
from vouch.verify.model import State, Verdict
from vouch.verify.render import html_page
from vouch.verify.run import VerifyReport

pytestmark = [pytest.mark.network, pytest.mark.usefixtures("pep740_assets", "sigstore_cache", "own_cache")]

PA_SDIST = "pypi_attestations-0.0.19.tar.gz"
GCB_SDIST = "gcb_attestation_test-0.0.0.tar.gz"
GITHUB_PA = "github:trailofbits/pypi-attestations/release.yml"
GITHUB_IDENTITY = 'kind = "GitHub"\nrepository = "trailofbits/pypi-attestations"\nworkflow = "release.yml"'


def provenance(filename: str, environment: str | None = None) -> bytes:
    """The real Integrity API provenance; ``environment``: what the index claims (unsigned)."""
    document = json.loads((PA / f"{filename}.provenance").read_bytes())
    if environment is not None:
        for bundle in document["attestation_bundles"]:
            bundle["publisher"]["environment"] = environment
    return json.dumps(document).encode()


def real(index: Index, filename: str, project: str, version: str) -> Served:
    served = index.add(project, version, filename, (PA / filename).read_bytes(), provenance(filename))
    assert served.sha256 == DISTS[filename][1]
    return served


ARGS = ("--trusted-root", str(TRUSTED_ROOT["production"]), "--workers", "1")


def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'results.sqlite'}"


@pytest.mark.parametrize("kind", ["pylock", "uv", "requirements"])
def test_every_format_verifies_real_provenance(kind: str, index: Index, tmp_path: Path) -> None:
    files = [real(index, PA_SDIST, "pypi-attestations", "0.0.19"),
             real(index, GCB_SDIST, "gcb-attestation-test", "0.0.0")]  # fmt: skip
    code, report = verify(write_lock(tmp_path, kind, files), index, db(tmp_path), *ARGS)
    assert code == 0, report
    assert states(report) == {PA_SDIST: "verified", GCB_SDIST: "verified"}
    identities = {f["filename"]: f["identity"] for f in report["files"]}
    assert identities[PA_SDIST] == GITHUB_PA
    assert identities[GCB_SDIST].startswith("google:")


def test_a_locked_hash_the_index_does_not_serve_fails(index: Index, tmp_path: Path) -> None:
    good = real(index, PA_SDIST, "pypi-attestations", "0.0.19")
    tampered = Served(good.project, good.version, good.filename, "0" * 64)
    for kind, said in [("pylock", "the index serves pypi_attestations-0.0.19.tar.gz with sha256"),
                       ("requirements", "no file of pypi-attestations 0.0.19 on the index has the locked")]:
        lock = write_lock(tmp_path / kind, kind, [tampered])
        code, report = verify(lock, index, db(tmp_path), *ARGS)
        assert code == 1
        (file,) = report["files"]
        assert file["state"] == "failed"
        assert said in file["reasons"][0]


def test_the_locks_attestation_identities_are_the_expected_publisher(index: Index, tmp_path: Path) -> None:
    served = real(index, PA_SDIST, "pypi-attestations", "0.0.19")
    lock = tmp_path / "pylock.toml"
    lock.write_text(pylock([served], {"pypi-attestations": GITHUB_IDENTITY}))
    code, report = verify(lock, index, db(tmp_path), *ARGS)
    assert (code, states(report)) == (0, {PA_SDIST: "verified"})
    lock.write_text(pylock([served], {"pypi-attestations": GITHUB_IDENTITY.replace("trailofbits/", "evil/")}))
    code, report = verify(lock, index, db(tmp_path), *ARGS)
    assert (code, states(report)) == (1, {PA_SDIST: "failed"})
    assert "github:evil/pypi-attestations/release.yml" in report["files"][0]["reasons"][0]


def test_provenance_earlier_releases_had_and_this_one_lacks_is_lost(index: Index, tmp_path: Path) -> None:
    real(index, PA_SDIST, "pypi-attestations", "0.0.19")
    newest = index.add("pypi-attestations", "0.0.30", "pypi_attestations-0.0.30.tar.gz", b"no provenance")
    lock = write_lock(tmp_path, "pylock", [newest])
    code, report = verify(lock, index, db(tmp_path), *ARGS)
    assert code == 1
    (file,) = report["files"]
    assert file["state"] == "provenance lost"
    assert "releases 0.0.19 had provenance" in file["reasons"][0]
    assert file["earlier_identities"] == [f"{GITHUB_PA} (releases 0.0.19)"]
    policy = tmp_path / "verify.toml"
    policy.write_text('[projects.pypi-attestations]\naccept = ["provenance lost"]\n')
    code, report = verify(lock, index, db(tmp_path), *ARGS, "--policy", str(policy))
    assert code == 0
    assert report["files"][0]["state"] == "provenance lost"
    assert report["files"][0]["accepted"] is True


def test_a_publisher_that_changed_since_it_was_recorded_is_drift(index: Index, tmp_path: Path) -> None:
    """Trust on first use: the publisher (with the environment the index claims) is recorded; the
    same release later claimed with another environment drifts from it, both shown."""
    data = (PA / PA_SDIST).read_bytes()
    served = index.add("pypi-attestations", "0.0.19", PA_SDIST, data, provenance(PA_SDIST, "pypi"))
    lock = write_lock(tmp_path, "pylock", [served])
    code, report = verify(lock, index, db(tmp_path), *ARGS)
    assert (code, report["files"][0]["identity"]) == (0, f"{GITHUB_PA}@pypi")
    index.add("pypi-attestations", "0.0.19", PA_SDIST, data, provenance(PA_SDIST, "release"))
    code, report = verify(lock, index, db(tmp_path), *ARGS, "--refresh")
    assert code == 1
    (file,) = report["files"]
    assert file["state"] == "drift"
    assert file["identity"] == f"{GITHUB_PA}@release"
    assert file["earlier_identities"] == [f"{GITHUB_PA}@pypi (recorded before)"]
    assert f"earlier {GITHUB_PA}@pypi (recorded before), now {GITHUB_PA}@release" in file["reasons"][0]
    policy = tmp_path / "verify.toml"
    policy.write_text(f'[projects.pypi-attestations]\naccept-identities = ["{GITHUB_PA}@release"]\n')
    code, report = verify(lock, index, db(tmp_path), *ARGS, "--refresh", "--policy", str(policy))
    assert (code, states(report)) == (0, {PA_SDIST: "verified"})
    code, report = verify(lock, index, db(tmp_path), *ARGS, "--refresh")
    assert (code, states(report)) == (0, {PA_SDIST: "verified"}), "the accepted publisher is now recorded"


def test_a_removed_provenance_after_it_was_recorded_is_lost(index: Index, tmp_path: Path) -> None:
    served = real(index, PA_SDIST, "pypi-attestations", "0.0.19")
    lock = write_lock(tmp_path, "pylock", [served])
    assert verify(lock, index, db(tmp_path), *ARGS)[0] == 0
    index.remove_provenance(PA_SDIST)
    code, report = verify(lock, index, db(tmp_path), *ARGS, "--refresh")
    assert (code, states(report)) == (1, {PA_SDIST: "provenance lost"})


def test_the_second_run_reads_settled_results(index: Index, tmp_path: Path) -> None:
    files = [real(index, PA_SDIST, "pypi-attestations", "0.0.19"),
             real(index, GCB_SDIST, "gcb-attestation-test", "0.0.0")]  # fmt: skip
    lock = write_lock(tmp_path, "pylock", files)
    html = tmp_path / "report.html"
    first = verify(lock, index, db(tmp_path), *ARGS, "--html", str(html))
    asked = len(index.server.requests)
    second = verify(lock, index, db(tmp_path), *ARGS)
    assert len(index.server.requests) == asked, "settled results must not be checked again"
    assert states(first[1]) == states(second[1])
    assert (first[1]["checked"], second[1]["checked"], second[1]["cached"]) == (4, 0, 4)
    page = html.read_text()
    assert '<p class="verdict">PASSED</p>' in page
    assert "Content-Security-Policy" in page
    assert "<script" not in page
    assert '<td class="ok">verified</td>' in page
    assert PA_SDIST in page


def test_the_page_escapes_what_the_index_and_lock_say_and_puts_failures_first() -> None:
    hostile = '<img src=x onerror="alert(1)">'
    report = VerifyReport(
        source="pylock.toml", kind="pylock", index="https://pypi.org/simple/", trust_root="production",
        database="sqlite:///v.db", checked=2, cached=0,
        verdicts=(
            Verdict("good", "1.0", "good-1.0.tar.gz", "a" * 64, State.VERIFIED, identity="github:o/r"),
            Verdict("bad", "2.0", "bad-2.0.tar.gz", "b" * 64, State.FAILED, reasons=(hostile,)),
        ),
    )  # fmt: skip
    page = html_page(report)
    assert hostile not in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page
    assert '<p class="verdict">FAILED</p>' in page
    assert page.index("bad-2.0.tar.gz") < page.index("good-1.0.tar.gz")
    assert "1 verified, 1 failed" in page
