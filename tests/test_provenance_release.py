"""`vouch provenance NAME==VERSION` against a loopback PEP 691 index that serves PEP 740 provenance.

The live Integrity API cannot be reached from CI, so the index is a local HTTP server started by
each test: it lists the files, serves the fixtures' real provenance and the real distribution
bytes (downloaded from PyPI, tests marked `network`), or misbehaves as told.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from tests.clirun import run
from tests.pep740_assets import DISTS, PA
from tests.test_provenance import GITHUB_PA, PA_SDIST, real_dist

JSON = "application/vnd.pypi.simple.v1+json"
INTEGRITY = "application/vnd.pypi.integrity.v1+json"
NAME, VERSION = "pypi-attestations", "0.0.19"
SDIST = PA_SDIST
WHEEL = "pypi_attestations-0.0.19-py3-none-any.whl"
UNLISTED = "pypi_attestations-0.0.20.tar.gz"
UNKNOWN_PUBLISHER = (
    b'{"version": 1, "attestation_bundles": [{"publisher": {"kind": "Nope"}, "attestations": []}]}'
)

# each test's index serves its own bytes under a digest: no download cache shared between tests
pytestmark = [pytest.mark.network, pytest.mark.usefixtures("pep740_assets", "sigstore_cache", "own_cache")]


def provenance() -> bytes:
    """The real Integrity API provenance of the sdist."""
    return (PA / f"{SDIST}.provenance").read_bytes()


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str = "application/octet-stream"
    declared_length: int | None = None  # larger than the body: the connection closes early


@dataclass
class Index:
    url: str
    routes: dict[str, Answer]
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Accept)

    def publish(self, files: list[dict[str, Any]]) -> None:
        page = {"meta": {"api-version": "1.1"}, "name": NAME, "files": files}
        self.routes[f"/simple/{NAME}/"] = Answer(200, json.dumps(page).encode(), JSON)

    def file(self, filename: str, data: bytes, *, provenance: bytes | None = None, listed: bool = True,
             **answer: Any) -> dict[str, Any]:  # fmt: skip
        """Serve ``data`` as ``filename``; its provenance at a listed URL, or at the Integrity API path."""
        self.routes[f"/files/{filename}"] = Answer(200, data, **answer)
        entry: dict[str, Any] = {"filename": filename, "url": f"/files/{filename}",
                                 "hashes": {"sha256": hashlib.sha256(data).hexdigest()}}  # fmt: skip
        path = (
            f"/provenance/{filename}" if listed else f"/integrity/{NAME}/{VERSION}/{filename}/provenance"
        )
        if listed:
            entry["provenance"] = path
        if provenance is not None:
            self.routes[path] = Answer(200, provenance, INTEGRITY)
        return entry


class Handler(BaseHTTPRequestHandler):
    index: ClassVar[Index]

    def do_GET(self) -> None:
        self.index.requests.append((self.path, self.headers.get("Accept", "")))
        answer = self.index.routes.get(self.path, Answer(404, b"not found", "text/plain"))
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(answer.declared_length or len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, *_: object) -> None:
        return None


@pytest.fixture
def index() -> Iterator[Index]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = Index(f"http://127.0.0.1:{server.server_address[1]}", {})
    server.RequestHandlerClass = type("BoundHandler", (Handler,), {"index": state})
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="session")
def sdist_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return real_dist(SDIST, tmp_path_factory.mktemp("pypi-dists")).read_bytes()


def check(index: Index, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, Any], str]:
    args = [
        "provenance",
        f"{NAME}=={VERSION}",
        "--index",
        f"{index.url}/simple/",
        "--publisher",
        GITHUB_PA,
        *extra,
    ]
    code, out, err = run([*args, "--json"], capsys)
    report: dict[str, Any] = json.loads(out) if out.strip() else {}
    return code, report, err


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {f["filename"]: f["status"] for f in report["files"]}


@pytest.mark.network
@pytest.mark.parametrize("listed", [True, False], ids=["provenance-url", "integrity-api"])
def test_all_files_verified(
    listed: bool, index: Index, sdist_bytes: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    index.publish([index.file(SDIST, sdist_bytes, provenance=provenance(), listed=listed)])
    code, report, err = check(index, capsys)
    assert code == 0, err
    assert report["ok"]
    (file,) = report["files"]
    assert (file["status"], file["sha256"]) == ("verified", DISTS[SDIST][1])
    assert file["publisher_claims"] == [GITHUB_PA]
    assert file["source"].startswith(index.url + ("/provenance/" if listed else "/integrity/"))
    provenance_requests = [accept for path, accept in index.requests if "provenance" in path]
    assert provenance_requests == [INTEGRITY]
    assert bool(report["notes"]) is not listed  # an index without PEP 740 URLs is said to be one
    code, out, _ = run(["provenance", f"{NAME}=={VERSION}", "--index", f"{index.url}/simple/",
                        "--publisher", GITHUB_PA], capsys)  # fmt: skip
    assert code == 0
    assert "provenance: VERIFIED (1 verified)" in out


@pytest.mark.network
def test_a_file_without_provenance_fails(
    index: Index, sdist_bytes: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    index.publish([
        index.file(SDIST, sdist_bytes, provenance=provenance()),
        index.file(WHEEL, b"a wheel uploaded without attestations"),
        index.file(UNLISTED, b"another release: not checked"),
    ])  # fmt: skip
    code, report, _ = check(index, capsys)
    assert code == 1
    assert statuses(report) == {SDIST: "verified", WHEEL: "no provenance"}
    assert "answered 404" in report["files"][1]["reason"]
    assert f"/files/{WHEEL}" not in [path for path, _ in index.requests]  # nothing to verify: not downloaded


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (Answer(403, b"forbidden"), "the index answered 403"),
        (Answer(406, b"not acceptable"), "the index answered 406"),
        (Answer(500, b"oops"), "the index answered 500"),
        (Answer(200, b"<html>maintenance</html>", "text/html"), "is not a PEP 740 provenance object"),
        (Answer(200, b'{"version": 1}', INTEGRITY), "is not a PEP 740 provenance object"),
        (Answer(200, UNKNOWN_PUBLISHER, INTEGRITY), "is not a PEP 740 provenance object"),
    ],
)
def test_provenance_that_cannot_be_read_is_not_checked(
    answer: Answer, reason: str, index: Index, capsys: pytest.CaptureFixture[str]
) -> None:
    index.publish([index.file(SDIST, b"sdist bytes")])
    index.routes[f"/provenance/{SDIST}"] = answer
    code, report, _ = check(index, capsys)
    assert code == 3
    (file,) = report["files"]
    assert file["status"] == "not checked"
    assert reason in file["reason"]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (Answer(403, b"forbidden"), "answered 403"),
        (Answer(500, b"oops"), "answered 500"),
        (Answer(200, b"{not json", JSON), "is not PEP 691 JSON"),
        (Answer(200, b'{"files": [{"filename": 3}]}', JSON), "is not PEP 691 JSON"),
        (Answer(200, b'{"files": []}', JSON), f"lists no sdist or wheel of {NAME} {VERSION}"),
    ],
)
def test_index_that_cannot_be_read(
    answer: Answer, message: str, index: Index, capsys: pytest.CaptureFixture[str]
) -> None:
    index.routes[f"/simple/{NAME}/"] = answer
    code, report, err = check(index, capsys)
    assert code == 3
    assert message in err
    assert report["ok"] is False


def test_truncated_download_is_not_checked(index: Index, capsys: pytest.CaptureFixture[str]) -> None:
    data = b"x" * 5000
    index.publish([index.file(SDIST, data[:1000], provenance=provenance(), declared_length=len(data))])
    entry = json.loads(index.routes[f"/simple/{NAME}/"].body)["files"][0]
    entry["hashes"]["sha256"] = hashlib.sha256(data).hexdigest()
    index.publish([entry])
    code, report, _ = check(index, capsys)
    assert code == 3
    (file,) = report["files"]
    assert file["status"] == "not checked"
    assert "failed" in file["reason"]


def test_substituted_file_fails(index: Index, capsys: pytest.CaptureFixture[str]) -> None:
    entry = index.file(SDIST, b"the substitute", provenance=provenance())
    entry["hashes"]["sha256"] = DISTS[SDIST][1]  # the index lists the real digest, serves other bytes
    index.publish([entry])
    code, report, _ = check(index, capsys)
    assert code == 1
    assert "but the index lists" in report["files"][0]["reason"]


def test_provenance_of_another_file_fails(index: Index, capsys: pytest.CaptureFixture[str]) -> None:
    index.publish([index.file(WHEEL, b"a wheel", provenance=provenance())])
    code, report, _ = check(index, capsys)
    assert code == 1
    assert "subject does not match distribution name" in report["files"][0]["reason"]


def test_failure_outranks_not_checked(index: Index, capsys: pytest.CaptureFixture[str]) -> None:
    index.publish([index.file(WHEEL, b"a wheel", provenance=provenance()), index.file(SDIST, b"sdist")])
    index.routes[f"/provenance/{SDIST}"] = Answer(500, b"oops")
    code, report, _ = check(index, capsys)
    assert code == 1
    assert statuses(report) == {WHEEL: "failed", SDIST: "not checked"}


def test_wrong_publisher_for_the_release(index: Index, capsys: pytest.CaptureFixture[str]) -> None:
    index.publish([index.file(SDIST, b"sdist", provenance=provenance())])
    code, report, _ = check(index, capsys, "--publisher", "github:trailofbits/pypi-attestations/other.yml")
    assert code == 1
    assert "Build Config URI" in report["files"][0]["reason"]


def test_yanked_files_are_checked_too(index: Index, capsys: pytest.CaptureFixture[str]) -> None:
    entry = index.file(SDIST, b"sdist")
    index.publish([{**entry, "yanked": "broken"}])
    code, report, _ = check(index, capsys)
    assert code == 1
    assert report["files"][0]["yanked"] is True
