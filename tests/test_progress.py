"""Progress of downloads: per file, in bytes, throttled so that a fast stream costs nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx

from vouch.index.simple import ByteMeter, IndexFile, SimpleIndex

DATA = b"x" * 3_000_000


class Chunks(httpx.SyncByteStream):
    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, len(DATA), 100_000):
            yield DATA[start : start + 100_000]


def serve(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, stream=Chunks())


def test_a_download_reports_its_bytes(tmp_path: Path) -> None:
    heard: list[str] = []
    file = IndexFile(
        filename="demo-1.0.tar.gz", url="https://files.example/demo-1.0.tar.gz",
        sha256=hashlib.sha256(DATA).hexdigest(), size=len(DATA),
    )  # fmt: skip
    with SimpleIndex(
        "https://index.example/simple/", cache_dir=tmp_path, transport=httpx.MockTransport(serve)
    ) as index:
        path = index.download(file, heard.append)
    assert path.read_bytes() == DATA
    assert heard[0] == "downloading demo-1.0.tar.gz (0.0 of 3.0 MB)"
    assert heard[-1] == "downloading demo-1.0.tar.gz (3.0 of 3.0 MB)"
    assert len(heard) <= 4  # 30 chunks, told at most every quarter second: start, end, maybe one between
    heard.clear()
    with SimpleIndex(
        "https://index.example/simple/", cache_dir=tmp_path, transport=httpx.MockTransport(serve)
    ) as index:
        index.download(file, heard.append)
    assert heard == []  # from the cache: nothing to download


def test_the_meter_tells_every_step_when_not_throttled() -> None:
    heard: list[str] = []
    meter = ByteMeter("uploading x", None, heard.append, every=0)
    meter.add(1_250_000)
    meter.done()
    assert heard == ["uploading x (0.0 MB)", "uploading x (1.2 MB)", "uploading x (1.2 MB)"]
