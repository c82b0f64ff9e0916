"""A loopback HTTP server that misbehaves as each test tells it: drips, never ends, redirects
elsewhere, serves odd JSON. Routes map a path to a function that writes the whole answer."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

JSON = "application/vnd.pypi.simple.v1+json"
Route = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Server:
    host: str
    port: int
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def answer(self, path: str, body: bytes, content_type: str = JSON, status: int = 200) -> None:
        self.routes[path] = lambda h: send(h, status, body, content_type)

    def page(self, project: str, files: list[dict[str, Any]]) -> None:
        page = {"meta": {"api-version": "1.1"}, "files": files}
        self.answer(f"/simple/{project}/", json.dumps(page).encode())

    def file(self, filename: str, data: bytes, **extra: Any) -> dict[str, Any]:
        self.answer(f"/files/{filename}", data, "application/octet-stream")
        return {"filename": filename, "url": f"/files/{filename}",
                "hashes": {"sha256": hashlib.sha256(data).hexdigest()}, **extra}  # fmt: skip


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str = JSON,
         headers: dict[str, str] | None = None) -> None:  # fmt: skip
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def redirect(location: str) -> Route:
    return lambda h: send(h, 302, b"", "text/plain", {"Location": location})


def drip(body: bytes, interval: float, *, headers_too: bool = False) -> Route:
    """Send ``body`` one byte every ``interval`` seconds (the status line and headers too, if told)."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {JSON}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        if not headers_too:
            handler.wfile.write(head)
            handler.wfile.flush()
            head = b""
        try:
            for byte in head + body:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(interval)
        except OSError:
            return

    return route


def endless(chunk: bytes = b"\0" * 65536) -> Route:
    """A download without a length that never ends (until the client hangs up)."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/octet-stream")
        handler.send_header("Connection", "close")
        handler.end_headers()
        try:
            while True:
                handler.wfile.write(chunk)
        except OSError:
            return

    return route


class _Handler(BaseHTTPRequestHandler):
    server_state: ClassVar[Server]
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server_state.requests.append(self.path)
        route = self.server_state.routes.get(self.path)
        if route is None:
            send(self, 404, b"not found", "text/plain")
        else:
            route(self)

    def log_message(self, *_: object) -> None:
        return None


@contextmanager
def serve(host: str = "127.0.0.1") -> Iterator[Server]:
    with running(host) as httpd:
        state = Server(host, httpd.server_address[1])
        httpd.RequestHandlerClass = type("Bound", (_Handler,), {"server_state": state})
        yield state


@contextmanager
def running(host: str = "127.0.0.1") -> Iterator[ThreadingHTTPServer]:
    """A threading HTTP server on a free loopback port, serving until the block ends; the caller
    sets its ``RequestHandlerClass`` (bound to state that knows the port) before telling anyone."""
    httpd = ThreadingHTTPServer((host, 0), BaseHTTPRequestHandler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
