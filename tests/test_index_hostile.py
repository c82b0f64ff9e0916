"""A hostile package index: every misbehaviour is refused with exit 3 and one line, and nothing is
written outside the download cache (which keeps no partial file).

Each test starts its own loopback HTTP server (tests/hostile.py) and goes through `vouch provenance
NAME==VERSION --index URL`, the command that reads pages, provenance and files from an index.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests import hostile
from vouch.cli import main
from vouch.errors import NetworkError, VerificationError
from vouch.index.simple import IndexFile, SimpleIndex

PUBLISHER = "github:owner/repo/release.yml"
DATA = b"the release's bytes"


def vouch(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def provenance(server: hostile.Server, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    args = ["provenance", "demo==1.0", "--index", f"{server.url}/simple/", "--publisher", PUBLISHER]
    code, out, err = vouch([*args, *extra], capsys)
    assert "Traceback" not in out + err
    return code, err


def one_error_line(err: str) -> str:
    (line,) = [line for line in err.splitlines() if line.startswith("error: ")]
    return line


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The download cache, deep inside tmp_path, so an escape (../../x) would land in tmp_path."""
    cache = tmp_path / "a" / "b" / "cache"
    monkeypatch.setenv("VOUCH_CACHE_DIR", str(cache))
    return cache


def written(tmp_path: Path) -> list[str]:
    return sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())


