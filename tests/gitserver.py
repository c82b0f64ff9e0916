"""A git repository served on loopback over git's smart HTTP protocol: ``git http-backend`` behind a
tiny CGI bridge (GitHub is not reachable from the test machine; this speaks what GitHub speaks)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

from tests.hostile import running


@dataclass
class GitServer:
    root: Path  # the folder whose bare repositories are served
    port: int = 0
    requests: list[str] = field(default_factory=list)

    def url(self, repo: str) -> str:
        return f"http://127.0.0.1:{self.port}/{repo}"


class _Handler(BaseHTTPRequestHandler):
    state: ClassVar[GitServer]
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        self._backend()

    def do_POST(self) -> None:
        self._backend()

    def _backend(self) -> None:
        self.state.requests.append(f"{self.command} {self.path}")
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | {
            "GIT_PROJECT_ROOT": str(self.state.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "REQUEST_METHOD": self.command,
            "PATH_INFO": parts.path,
            "QUERY_STRING": parts.query,
            "CONTENT_TYPE": self.headers.get("Content-Type") or "",
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_PROTOCOL": self.headers.get("Git-Protocol") or "",
        }
        done = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, check=False)
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_: object) -> None:
        return None


@contextmanager
def serve_git(root: Path) -> Iterator[GitServer]:
    """Serve every bare repository under ``root`` at ``http://127.0.0.1:PORT/NAME``."""
    with running() as httpd:
        state = GitServer(root, httpd.server_address[1])
        httpd.RequestHandlerClass = type("Bound", (_Handler,), {"state": state})
        yield state
