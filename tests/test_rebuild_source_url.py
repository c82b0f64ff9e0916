"""`vouch rebuild pypi:NAME==VERSION --source URL | auto`: the repository fetched from a URL, or from
the one the release's Project-URL names; hostile URLs refused before git runs. The repository is
served on loopback over git's smart HTTP (`git http-backend`); plain http reaches it only through
the tests' seam (RemotePolicy(loopback_http=True)), never by default."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import intree
from tests.clirun import run
from tests.gitrepo import GIT_ENV, make_repo
from tests.gitserver import GitServer, serve_git
from tests.hostile import drip, serve
from tests.localindex import LocalIndex
from tests.releaser import build_release
from vouch.archive.members import Member, MemberType
from vouch.errors import CheckError, SourceError
from vouch.host import Host
from vouch.rebuild.fromtag import SourceOptions
from vouch.rebuild.published import PublishedOptions, rebuild_published
from vouch.rebuild.remote import Remote, RemotePolicy, check_url, fetch_release, repository_from_metadata

SPEC = "pypi:demo-intree==1.0"
SEAM = RemotePolicy(loopback_http=True)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[GitServer]:
    (tmp_path / "served").mkdir()
    with serve_git(tmp_path / "served") as served:
        yield served


def release(tmp_path: Path, local_index: LocalIndex, server: GitServer, project_urls: str) -> Path:
    """demo-intree 1.0 tagged v1.0, its PKG-INFO naming ``project_urls``, served as demo.git and
    published on the index."""
    files = intree.files()
    files["_backend/backend.py"] = files["_backend/backend.py"].replace(
        'Version: {VERSION}\\n".encode()',
        'Version: {VERSION}\\n".encode() + open("urls.txt", "rb").read()',
    )
    files["urls.txt"] = project_urls
    repo = tmp_path / "repo"
    make_repo(repo, files, tag="v1.0")
    bare = server.root / "demo.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(repo), str(bare)], env=os.environ | GIT_ENV,
                   check=True, capture_output=True)  # fmt: skip
    for path in build_release(repo, tmp_path / "dist", isolation=False):
        shutil.copyfile(path, local_index.packages / path.name)
    return repo


def test_project_url_names_the_repository_and_the_sdist_is_traced(
    tmp_path: Path, local_index: LocalIndex, server: GitServer
) -> None:
    url = server.url("demo.git")
    urls = f"Project-URL: Homepage, https://example.org/\nProject-URL: Source, {url}\n"
    release(tmp_path, local_index, server, urls)
    source = SourceOptions("auto", policy=SEAM)
    options = PublishedOptions(SPEC, index_url=local_index.simple_url, source=source)
    report = rebuild_published(options)
    assert report.source is not None
    assert report.source.ok, report.source
    assert report.source.tag == "v1.0"
    assert report.source.repository == url
    assert report.source.via == "Project-URL 'Source', fetched one commit deep"
    assert report.recipe["source"] == f"{url} (Project-URL 'Source', fetched one commit deep)"
    assert any(r.startswith("POST /demo.git/git-upload-pack") for r in server.requests)
    # the same repository named on the command line
    server.requests.clear()
    options = PublishedOptions(SPEC, index_url=local_index.simple_url, source=SourceOptions(url, policy=SEAM))
    named = rebuild_published(options)
    assert named.source is not None
    assert named.source.ok
    assert named.source.repository == url
    assert named.source.via == "--source, fetched one commit deep"
    assert server.requests
    # a revision named with --rev (here the tag's commit, fetched by its id)
    commit = named.source.commit
    source = SourceOptions(url, commit, SEAM)
    options = PublishedOptions(SPEC, index_url=local_index.simple_url, source=source)
    by_commit = rebuild_published(options)
    assert by_commit.source is not None
    assert by_commit.source.ok
    assert by_commit.source.commit == commit


def test_missing_tag_at_the_url_is_a_usage_error(
    tmp_path: Path, local_index: LocalIndex, server: GitServer
) -> None:
    release(tmp_path, local_index, server, "")
    options = PublishedOptions(
        SPEC, index_url=local_index.simple_url, source=SourceOptions(server.url("demo.git"), "v9.9", SEAM)
    )
    with pytest.raises(SourceError, match=r"no tag for demo-intree 1.0 at http://127.0.0.1:\d+/demo.git"):
        rebuild_published(options)


@pytest.mark.parametrize(
    "case",
    [
        ("http://127.0.0.1:{port}/demo.git", "only https:// URLs are cloned"),  # no seam from the CLI
        ("https://me:hunter2@127.0.0.1:{port}/demo.git", "carries credentials"),
        ("ext::sh -c touch% /tmp/owned", "holds whitespace"),
        ("ext::git-upload-pack", "only https:// URLs are cloned"),
        ("https://127.0.0.1:{port}/--upload-pack=touch%20x", "looks like a git transport or an option"),
    ],
)
def test_hostile_project_url_is_refused_and_nothing_is_cloned(
    case: tuple[str, str],
    tmp_path: Path,
    local_index: LocalIndex,
    server: GitServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project_url, refusal = case
    hostile = project_url.format(port=server.port)
    release(tmp_path, local_index, server, f"Project-URL: Source, {hostile}\n")
    code, out, err = run(["rebuild", SPEC, "--index", local_index.simple_url, "--source", "auto"], capsys)
    assert code == 2, out + err
    assert refusal in err
    assert "Project-URL 'Source'" in err
    assert "hunter2" not in out + err
    assert server.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/demo.git",
        "https://me:hunter2@127.0.0.1:{port}/demo.git",
        "ext::git-upload-pack /etc",
        "file:///etc",
    ],
)
def test_hostile_source_url_is_refused_before_git_runs(
    url: str, tmp_path: Path, local_index: LocalIndex, server: GitServer, capsys: pytest.CaptureFixture[str]
) -> None:
    release(tmp_path, local_index, server, "")
    args = ["rebuild", SPEC, "--index", local_index.simple_url, "--source", url.format(port=server.port)]
    code, out, err = run(args, capsys)
    assert code == 2, out + err
    assert "is refused" in err
    assert "hunter2" not in out + err
    assert server.requests == []


def test_release_without_a_repository_url_says_so(
    tmp_path: Path, local_index: LocalIndex, server: GitServer, capsys: pytest.CaptureFixture[str]
) -> None:
    release(tmp_path, local_index, server, "Project-URL: Documentation, https://example.org/docs\n")
    code, _, err = run(["rebuild", SPEC, "--index", local_index.simple_url, "--source", "auto"], capsys)
    assert code == 2
    assert "no Project-URL of the release names its repository (labels: Documentation)" in err


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/pallets/flask",
        "https://gitlab.com/group/project.git",
        "https://127.0.0.1:8443/demo.git",
    ],
)
def test_plain_https_urls_pass(url: str) -> None:
    assert check_url(url, RemotePolicy()) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://github.com/pallets/flask",
        "https://github.com/pallets/flask?ref=x",
        "https://github.com/pallets/flask#readme",
        "https://token@github.com/pallets/flask",
        "git@github.com:pallets/flask.git",
        "ssh://git@github.com/pallets/flask",
        "--upload-pack=id",
        "https://github.com/pallets/flask\n--upload-pack=id",
        "https://:99999/x",
        "http://10.0.0.1/demo.git",  # the seam allows loopback only
        "https://" + "a" * 3000,
    ],
)
def test_hostile_urls_are_refused(url: str) -> None:
    with pytest.raises(SourceError):
        check_url(url, SEAM)


def _sdist(pkg_info: str) -> list[Member]:
    return [Member("demo-1.0/PKG-INFO", MemberType.FILE, 0o644, 0.0, pkg_info.encode())]


@pytest.mark.parametrize(
    ("pkg_info", "url", "label"),
    [
        ("Project-URL: Homepage, https://github.com/o/r\nProject-URL: Source Code, https://gitlab.com/o/r\n",
         "https://gitlab.com/o/r", "Project-URL 'Source Code'"),
        ("Project-URL: Source, https://github.com/o/r/tree/main/src\n", "https://github.com/o/r",
         "Project-URL 'Source'"),
        ("Project-URL: Documentation, https://o.readthedocs.io\nProject-URL: Home-Page, https://github.com/o/r\n",
         "https://github.com/o/r", "Project-URL 'Home-Page'"),
        ("Home-page: https://codeberg.org/o/r\n", "https://codeberg.org/o/r", "the Home-page field"),
    ],
)  # fmt: skip
def test_the_repository_label_is_chosen_from_project_urls(pkg_info: str, url: str, label: str) -> None:
    sdist = _sdist("Metadata-Version: 2.1\nName: demo\n" + pkg_info)
    remote = repository_from_metadata(sdist, RemotePolicy())
    assert (remote.url, remote.label) == (url, label)


def test_a_home_page_off_the_forges_is_not_taken_for_the_repository() -> None:
    with pytest.raises(SourceError, match="labels: Homepage"):
        repository_from_metadata(_sdist("Project-URL: Homepage, https://example.org/\n"), RemotePolicy())


def test_a_server_that_stalls_is_abandoned_at_the_deadline(tmp_path: Path) -> None:
    policy = RemotePolicy(loopback_http=True, timeout=1.5)
    with serve() as stalling:
        refs = "/demo.git/info/refs?service=git-upload-pack"
        stalling.routes[refs] = drip(b"0" * 1000, 0.5, headers_too=True)
        remote = Remote(check_url(f"{stalling.url}/demo.git", policy), "--source")
        started = time.monotonic()
        with pytest.raises(CheckError, match="did not finish in"):
            fetch_release(remote, ("demo", "1.0"), None, tmp_path / "clone", host=Host(), policy=policy,
                          progress=lambda _: None)  # fmt: skip
        assert time.monotonic() - started < 10
        assert stalling.requests


def test_a_build_record_takes_a_local_clone_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = tmp_path / "demo-1.0.buildinfo.json"
    record.write_text("{}", encoding="utf-8")
    code, _, err = run(["rebuild", str(record), "--source", "https://github.com/o/demo"], capsys)
    assert code == 2
    assert "--source for a build record is a local clone" in err
