"""`vouch rebuild pypi:NAME==VERSION --source CLONE`: the published sdist traced to its git tag,
member by member, then rebuilt from the tag; releases made by the test and served by pypiserver."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import intree
from tests.clirun import run
from tests.gitrepo import make_repo
from tests.localindex import LocalIndex
from tests.projects import FLIT, HATCH_VCS, SETUPTOOLS_SCM, Project
from tests.releaser import add_file, append_line, build_release, tamper_sdist
from vouch.archive.members import Member, MemberType
from vouch.rebuild.fromtag import sdist_branch


def publish(files: tuple[Path, ...], local_index: LocalIndex) -> None:
    for path in files:
        shutil.copyfile(path, local_index.packages / path.name)


def test_intree_release_is_traced_to_its_tag(
    tmp_path: Path, local_index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, intree.files(), tag="v1.0")
    publish(build_release(repo, tmp_path / "dist", isolation=False), local_index)
    code, out, err = run(
        ["rebuild", "pypi:demo-intree==1.0", "--index", local_index.simple_url, "--source", str(repo),
         "--json"],
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
    # the wheel twice: from the published sdist, then from the sdist rebuilt from the tag
    from_sdist, from_tag = report["artifacts"][1:]
    assert from_sdist["filename"] == from_tag["filename"] == "demo_intree-1.0-py3-none-any.whl"
    assert "from tag" not in from_sdist["note"]
    assert from_tag["note"].startswith("built from the sdist rebuilt from tag v1.0 (")
    # the sloppy backend stamps wall-clock times (zip times: 2-second steps) into both: the same
    # wheel but for its times, or the very bytes when both builds fell in the same two seconds
    for wheel in (from_sdist, from_tag):
        assert wheel["verdict"] in {"equivalent", "bit-identical"}, wheel
        assert {n["aspect"] for n in wheel["normalizations"]} <= {"mtime"}, wheel
    assert code == 1, err  # the sdist is only equivalent (its gzip header and member times differ)
    kept = tmp_path / "kept"
    code, _, err = run(
        ["rebuild", "pypi:demo-intree==1.0", "--index", local_index.simple_url, "--source", str(repo),
         "--accept-equivalent", "--out", str(kept)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    kept_names = sorted(p.name for p in kept.iterdir())
    assert kept_names == ["demo_intree-1.0-py3-none-any.whl", "demo_intree-1.0.tar.gz", "from-tag"]
    assert [p.name for p in (kept / "from-tag").iterdir()] == ["demo_intree-1.0-py3-none-any.whl"]


def test_intree_tampered_sdist_fails_naming_the_members(
    tmp_path: Path, local_index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, intree.files(), tag="v1.0")
    sdist, wheel = build_release(repo, tmp_path / "dist", isolation=False)
    tamper_sdist(sdist, append_line("demo_intree-1.0/demo_intree/__init__.py", "import os; os.system('id')"))
    tamper_sdist(sdist, add_file("demo_intree-1.0/demo_intree/_hook.py", b"payload = 1\n"))
    publish((sdist, wheel), local_index)
    args = ["rebuild", "pypi:demo-intree==1.0", "--index", local_index.simple_url, "--source", str(repo)]
    code, out, err = run(args, capsys)
    assert code == 1, err
    headline = "code differs: the sdist is not tag v1.0: demo_intree/__init__.py, demo_intree/_hook.py"
    assert out.startswith(headline)
    assert "SOURCE DIFFERS FROM GIT" in out
    assert "+import os; os.system('id')" in out
    code, out, _ = run([*args, "--json"], capsys)
    members = {m["member"]: m for m in json.loads(out)["source"]["members"]}
    assert members["demo_intree/__init__.py"]["class"] == "modified"
    assert "+import os; os.system('id')" in members["demo_intree/__init__.py"]["diff"]
    assert members["demo_intree/_hook.py"]["class"] == "not-in-git"
    assert code == 1


BACKENDS = ("flit_core", "hatchling", "hatch-vcs", "setuptools", "setuptools-scm")


@pytest.fixture(scope="session")
def backend_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The build backends and their dependencies, from PyPI, to serve from the local index."""
    dest = tmp_path_factory.mktemp("backend-wheels")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary", ":all:", "--dest", str(dest),
         *BACKENDS],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return dest


def _scm_files(base: Project, table: str, key: str) -> dict[str, str]:
    """``base`` with its scm plugin writing a version file that git ignores."""
    files = dict(base.files)
    version_file = f"{base.dist}/_version.py"
    files["pyproject.toml"] = files["pyproject.toml"].replace(table, f'{table}{key} = "{version_file}"\n')
    assert version_file in files["pyproject.toml"]
    files[".gitignore"] += f"{version_file}\n"
    return files


