"""A real package index for tests: pypiserver on 127.0.0.1, uploads allowed for one htpasswd user."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from passlib.apache import HtpasswdFile

USER, PASSWORD = "releaser", "correct-horse-battery-staple"


@dataclass
class LocalIndex:
    root: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def upload_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def simple_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/simple/"

    @property
    def packages(self) -> Path:
        return self.root / "packages"

    def start(self) -> None:
        self.packages.mkdir(parents=True, exist_ok=True)
        htpasswd = self.root / "htpasswd"
        if not htpasswd.exists():
            users = HtpasswdFile(str(htpasswd), new=True)
            users.set_password(USER, PASSWORD)
            users.save()
        if not self.port:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.port = probe.getsockname()[1]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pypiserver", "run", "-i", "127.0.0.1", "-p", str(self.port),
             "-P", str(htpasswd), "-a", "update", "--disable-fallback", str(self.packages)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.simple_url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("pypiserver did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def local_index(tmp_path: Path) -> Iterator[LocalIndex]:
    """A pypiserver of the test's own, on loopback."""
    served = LocalIndex(tmp_path / "index")
    served.start()
    yield served
    served.stop()
