"""`vouch rebuild pypi:NAME==VERSION --source CLONE`: the published sdist traced to its git tag,
member by member, then rebuilt from the tag; releases made by the test and served by pypiserver."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import intree
from tests.gitrepo import make_repo
from tests.localindex import LocalIndex
from tests.releaser import add_file, append_line, build_release, tamper_sdist
from vouch.cli import main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def index(tmp_path: Path) -> Iterator[LocalIndex]:
    served = LocalIndex(tmp_path / "index")
    served.start()
    yield served
    served.stop()


def publish(files: tuple[Path, ...], index: LocalIndex) -> None:
    for path in files:
        shutil.copyfile(path, index.packages / path.name)


def test_intree_release_is_traced_to_its_tag(
    tmp_path: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, intree.files(), tag="v1.0")
    publish(build_release(repo, tmp_path / "dist", isolation=False), index)
    code, out, err = run(
        ["rebuild", "pypi:demo-intree==1.0", "--index", index.simple_url, "--source", str(repo), "--json"],
        capsys,
    )
    report = json.loads(out)
    source = report["source"]
    assert source["verdict"] == "from-git", source
    assert source["tag"] == "v1.0"
    assert source["counts"] == {"from-git": 3, "generated": 1, "modified": 0, "not-in-git": 0}
    assert source["members"] == [
        {"member": "PKG-INFO", "class": "generated", "diff": "",
         "rule": "PKG-INFO: the core metadata every backend writes into an sdist"},
    ]  # fmt: skip
    # the sloppy in-tree backend stamps wall-clock times: the same sdist but for its times
    sdist = report["artifacts"][0]
    assert sdist["filename"] == "demo_intree-1.0.tar.gz"
    assert sdist["verdict"] == "equivalent"
    assert {n["aspect"] for n in sdist["normalizations"]} <= {"gzip-mtime", "mtime"}
    assert code == 1, err
    kept = tmp_path / "kept"
    code, _, err = run(
        ["rebuild", "pypi:demo-intree==1.0", "--index", index.simple_url, "--source", str(repo),
         "--accept-equivalent", "--out", str(kept)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    kept_names = sorted(p.name for p in kept.iterdir())
    assert kept_names == ["demo_intree-1.0-py3-none-any.whl", "demo_intree-1.0.tar.gz"]


def test_intree_tampered_sdist_fails_naming_the_members(
    tmp_path: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, intree.files(), tag="v1.0")
    sdist, wheel = build_release(repo, tmp_path / "dist", isolation=False)
    tamper_sdist(sdist, append_line("demo_intree-1.0/demo_intree/__init__.py", "import os; os.system('id')"))
    tamper_sdist(sdist, add_file("demo_intree-1.0/demo_intree/_hook.py", b"payload = 1\n"))
    publish((sdist, wheel), index)
    args = ["rebuild", "pypi:demo-intree==1.0", "--index", index.simple_url, "--source", str(repo)]
    code, out, err = run(args, capsys)
    assert code == 1, err
    assert "SOURCE DIFFERS FROM GIT" in out
    assert "+import os; os.system('id')" in out
    code, out, _ = run([*args, "--json"], capsys)
    members = {m["member"]: m for m in json.loads(out)["source"]["members"]}
    assert members["demo_intree/__init__.py"]["class"] == "modified"
    assert "+import os; os.system('id')" in members["demo_intree/__init__.py"]["diff"]
    assert members["demo_intree/_hook.py"]["class"] == "not-in-git"
    assert code == 1