@pytest.fixture
def server() -> Any:
    with hostile.serve() as state:
        yield state


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ({"filename": "demo-1.0.tar.gz", "url": "/f", "hashes": {"sha256": "../../x"}}, "lowercase hex"),
        ({"filename": "demo-1.0.tar.gz", "url": "/f", "hashes": {"sha256": "A" * 64}}, "lowercase hex"),
        ({"filename": "../../demo-1.0.tar.gz", "url": "/f", "hashes": {}}, "not a plain file name"),
        ({"filename": "sub\\demo-1.0.tar.gz", "url": "/f", "hashes": {}}, "not a plain file name"),
        ({"filename": "demo-1.0.tar.gz\u0000", "url": "/f", "hashes": {}}, "not a plain file name"),
        ({"filename": 7, "url": "/f", "hashes": {}}, "'filename' of a file is int"),
        ({"filename": "demo-1.0.tar.gz", "hashes": {}}, "'url' of a file is NoneType"),
        ({"filename": "demo-1.0.tar.gz", "url": "/f", "hashes": []}, "'hashes' of demo-1.0.tar.gz"),
        ({"filename": "demo-1.0.tar.gz", "url": "/f", "size": "big"}, "'size' of demo-1.0.tar.gz"),
        ("demo-1.0.tar.gz", "a file entry is str"),
    ],
)
@pytest.mark.usefixtures("cache")
def test_odd_file_entries_are_refused_before_use(
    entry: Any, reason: str, server: hostile.Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.page("demo", [entry])
    code, err = provenance(server, capsys)
    assert code == 3
    line = one_error_line(err)
    assert "is not PEP 691 JSON" in line
    assert reason in line
    assert written(tmp_path) == []  # not even the cache folder got a file
    assert server.requests == ["/simple/demo/"]  # nothing else was fetched


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[]", "no list of files"),
        (b'{"files": {}}', "no list of files"),
        (b"{not json", "Expecting property name"),
        (b"\xff\xfe", "not PEP 691 JSON"),
        (b'{"files": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "not PEP 691 JSON"),
        (b'{"files": [' + b'{"a":' * 50 + b"1" + b"}" * 50 + b"]}", "nested too deeply"),
    ],
    ids=["list", "files-not-a-list", "broken", "binary", "deep-lists", "deep-objects"],
)
def test_odd_index_json_is_one_line_exit_3(
    body: bytes, reason: str, server: hostile.Server, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.answer("/simple/demo/", body)
    code, err = provenance(server, capsys)
    assert code == 3
    assert reason in one_error_line(err)


def test_html_page_with_a_bad_digest_is_refused(server: hostile.Server, cache: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    server.answer("/simple/demo/", b'<a href="/f#sha256=../../x">demo-1.0.tar.gz</a>', "text/html")
    code, err = provenance(server, capsys)
    assert code == 3
    assert "not 64 lowercase hex digits" in one_error_line(err)


def test_a_dripping_page_fails_within_the_deadline(
    server: hostile.Server, cache: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    page = json.dumps({"files": []}).encode() + b" " * 200
    server.routes["/simple/demo/"] = hostile.drip(page, 0.2)  # 40 s in all, each byte in time
    monkeypatch.setenv("VOUCH_INDEX_DEADLINE", "2")
    start = time.monotonic()
    code, err = provenance(server, capsys)
    assert code == 3
    assert time.monotonic() - start < 6
    assert "within 2 s" in one_error_line(err)


def test_dripping_headers_fail_within_the_deadline(server: hostile.Server, tmp_path: Path) -> None:
    server.routes["/simple/demo/"] = hostile.drip(b"{}" * 100, 0.2, headers_too=True)
    start = time.monotonic()
    with SimpleIndex(f"{server.url}/simple/", cache_dir=tmp_path, deadline=2) as index, \
            pytest.raises(NetworkError, match="did not answer within 2 s"):  # fmt: skip
        index.project_files("demo")
    assert time.monotonic() - start < 6


def test_an_endless_download_is_cut_at_the_cap(server: hostile.Server, tmp_path: Path) -> None:
    server.routes["/files/demo-1.0.tar.gz"] = hostile.endless()
    file = IndexFile("demo-1.0.tar.gz", f"{server.url}/files/demo-1.0.tar.gz", "0" * 64)
    cache = tmp_path / "cache"
    with SimpleIndex(f"{server.url}/simple/", cache_dir=cache, max_download_bytes=1 << 20) as index, \
            pytest.raises(NetworkError, match="larger than the 1048576 bytes allowed"):  # fmt: skip
        index.download(file)
    assert written(tmp_path) == []


@pytest.mark.network  # the provenance is a real one, from the pinned pypi-attestations sdist
@pytest.mark.usefixtures("pep740_assets")
def test_a_download_larger_than_the_index_declares_is_refused(
    server: hostile.Server, cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.pep740_assets import PA  # real provenance from the pinned sdist  # noqa: PLC0415

    server.page("demo", [server.file("demo-1.0.tar.gz", DATA, size=4, provenance="/provenance")])
    server.answer("/provenance", (PA / "pypi_attestations-0.0.19.tar.gz.provenance").read_bytes())
    code, out, _ = vouch(["provenance", "demo==1.0", "--index", f"{server.url}/simple/", "--publisher",
                          PUBLISHER, "--json"], capsys)  # fmt: skip
    (file,) = json.loads(out)["files"]
    assert (code, file["status"]) == (3, "not checked")
    assert "is 19 bytes, more than the 4 allowed" in file["reason"]
    assert [p.name for p in cache.rglob("*") if p.is_file()] == []


def test_a_file_without_a_valid_sha256_is_never_downloaded(server: hostile.Server, tmp_path: Path) -> None:
    server.answer("/f", DATA, "application/octet-stream")
    with SimpleIndex(f"{server.url}/simple/", cache_dir=tmp_path / "cache") as index:
        for sha256 in ("", "../../x"):
            with pytest.raises(VerificationError, match="no valid sha256"):
                index.download(IndexFile("demo-1.0.tar.gz", f"{server.url}/f", sha256))
        with pytest.raises(NetworkError, match="not a plain name"):
            index.download(IndexFile("../demo-1.0.tar.gz", f"{server.url}/f", "0" * 64))
        assert index.cached("../../x", "demo-1.0.tar.gz") is None
    assert server.requests == []
    assert written(tmp_path) == []


@pytest.mark.parametrize("other", ["localhost", "127.0.0.2"])
def test_a_redirect_to_another_host_is_refused(
    other: str, server: hostile.Server, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with hostile.serve(other if other != "localhost" else "127.0.0.1") as elsewhere:
        elsewhere.page("demo", [elsewhere.file("demo-1.0.tar.gz", DATA)])
        server.routes["/simple/demo/"] = hostile.redirect(f"http://{other}:{elsewhere.port}/simple/demo/")
        code, err = provenance(server, capsys)
        assert code == 3
        target = f"http://{other}:{elsewhere.port}/simple/demo/"
        assert f"redirected to another host ({target})" in one_error_line(err)
        assert elsewhere.requests == []


def test_a_redirect_on_the_same_host_is_followed(server: hostile.Server, tmp_path: Path) -> None:
    server.routes["/simple/demo/"] = hostile.redirect("/elsewhere/demo/")
    server.page("elsewhere-placeholder", [])
    server.routes["/elsewhere/demo/"] = server.routes.pop("/simple/elsewhere-placeholder/")
    with SimpleIndex(f"{server.url}/simple/", cache_dir=tmp_path) as index:
        assert index.project_files("demo") == []
    assert server.requests == ["/simple/demo/", "/elsewhere/demo/"]


def test_endless_redirects_are_refused(server: hostile.Server, tmp_path: Path) -> None:
    server.routes["/simple/demo/"] = hostile.redirect("/simple/demo/")
    with SimpleIndex(f"{server.url}/simple/", cache_dir=tmp_path) as index, \
            pytest.raises(NetworkError, match="redirected more than 5 times"):  # fmt: skip
        index.project_files("demo")


@pytest.mark.parametrize("url", ["not a url", "ftp://example.org/simple/", "http://", "http://[::1"])
def test_an_invalid_index_url_is_a_usage_error(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = vouch(["provenance", "demo==1.0", "--index", url, "--publisher", PUBLISHER], capsys)
    assert code == 2
    assert "Traceback" not in out + err
    assert "the index URL" in one_error_line(err)


def test_credentials_in_the_index_url_are_never_shown(
    server: hostile.Server, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.page("demo", [])
    url = f"http://releaser:s3cret-token@127.0.0.1:{server.port}/simple/"
    args = ["provenance", "demo==1.0", "--index", url, "--publisher", PUBLISHER, "--json"]
    code, out, err = vouch(args, capsys)
    assert code == 3
    assert "lists no sdist or wheel" in out + err
    assert "s3cret-token" not in out + err
    assert "releaser" not in out + err
