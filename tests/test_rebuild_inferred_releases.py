"""Published releases whose recipes the inference once got wrong (PyPI, mark network)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vouch.cli import main


def rebuild(spec: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], str]:
    capsys.readouterr()
    code = main(["rebuild", spec, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out else {}, captured.err


@pytest.mark.network
@pytest.mark.parametrize(
    "spec", ["pypi:hatchling==1.27.0", "pypi:flit-core==3.10.1", "pypi:poetry-core==2.1.3"]
)
def test_self_hosting_backends_get_a_verdict(spec: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, report, err = rebuild(spec, capsys)
    assert code in {0, 1}, err
    assert report["verdict"] in {"bit-identical", "equivalent", "different"}
    recipe = report["recipe"]
    assert any("self-hosting" in origin for origin in recipe["origins"].values())


@pytest.mark.network
def test_sniffio_says_it_was_built_on_windows(capsys: pytest.CaptureFixture[str]) -> None:
    code, report, _ = rebuild("pypi:sniffio==1.3.1", capsys)
    assert code == 1
    recipe = report["recipe"]
    assert any("CRLF" in line for line in recipe["built_on_windows"])
    assert str(report["headline"]).startswith("recipe not reproduced")


@pytest.mark.network
def test_wrapt_compiled_rebuild_is_not_compared_with_the_pure_wheel(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report, _ = rebuild("pypi:wrapt==1.17.2", capsys)
    assert code == 1
    (wheel,) = report["artifacts"]
    assert wheel["filename"] == "wrapt-1.17.2-py3-none-any.whl"
    assert wheel["note"].startswith("not compared: the rebuild is wrapt-1.17.2-cp")
    assert wheel["differences"] == []


@pytest.mark.network
def test_pytz_universal_wheel_is_rebuilt_universal(capsys: pytest.CaptureFixture[str]) -> None:
    code, report, err = rebuild("pypi:pytz==2025.2", capsys)
    (wheel,) = report["artifacts"]
    assert wheel["filename"] == "pytz-2025.2-py2.py3-none-any.whl"
    assert wheel["verdict"] in {"bit-identical", "equivalent"}, (wheel, err)
    assert report["recipe"]["bdist_wheel_universal"] is True
    assert "py2-none-any, py3-none-any" in report["recipe"]["origins"]["bdist_wheel --universal"]
    assert code in {0, 1}


@pytest.mark.network
def test_setuptools_scm_own_backend_gets_the_wheel_package(capsys: pytest.CaptureFixture[str]) -> None:
    code, report, err = rebuild("pypi:setuptools-scm==8.1.0", capsys)
    assert code == 0, err
    assert report["verdict"] == "bit-identical"
    origins = report["recipe"]["origins"]
    assert origins["wheel==0.43.0"] == "the wheel's WHEEL Generator: bdist_wheel (0.43.0)"
    assert "wheel==0.43.0" in report["recipe"]["resolved"]


@pytest.mark.network
def test_botocore_data_files_compressed_after_the_build_are_named(capsys: pytest.CaptureFixture[str]) -> None:
    code, report, err = rebuild("pypi:botocore==1.38.27", capsys)
    assert code == 1, err
    (wheel,) = report["artifacts"]
    copies = [d for d in wheel["differences"] if d["aspects"] == ["gzipped-after-build"]]
    assert len(copies) == 875  # every botocore/data/**/*.json.gz is the rebuilt *.json, compressed
    assert all(d["member"] == d["gzipped-after-build"]["rebuilt"] + ".gz" for d in copies)
    others = sorted(d["member"] for d in wheel["differences"] if d not in copies)
    assert others == ["botocore-1.38.27.dist-info/METADATA", "botocore-1.38.27.dist-info/RECORD"]
    assert str(report["headline"]).startswith("recipe not reproduced")
    assert "875 files of the published wheel" in report["headline"]
