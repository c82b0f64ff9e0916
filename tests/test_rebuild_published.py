"""`vouch rebuild pypi:NAME==VERSION`: real releases from PyPI, and an index that misbehaves."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from tests.clirun import run


@pytest.mark.network
def test_flask_is_bit_identical_with_the_inferred_recipe(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    statement_path = tmp_path / "flask.rebuild.json"
    code, out, err = run(["rebuild", "pypi:flask==3.1.3", "--json", "--record", str(statement_path)], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["verdict"] == "bit-identical"
    assert "flit_core==3.12.0" in report["recipe"]["requirements"]
    assert report["recipe"]["generator"] == "flit 3.12.0"
    assert report["recipe"]["source_date_epoch"] == 1771472515
    (wheel,) = report["artifacts"]
    assert wheel["filename"] == "flask-3.1.3-py3-none-any.whl"
    assert wheel["published_sha256"] == wheel["rebuilt_sha256"]
    statement = json.loads(statement_path.read_text())
    assert statement["subject"] == [
        {"name": wheel["filename"], "digest": {"sha256": wheel["rebuilt_sha256"]}}
    ]
    assert statement["predicate"]["buildDefinition"]["externalParameters"]["release"] == "flask==3.1.3"


@pytest.mark.network
def test_attrs_is_bit_identical(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["rebuild", "pypi:attrs==26.1.0", "--json"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["verdict"] == "bit-identical"
    assert any(r.startswith("hatchling==") for r in report["recipe"]["requirements"])


@pytest.mark.network
def test_django_is_equivalent_after_dist_info_timestamps(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["rebuild", "pypi:django==5.2.19", "--json"], capsys)
    assert code == 1
    report = json.loads(out)
    assert report["verdict"] == "equivalent"
    (wheel,) = report["artifacts"]
    assert wheel["verdict"] == "equivalent"
    assert wheel["differences"] == []
    assert [n["aspect"] for n in wheel["normalizations"]] == ["mtime"]
    members = wheel["normalizations"][0]["members"]
    assert len(members) == 8
    assert all(".dist-info/" in m for m in members)
    assert run(["rebuild", "pypi:django==5.2.19", "--accept-equivalent"], capsys)[0] == 0


class FakeIndex(BaseHTTPRequestHandler):
    """A loopback index that answers as told: what a broken or lying index does."""

    routes: ClassVar[dict[str, tuple[int, str, bytes]]] = {}

    def do_GET(self) -> None:
        status, content_type, body = self.routes.get(self.path, (404, "text/plain", b"not found"))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        return None


@pytest.fixture
def fake_index() -> Iterator[tuple[str, dict[str, tuple[int, str, bytes]]]]:
    routes: dict[str, tuple[int, str, bytes]] = {}
    handler = type("Handler", (FakeIndex,), {"routes": routes})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", routes
    server.shutdown()
    server.server_close()
    thread.join()


JSON = "application/vnd.pypi.simple.v1+json"


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (404, b"nope", "answered 404"),
        (500, b"oops", "answered 500"),
        (200, b"<html>not json</html>", "is not PEP 691 JSON"),
        (200, b'{"files": [{"filename": 3}]}', "is not PEP 691 JSON"),
        (200, b'{"files": []}', "lists no sdist or wheel of demo 1.0"),
    ],
)
def test_broken_index_cannot_be_checked(
    status: int,
    body: bytes,
    message: str,
    fake_index: tuple[str, dict[str, tuple[int, str, bytes]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, routes = fake_index
    routes["/simple/demo/"] = (status, JSON, body)
    code, _, err = run(["rebuild", "pypi:demo==1.0", "--index", f"{url}/simple/"], capsys)
    assert code == 3
    assert message in err


def test_file_whose_sha256_differs_from_the_index_is_refused(
    fake_index: tuple[str, dict[str, tuple[int, str, bytes]]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    url, routes = fake_index
    honest = b"the real sdist"
    page = {
        "meta": {"api-version": "1.1"},
        "name": "demo",
        "files": [
            {"filename": "demo-1.0.tar.gz", "url": "/files/demo-1.0.tar.gz",
             "hashes": {"sha256": hashlib.sha256(honest).hexdigest()}},
            {"filename": "demo-1.0-py3-none-any.whl", "url": "/files/demo-1.0-py3-none-any.whl",
             "hashes": {"sha256": "0" * 64}},
        ],
    }  # fmt: skip
    routes["/simple/demo/"] = (200, JSON, json.dumps(page).encode())
    routes["/files/demo-1.0.tar.gz"] = (200, "application/octet-stream", b"a substituted sdist")
    code, _, err = run(["rebuild", "pypi:demo==1.0", "--index", f"{url}/simple/"], capsys)
    assert code == 1
    assert "demo-1.0.tar.gz" in err
    assert "but the index lists" in err
    cache = Path(os.environ["VOUCH_CACHE_DIR"]) / "dists"
    assert not list(cache.glob(f"{hashlib.sha256(honest).hexdigest()}/*.tar.gz"))


def test_compiled_only_release_is_skipped_with_a_reason(
    fake_index: tuple[str, dict[str, tuple[int, str, bytes]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, routes = fake_index
    page = {
        "files": [
            {"filename": "demo-1.0.tar.gz", "url": "/f/a", "hashes": {"sha256": "1" * 64}},
            {"filename": "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", "url": "/f/b",
             "hashes": {"sha256": "2" * 64}},
        ]
    }  # fmt: skip
    routes["/simple/demo/"] = (200, JSON, json.dumps(page).encode())
    code, _, err = run(["rebuild", "pypi:demo==1.0", "--index", f"{url}/simple/"], capsys)
    assert code == 3
    assert "compiled code" in err


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("pypi:flask", "'pypi:flask' is not pypi:NAME==VERSION"),
        ("pypi:flask>=3", "'pypi:flask>=3' is not pypi:NAME==VERSION"),
        ("pypi:==1.0", "'pypi:==1.0' is not pypi:NAME==VERSION"),
        ("pypi:flask==not a version", "'pypi:flask==not a version' is not pypi:NAME==VERSION"),
        ("pypi:flask==1..0", "'pypi:flask==1..0': Invalid version: '1..0'"),
    ],
)
def test_bad_release_spec(spec: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["rebuild", spec], capsys)
    assert code == 2
    assert message in err


def test_record_flags_are_refused_for_published_releases(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["rebuild", "pypi:flask==3.1.3", "--against", "dist"], capsys)
    assert code == 2
    assert "--against applies to a build record" in err
