"""Django, the first user: its newest 5.2.x sdist from PyPI, committed to git, built twice."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from packaging.utils import parse_sdist_filename
from packaging.version import Version

from tests.gitrepo import git
from tests.reproduce import build_on_two_machines
from vouch.archive.safe import read_tar_gz, read_zip
from vouch.index.simple import SimpleIndex

pytestmark = pytest.mark.network


def newest_django_52_sdist(cache: Path) -> Path:
    with SimpleIndex(cache_dir=cache) as index:
        files = [f for f in index.project_files("django") if f.filename.endswith(".tar.gz") and not f.yanked]
        versions = {f: parse_sdist_filename(f.filename)[1] for f in files}
        candidates = [f for f, v in versions.items() if v.release[:2] == (5, 2) and not v.is_prerelease]
        newest = max(candidates, key=lambda f: versions[f])
        assert versions[newest] >= Version("5.2.9")
        return index.download(newest)


def test_django_builds_reproducibly(
    tmp_path: Path,
    vouch_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sdist = newest_django_52_sdist(vouch_cache / "django-sdist")
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    (tree,) = (tmp_path / "unpacked").iterdir()
    repo = tmp_path / "django"
    tree.rename(repo)
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "--all")
    dates = {"GIT_AUTHOR_DATE": "2025-06-01T12:00:00Z", "GIT_COMMITTER_DATE": "2025-06-01T12:00:00Z"}
    git(repo, "commit", "--quiet", "-m", f"Django from {sdist.name}", env=dates)

    first, second = build_on_two_machines(repo, tmp_path, monkeypatch, capsys)

    assert first.digests() == second.digests()
    version = parse_sdist_filename(sdist.name)[1]
    assert sorted(first.digests()) == [f"django-{version}-py3-none-any.whl", f"django-{version}.tar.gz"]
    # the published sdist carries the releaser's uid/gid and names; ours does not
    ours = read_tar_gz(first.artifact(".tar.gz").read_bytes())
    assert {(m.uid, m.gid, m.uname, m.gname) for m in ours} == {(0, 0, "", "")}
    assert len(ours) > 1000
    wheel = read_zip(first.artifact(".whl").read_bytes())
    assert wheel[-1].name == f"django-{version}.dist-info/RECORD"