RELEASES = {
    "flit_core": (FLIT, FLIT.files, "0.9.0", ()),
    "hatch-vcs": (
        HATCH_VCS,
        _scm_files(
            HATCH_VCS, '[tool.hatch.version]\nsource = "vcs"\n', "[tool.hatch.build.hooks.vcs]\nversion-file"
        ),
        "4.5.6",
        ("demo_hatch_vcs/_version.py",),
    ),
    "setuptools-scm": (
        SETUPTOOLS_SCM,
        _scm_files(SETUPTOOLS_SCM, "[tool.setuptools_scm]\n", "version_file"),
        "v2.0.1",
        ("demo_scm/_version.py",),
    ),
}


@pytest.mark.network
@pytest.mark.parametrize("backend", sorted(RELEASES))
def test_release_from_a_backend_is_traced_and_tampering_is_caught(
    backend: str,
    backend_wheels: Path,
    tmp_path: Path,
    local_index: LocalIndex,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project, files, tag, version_files = RELEASES[backend]
    repo = tmp_path / "repo"
    make_repo(repo, files, executables=project.executables, tag=tag)
    for wheel in backend_wheels.iterdir():
        shutil.copyfile(wheel, local_index.packages / wheel.name)
    sdist, wheel = build_release(repo, tmp_path / "dist", env={"UV_INDEX_URL": local_index.simple_url})
    publish((sdist, wheel), local_index)
    spec = f"pypi:{project.dist}=={project.version}"
    args = ["rebuild", spec, "--index", local_index.simple_url, "--source", str(repo), "--json"]
    code, out, err = run(args, capsys)
    report = json.loads(out)
    source = report["source"]
    assert source["verdict"] == "from-git", source
    assert source["tag"] == tag
    generated = {m["member"]: m["rule"] for m in source["members"] if m["class"] == "generated"}
    assert "PKG-INFO" in generated
    for version_file in version_files:
        assert "written by" in generated[version_file]
    published_sdist = report["artifacts"][0]
    assert published_sdist["filename"] == sdist.name
    if backend == "setuptools-scm":
        # setuptools-scm records the branch of the releaser's checkout ("main"): the tag is checked
        # out on a branch of that name, so only the clock setuptools stamps (gzip header, the
        # generated members) stays, or nothing when both builds fell in the same second
        assert published_sdist["verdict"] in {"equivalent", "bit-identical"}, published_sdist
        assert {n["aspect"] for n in published_sdist["normalizations"]} <= {"gzip-mtime", "mtime"}
        assert published_sdist["differences"] == []
        assert report["recipe"]["sdist_branch"] == "main"
        assert "scm_version.json" in report["recipe"]["sdist_branch_origin"]
    else:
        assert published_sdist["verdict"] == "bit-identical", published_sdist
    assert report["artifacts"][1]["verdict"] == "bit-identical", report["artifacts"][1]
    assert code in {0, 1}, err

    top = sdist.name.removesuffix(".tar.gz")
    module = f"{project.dist}/__init__.py"
    tamper_sdist(sdist, append_line(f"{top}/{module}", "import os; os.system('id')"))
    tamper_sdist(sdist, add_file(f"{top}/{project.dist}/_hook.py", b"payload = 1\n"))
    (local_index.packages / sdist.name).write_bytes(sdist.read_bytes())
    code, out, _ = run(args, capsys)
    assert code == 1
    members = {m["member"]: m["class"] for m in json.loads(out)["source"]["members"]}
    assert members[module] == "modified"
    assert members[f"{project.dist}/_hook.py"] == "not-in-git"


def _scm_sdist(version_json: bytes) -> list[Member]:
    return [
        Member("demo-1.0/PKG-INFO", MemberType.FILE, 0o644, 0.0, b"Name: demo\n"),
        Member("demo-1.0/src/demo.egg-info/scm_version.json", MemberType.FILE, 0o644, 0.0, version_json),
    ]


@pytest.mark.parametrize(
    ("branch", "expected"),
    [("main", "main"), ("release/1.x", "release/1.x"), ("HEAD", None), ("-B", None), ("a..b", None),
     ("x y", None), ("heads.lock", None), (7, None)],
)  # fmt: skip
def test_branch_is_read_from_scm_version_json_and_checked(branch: object, expected: str | None) -> None:
    found = sdist_branch(_scm_sdist(json.dumps({"version": "1.0", "branch": branch}).encode()))
    if expected is None:
        assert found is None
    else:
        assert found == (expected, "src/demo.egg-info/scm_version.json")
    assert sdist_branch(_scm_sdist(b"{not json")) is None
