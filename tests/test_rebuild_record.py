"""`vouch rebuild RECORD`: a second party replays a build record from its own clone."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests import intree
from tests.clirun import run
from tests.gitrepo import git, make_repo
from tests.projects import SETUPTOOLS
from tests.reproduce import second_machine_clone

RECORD = "demo_intree-1.0.buildinfo.json"


def built(tmp_path: Path, capsys: pytest.CaptureFixture[str], files: dict[str, str] | None = None) -> Path:
    """A repository at tmp_path/origin built into tmp_path/dist; returns the record's path."""
    make_repo(tmp_path / "origin", files or intree.files())
    code, _, err = run(["build", str(tmp_path / "origin"), "--out", str(tmp_path / "dist")], capsys)
    assert code == 0, err
    (record,) = (tmp_path / "dist").glob("*.buildinfo.json")
    return record


def edit_record(path: Path, change: Any) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def test_rebuild_from_a_second_clone_is_bit_identical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = built(tmp_path, capsys)
    clone = tmp_path / "second" / "clone"
    second_machine_clone(tmp_path / "origin", clone)
    code, out, err = run(["rebuild", str(record), "--source", str(clone), "--json"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["verdict"] == "bit-identical"
    recorded = {s["name"]: s["digest"]["sha256"] for s in json.loads(record.read_text())["subject"]}
    assert {a["filename"]: a["rebuilt_sha256"] for a in report["artifacts"]} == recorded
    assert {a["verdict"] for a in report["artifacts"]} == {"bit-identical"}


def test_rebuild_uses_the_recorded_repository_when_no_source_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = built(tmp_path, capsys)
    out_record = tmp_path / "rebuild.intoto.json"
    code, out, _ = run(["rebuild", str(record), "--record", str(out_record)], capsys)
    assert code == 0
    assert "bit-identical" in out
    statement = json.loads(out_record.read_text())
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["subject"] == json.loads(record.read_text())["subject"]
    internal = statement["predicate"]["buildDefinition"]["internalParameters"]
    assert internal["sourceDateEpochOrigin"] == "build record"
    assert internal["lockOrigin"] == "build record"


def test_tampered_build_is_different_and_names_the_member(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A laptop that built from a modified tree but recorded the honest commit is caught."""
    record = built(tmp_path, capsys)
    honest_commit = json.loads(record.read_text())["predicate"]["buildDefinition"]["externalParameters"][
        "source"
    ]["commit"]
    laptop = tmp_path / "laptop"
    second_machine_clone(tmp_path / "origin", laptop)
    (laptop / "demo_intree" / "__init__.py").write_text("X = 2\n")  # one byte changed
    dates = {
        "GIT_AUTHOR_DATE": "2025-06-01T12:00:00+00:00",
        "GIT_COMMITTER_DATE": "2025-06-01T12:00:00+00:00",
    }
    git(laptop, "commit", "--quiet", "--amend", "-am", "release", env=dates)
    code, _, _ = run(["build", str(laptop), "--out", str(tmp_path / "laptop-dist")], capsys)
    assert code == 0
    tampered = tmp_path / "laptop-dist" / RECORD

    def claim_honest_commit(document: dict[str, Any]) -> None:
        source = document["predicate"]["buildDefinition"]["externalParameters"]["source"]
        source["commit"] = honest_commit
        source["repository"] = str(tmp_path / "origin")

    edit_record(tampered, claim_honest_commit)
    code, out, _ = run(
        ["rebuild", str(tampered), "--against", str(tmp_path / "laptop-dist"), "--json"], capsys
    )
    assert code == 1
    report = json.loads(out)
    assert report["verdict"] == "different"
    verdicts = {a["filename"]: a for a in report["artifacts"]}
    wheel = verdicts["demo_intree-1.0-py3-none-any.whl"]
    assert wheel["verdict"] == "different"
    assert sorted((d["member"], d["aspects"]) for d in wheel["differences"]) == [
        ("demo_intree-1.0.dist-info/RECORD", ["content", "record"]),
        ("demo_intree/__init__.py", ["content"]),
    ]
    sdist = verdicts["demo_intree-1.0.tar.gz"]
    assert "demo_intree-1.0/demo_intree/__init__.py" in [d["member"] for d in sdist["differences"]]


def test_without_against_a_mismatch_is_different_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = built(tmp_path, capsys)
    edit_record(record, lambda d: d["subject"][1]["digest"].update(sha256="0" * 64))
    code, out, _ = run(["rebuild", str(record)], capsys)
    assert code == 1
    assert "different" in out
    assert "pass --against DIR" in out


def repack_with_new_mtimes(sdist: Path) -> str:
    with tarfile.open(sdist) as archive:
        members = [(m, archive.extractfile(m)) for m in archive.getmembers()]
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as out:
            for member, stream in members:
                member.mtime += 3600
                out.addfile(member, stream)
    data = gzip.compress(raw.getvalue(), mtime=12345)
    sdist.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def test_equivalent_after_named_normalisations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = built(tmp_path, capsys, intree.files())
    published = tmp_path / "published"
    shutil.copytree(tmp_path / "dist", published)
    new_sha = repack_with_new_mtimes(published / "demo_intree-1.0.tar.gz")

    def point_at_repack(document: dict[str, Any]) -> None:
        for subject in document["subject"]:
            if subject["name"].endswith(".tar.gz"):
                subject["digest"]["sha256"] = new_sha

    edit_record(record, point_at_repack)
    args = ["rebuild", str(record), "--against", str(published), "--json"]
    code, out, _ = run(args, capsys)
    assert code == 1
    report = json.loads(out)
    assert report["verdict"] == "equivalent"
    sdist = next(a for a in report["artifacts"] if a["filename"].endswith(".tar.gz"))
    assert sdist["differences"] == []
    aspects = {n["aspect"]: n["members"] for n in sdist["normalizations"]}
    assert set(aspects) == {"gzip-mtime", "mtime"}
    assert "demo_intree-1.0/PKG-INFO" in aspects["mtime"]
    assert run([*args, "--accept-equivalent"], capsys)[0] == 0


def test_python_minor_version_mismatch_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = built(tmp_path, capsys)

    def other_python(document: dict[str, Any]) -> None:
        for dependency in document["predicate"]["buildDefinition"]["resolvedDependencies"]:
            if dependency["name"] == "python":
                dependency["annotations"]["version"] = "3.99.1"

    edit_record(record, other_python)
    code, _, err = run(["rebuild", str(record)], capsys)
    assert code == 2
    assert "built with cpython 3.99" in err
    assert "--python" in err
    code, _, err = run(["rebuild", str(record), "--python", "python3"], capsys)
    assert code == 2
    assert "built with cpython 3.99" in err


def test_other_normalizer_version_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = built(tmp_path, capsys)
    edit_record(
        record,
        lambda d: d["predicate"]["buildDefinition"]["internalParameters"]["normalizer"].update(version=1),
    )
    code, _, err = run(["rebuild", str(record)], capsys)
    assert code == 2
    assert "vouch-normalizer v1" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("{not json", "is not JSON"),
        ('{"_type": "https://in-toto.io/Statement/v1"}', "not a vouch build record"),
    ],
)
def test_bad_record(
    content: str | None, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "record.json"
    if content is not None:
        path.write_text(content)
    code, _, err = run(["rebuild", str(path)], capsys)
    assert code == 2
    assert message in err


@pytest.mark.network
def test_setuptools_record_rebuilds_bit_identical_from_pinned_wheels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = built(tmp_path, capsys, SETUPTOOLS.files)
    clone = tmp_path / "elsewhere"
    second_machine_clone(tmp_path / "origin", clone)
    code, out, err = run(["rebuild", str(record), "--source", str(clone), "--json"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["verdict"] == "bit-identical"
    assert any(p.startswith("setuptools==") for p in report["recipe"]["packages"])
