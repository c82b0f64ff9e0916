"""`vouch rebuild RECORD` with a hostile record: subjects that are paths, or files it never built."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests import intree
from tests.clirun import run
from tests.gitrepo import make_repo
from vouch.cli import main


@pytest.fixture(scope="module")
def record_document(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """One real build (module-scoped: each test edits a copy of its record)."""
    tmp = tmp_path_factory.mktemp("hostile-record")
    make_repo(tmp / "origin", intree.files())
    assert main(["build", str(tmp / "origin"), "--out", str(tmp / "dist")]) == 0
    (record,) = (tmp / "dist").glob("*.buildinfo.json")
    return tmp / "origin", json.loads(record.read_text())


def write(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "record.buildinfo.json"
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize("name", ["../demo_intree-1.0.tar.gz", "/var/demo_intree-1.0.tar.gz", "a\\b.whl"])
def test_a_subject_that_is_a_path_is_refused_before_building(
    name: str, record_document: tuple[Path, dict[str, Any]], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    origin, document = record_document
    document = json.loads(json.dumps(document))
    document["subject"][0]["name"] = name
    out = tmp_path / "out"
    code, _, err = run(["rebuild", str(write(tmp_path, document)), "--source", str(origin),
                        "--out", str(out)], capsys)  # fmt: skip
    assert code == 2
    assert "not a plain file name" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_a_file_lying_in_out_is_not_credited_to_the_rebuild(
    record_document: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    origin, document = record_document
    document = json.loads(json.dumps(document))
    planted = b"not built by this rebuild"
    document["subject"].append(
        {"name": "planted-1.0-py3-none-any.whl", "digest": {"sha256": hashlib.sha256(planted).hexdigest()}}
    )
    out = tmp_path / "out"
    out.mkdir()
    (out / "planted-1.0-py3-none-any.whl").write_bytes(planted)
    code, stdout, err = run(["rebuild", str(write(tmp_path, document)), "--source", str(origin),
                             "--out", str(out), "--json"], capsys)  # fmt: skip
    assert code == 1, err
    report = json.loads(stdout)
    verdicts = {a["filename"]: a for a in report["artifacts"]}
    assert verdicts["planted-1.0-py3-none-any.whl"]["verdict"] == "different"
    assert "did not produce" in verdicts["planted-1.0-py3-none-any.whl"]["note"]
    assert report["verdict"] == "different"


def test_a_record_without_subjects_is_refused(
    record_document: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    origin, document = record_document
    document = json.loads(json.dumps(document))
    document["subject"] = []
    code, _, err = run(["rebuild", str(write(tmp_path, document)), "--source", str(origin)], capsys)
    assert code == 2
    assert "Traceback" not in err
