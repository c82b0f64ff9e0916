"""`vouch report pypi:NAME==VERSION`: a release built and signed here, served by a real pypiserver
(or by a loopback index that lies about a file's bytes), downloaded and checked by the report."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import hostile, intree
from tests.clirun import run
from tests.gitrepo import make_repo
from tests.keys import ssh_key
from tests.localindex import LocalIndex
from vouch.cli import main

SDIST = "demo_intree-1.0.tar.gz"
WHEEL = "demo_intree-1.0-py3-none-any.whl"
SPEC = "pypi:demo-intree==1.0"


@dataclass(frozen=True)
class Release:
    root: Path
    dist: Path
    evidence: Path
    policy: Path

    def sha256(self, filename: str) -> str:
        return hashlib.sha256((self.dist / filename).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    """demo-intree 1.0 built by `vouch build`, signed by alice (releaser) and carol (ci)."""
    root = tmp_path_factory.mktemp("release")
    make_repo(root / "origin", intree.files(), tag="1.0")
    assert main(["build", str(root / "origin"), "--out", str(root / "dist")]) == 0
    record = root / "dist" / "demo_intree-1.0.buildinfo.json"
    evidence = root / "demo_intree-1.0.intoto.jsonl"
    keys = root / "keys"
    lines = []
    for name, role in (("alice", "releaser"), ("carol", "ci")):
        key = ssh_key(keys, name)
        args = ["sign", str(record), "--key", f"ssh:{key}", "--role", role, "--evidence", str(evidence)]
        assert main(args) == 0
        public = " ".join(key.with_suffix(".pub").read_text().split()[:2])
        lines.append(f'[[signers]]\nname = "{name}"\nroles = ["{role}"]\nssh-key = "{public}"\n')
    policy = root / "vouch.toml"
    policy.write_text("threshold = 2\n[require]\nci = 1\n" + "".join(lines))
    return Release(root, root / "dist", evidence, policy)


@pytest.fixture(scope="module")
def index(release: Release, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    served = LocalIndex(tmp_path_factory.mktemp("index"))
    served.packages.mkdir(parents=True)
    for filename in (SDIST, WHEEL):
        shutil.copyfile(release.dist / filename, served.packages / filename)
    served.start()
    yield served
    served.stop()


def report(
    release: Release, index_url: str, capsys: pytest.CaptureFixture[str], *extra: str, tmp: Path
) -> tuple[int, dict[str, Any], str, Path]:
    page = tmp / "page.html"
    args = ["report", SPEC, "--index", index_url, "--policy", str(release.policy), "--out", str(page)]
    code, out, err = run([*args, "--json", *extra], capsys)
    assert page.is_file(), err
    return code, json.loads(out), err, page


def statuses(data: dict[str, Any]) -> dict[str, str]:
    sections = ("release", "artifacts", "quorum", "rebuilds", "provenance", "checksums", "baseline")
    return {name: data[name]["outcome"]["status"] for name in sections}


def test_the_release_is_downloaded_hash_checked_and_its_quorum_checked(
    release: Release, index: LocalIndex, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, data, err, page = report(
        release, index.simple_url, capsys, "--evidence", str(release.evidence), tmp=tmp_path
    )
    assert code == 0, err
    assert statuses(data) == {
        "release": "passed", "artifacts": "passed", "quorum": "passed", "rebuilds": "not checked",
        "provenance": "not checked", "checksums": "not checked", "baseline": "not checked",
    }  # fmt: skip
    # the files the index served, hashed here: the bytes that were built and signed
    artifacts = {a["filename"]: a for a in data["artifacts"]["artifacts"]}
    assert sorted(artifacts) == sorted([SDIST, WHEEL])
    for filename, artifact in artifacts.items():
        assert artifact["sha256"] == release.sha256(filename)
        assert artifact["size"] == (release.dist / filename).stat().st_size
    assert data["origin"] == index.simple_url
    assert "each with the sha256 the index lists" in data["artifacts"]["outcome"]["reason"]
    assert [v["signer"] for v in data["quorum"]["vouchers"]] == ["alice", "carol"]
    # no publisher known: provenance is named as not checked, with the reason, and does not block
    assert "no expected publisher" in data["provenance"]["outcome"]["reason"]
    assert "--rebuild" in data["rebuilds"]["outcome"]["reason"]
    html = page.read_text()
    assert f"downloaded from <code>{index.simple_url}</code>" in html
    assert release.sha256(WHEEL) in html


def test_an_expected_publisher_without_provenance_on_the_index_fails_that_section(
    release: Release, index: LocalIndex, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """pypiserver serves no PEP 740 provenance: with a publisher expected, every file has none."""
    code, data, _, _ = report(
        release, index.simple_url, capsys, "--evidence", str(release.evidence),
        "--publisher", "github:demo/demo/release.yml", tmp=tmp_path,
    )  # fmt: skip
    assert code == 1
    assert data["provenance"]["outcome"]["status"] == "failed"
    files = {f["filename"]: f for f in data["provenance"]["files"]}
    assert sorted(files) == sorted([SDIST, WHEEL])
    assert all(f["outcome"]["reason"].startswith("no provenance") for f in files.values())
    assert data["quorum"]["outcome"]["status"] == "passed"
    assert data["outcome"]["reason"].startswith("Provenance: ")


def test_the_rebuild_runs_here_from_the_published_sdist(
    release: Release, index: LocalIndex, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, data, err, _ = report(
        release, index.simple_url, capsys, "--evidence", str(release.evidence), "--rebuild", tmp=tmp_path
    )
    (rebuilt,) = data["rebuilds"]["runs"]
    (wheel,) = rebuilt["artifacts"]
    assert wheel["filename"] == WHEEL
    assert wheel["expected_sha256"] == release.sha256(WHEEL)
    # the published wheel is vouch's normalised one; the raw backend output of a rebuild from the
    # sdist (the sloppy in-tree backend: wall-clock mtimes, its own modes) is only equivalent to it
    assert wheel["verdict"] == "equivalent"
    assert data["rebuilds"]["outcome"] == {
        "status": "failed",
        "reason": f"{WHEEL}: equivalent, not bit-identical: identical only after the named "
        "normalisations (--accept-equivalent accepts that)",
    }
    assert code == 1, err
    code, data, err, _ = report(release, index.simple_url, capsys, "--evidence", str(release.evidence),
                                "--rebuild", "--accept-equivalent", tmp=tmp_path)  # fmt: skip
    assert data["rebuilds"]["outcome"]["status"] == "passed"
    assert code == 0, err


def test_a_file_whose_bytes_differ_from_the_index_sha256_fails_the_artifacts(
    release: Release, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with hostile.serve() as server:
        sdist = server.file(SDIST, (release.dist / SDIST).read_bytes())
        wheel = server.file(WHEEL, b"not the wheel that was signed")
        wheel["hashes"]["sha256"] = release.sha256(WHEEL)  # the index lists the signed digest
        server.page("demo-intree", [sdist, wheel])
        code, data, _, page = report(
            release, f"{server.url}/simple/", capsys, "--evidence", str(release.evidence), tmp=tmp_path
        )
    assert code == 1
    assert data["artifacts"]["outcome"]["status"] == "failed"
    reason = data["artifacts"]["outcome"]["reason"]
    assert f"{WHEEL} from {server.url}/files/{WHEEL} has sha256 " in reason
    assert f"but the index lists {release.sha256(WHEEL)}" in reason
    artifacts = {a["filename"]: a for a in data["artifacts"]["artifacts"]}
    assert artifacts[WHEEL]["size"] is None
    assert artifacts[SDIST]["sha256"] == release.sha256(SDIST)
    assert not artifacts[SDIST]["mismatches"]
    assert data["outcome"]["status"] == "failed"
    assert "not read" in page.read_text()
    # the statements vouch for the whole release: not checked over the files the index did serve
    assert data["quorum"]["outcome"]["status"] == "not checked"
    assert "1 of the release's 2 file(s) could not be read" in data["quorum"]["outcome"]["reason"]


def test_a_download_cut_short_is_not_checked(
    release: Release, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with hostile.serve() as server:
        sdist = server.file(SDIST, (release.dist / SDIST).read_bytes())
        wheel = server.file(WHEEL, (release.dist / WHEEL).read_bytes())
        server.routes[f"/files/{WHEEL}"] = lambda h: hostile.send(h, 500, b"oops", "text/plain")
        server.page("demo-intree", [sdist, wheel])
        code, data, _, _ = report(
            release, f"{server.url}/simple/", capsys, "--evidence", str(release.evidence), tmp=tmp_path
        )
    assert code == 3, statuses(data)
    outcome = data["artifacts"]["outcome"]
    assert outcome["status"] == "not checked"
    assert f"{WHEEL}: not downloaded: downloading " in outcome["reason"]
    assert "HTTP 500" in outcome["reason"]


def test_without_evidence_the_quorum_is_not_checked_and_the_page_is_still_written(
    release: Release, index: LocalIndex, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, data, _, _ = report(release, index.simple_url, capsys, tmp=tmp_path)
    assert code == 3
    expected = {"status": "not checked", "reason": "no evidence given (--evidence FILE)"}
    assert data["quorum"]["outcome"] == expected
    assert data["artifacts"]["outcome"]["status"] == "passed"


def test_an_unknown_version_names_the_versions_the_index_lists(
    index: LocalIndex, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "page.html"
    args = ["report", "pypi:demo-intree==2.0", "--index", index.simple_url, "--out", str(out)]
    code, _, err = run(args, capsys)
    assert code == 3
    assert "lists no sdist or wheel of demo-intree 2.0; it lists 1.0" in " ".join(err.split())
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([SPEC, "--rebuild-json", "r.json"], "--rebuild-json does not apply to a published release"),
        ([SPEC, "--provenance-json", "p.json"], "--provenance-json does not apply to a published release"),
        ([SPEC, "--accept-equivalent"], "--accept-equivalent applies to a rebuild: add --rebuild"),
        ([SPEC, "dist/demo-1.0.tar.gz"], "name one published release"),
        (["pypi:demo"], "is not pypi:NAME==VERSION"),
        ([SPEC, "--publisher", "nope:x"], "publisher 'nope:x' is not one of"),
        (["README.md", "--index", "http://127.0.0.1:9/simple/"], "--index does not apply to local artifacts"),
        (["README.md", "--rebuild"], "--rebuild does not apply to local artifacts"),
    ],
)
def test_options_that_do_not_apply_are_refused(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["report", *args], capsys)
    assert code == 2
    assert message in " ".join(err.split())
