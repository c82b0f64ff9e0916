"""Builds and rebuilds across compressors: zlib-ng as the system zlib, records of normalizer v2
(compressed with the system's zlib) and v3 records made with another libdeflate.

The project is the offline in-tree backend's, with a source file large enough for zlib-ng's
deflate streams to differ from stock zlib's. The zlib-ng runs are child processes whose ``zlib``
module is zlib-ng's compatible one, installed before vouch (and gzip, zipfile) are imported.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests import intree
from tests.clirun import run
from tests.gitrepo import make_repo
from tests.test_compress import text
from vouch.archive.compress import system_zlib
from vouch.builder.builder import BuildOptions, build
from vouch.builder.env import Interpreter
from vouch.rebuild.replay import replay

SDIST, WHEEL = "demo_intree-1.0.tar.gz", "demo_intree-1.0-py3-none-any.whl"
RECORD = "demo_intree-1.0.buildinfo.json"

CHILD = r"""
import sys
import zlib_ng.zlib_ng as ng
for name in ("gzip", "zipfile", "tarfile"):  # imported by zlib_ng itself: import them again
    sys.modules.pop(name, None)
sys.modules["zlib"] = ng
import gzip, zipfile
assert gzip.zlib is ng and zipfile.zlib is ng
from vouch.cli import main
from vouch.rebuild.replay import replay
sys.exit(main(sys.argv[1:]))
"""


def repo(tmp_path: Path) -> Path:
    files = intree.files()
    files["demo_intree/__init__.py"] = "X = 1\nTEXT = '''\n" + text(5, 2500).decode() + "'''\n"
    make_repo(tmp_path / "origin", files)
    return tmp_path / "origin"


def vouch_with_zlib_ng(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, check=False)


def digests(out: Path) -> dict[str, str]:
    return {name: hashlib.sha256((out / name).read_bytes()).hexdigest() for name in (SDIST, WHEEL)}


def test_a_build_with_zlib_ng_as_the_system_zlib_is_byte_identical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = repo(tmp_path)
    assert run(["build", str(source), "--out", str(tmp_path / "stock")], capsys)[0] == 0
    child = vouch_with_zlib_ng("build", str(source), "--out", str(tmp_path / "zlib-ng"), "--json")
    assert child.returncode == 0, child.stderr
    assert digests(tmp_path / "zlib-ng") == digests(tmp_path / "stock")
    recorded = json.loads((tmp_path / "zlib-ng" / RECORD).read_text())
    internal = recorded["predicate"]["buildDefinition"]["internalParameters"]
    assert internal["normalizer"] == {
        "name": "vouch-normalizer",
        "version": 3,
        "compressor": {"name": "libdeflate", "version": "1.26", "package": "deflate==0.9.0"},
    }


def v2_record(tmp_path: Path) -> Path:
    """A build of normalizer v2, with its record as vouch wrote it then (no compressor named)."""
    source = repo(tmp_path)
    v3 = build(BuildOptions(source=source, out=tmp_path / "first"))
    settings = dataclasses.replace(v3.record.settings, normalizer_version=2)
    result = replay(
        dataclasses.replace(v3.record, settings=settings), source, tmp_path / "dist",
        interpreter=Interpreter.current(),
    )  # fmt: skip
    document: dict[str, Any] = json.loads(result.record_path.read_text())
    normalizer = document["predicate"]["buildDefinition"]["internalParameters"]["normalizer"]
    assert normalizer.pop("compressor") == {"name": "zlib", "version": system_zlib().version, "package": ""}
    assert normalizer["version"] == 2
    result.record_path.write_text(json.dumps(document))
    return result.record_path


def test_a_v2_record_rebuilds_bit_identical_with_the_same_zlib(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = v2_record(tmp_path)
    assert run(["build", str(tmp_path / "origin"), "--out", str(tmp_path / "v3")], capsys)[0] == 0
    assert digests(tmp_path / "v3") != digests(tmp_path / "dist")  # v2 really compressed otherwise
    code, out, err = run(["rebuild", str(record), "--json"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["verdict"] == "bit-identical"
    assert (
        report["recipe"]["compressor"]
        == f"zlib {system_zlib().version} (the record builder's system library)"
    )


def test_a_v2_record_rebuilt_with_zlib_ng_is_equivalent_compression_differs(tmp_path: Path) -> None:
    record = v2_record(tmp_path)
    against = vouch_with_zlib_ng("rebuild", str(record), "--against", str(tmp_path / "dist"), "--json")
    assert against.returncode == 1, against.stderr
    report = json.loads(against.stdout)
    assert report["verdict"] == "equivalent"
    ours = f"zlib {system_zlib().version} (the record builder's system library)"
    for artifact in report["artifacts"]:
        assert artifact["verdict"] == "equivalent", artifact
        assert artifact["differences"] == []
        assert artifact["note"].startswith(
            f"compression differs: expected made by {ours}, rebuilt by zlib-ng "
        )
        assert [n["aspect"] for n in artifact["normalizations"]] == ["compression"]
        assert "rebuilt by zlib-ng" in artifact["normalizations"][0]["detail"]
    alone = vouch_with_zlib_ng("rebuild", str(record), "--json")
    assert alone.returncode == 1, alone.stderr
    report = json.loads(alone.stdout)
    assert report["verdict"] == "different"
    for artifact in report["artifacts"]:
        assert f"made by {ours} for the record but by zlib-ng " in artifact["note"]
        assert "check whether only compression differs" in artifact["note"]


def test_a_v3_record_of_another_libdeflate_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "dist"
    assert run(["build", str(repo(tmp_path)), "--out", str(out)], capsys)[0] == 0
    record = out / RECORD
    document = json.loads(record.read_text())
    normalizer = document["predicate"]["buildDefinition"]["internalParameters"]["normalizer"]
    normalizer["compressor"] = {"name": "libdeflate", "version": "1.24", "package": "deflate==0.8.1"}
    record.write_text(json.dumps(document))
    code, _, err = run(["rebuild", str(record)], capsys)
    assert code == 2
    assert "made by libdeflate 1.24 (deflate==0.8.1)" in err
    assert "this vouch has libdeflate 1.26 (deflate==0.9.0)" in err
    assert "pip install 'deflate==0.8.1'" in err
    del normalizer["compressor"]
    record.write_text(json.dumps(document))
    code, _, err = run(["rebuild", str(record)], capsys)
    assert code == 2
    assert "not a vouch build record: 'compressor'" in err
