"""A real Dask cluster on loopback for the `vouch verify` tests: `dask scheduler` and `dask worker`
processes started from the venv's `dask` command (no nanny: a killed worker stays dead)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DASK = str(Path(sys.executable).parent / "dask")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def loopback_cluster(folder: Path, workers: int = 2) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """A scheduler and ``workers`` one-thread workers; yields the address and the worker processes.
    They inherit this process's environment (``VOUCH_CACHE_DIR`` included)."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"

    def start(*argv: str) -> subprocess.Popen[bytes]:
        quiet = subprocess.DEVNULL
        return subprocess.Popen([DASK, *argv], stdout=quiet, stderr=quiet, cwd=folder)

    # the HTTP servers (health, metrics) too on loopback, on free ports: parallel tests must not clash
    http = ["--no-dashboard", "--dashboard-address", "127.0.0.1:0"]
    scheduler = start("scheduler", "--host", "127.0.0.1", "--port", str(port), *http, "--no-show")
    one_thread = ["--nthreads", "1", "--no-nanny", "--host", "127.0.0.1"]
    started = [start("worker", address, *one_thread, *http, "--name", f"w{n}") for n in range(workers)]
    try:
        _wait_for_workers(address, workers)
        yield address, started
    finally:
        for process in [*started, scheduler]:  # workers first: without a scheduler they linger
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_workers(address: str, count: int) -> None:
    from distributed import Client  # noqa: PLC0415

    deadline = time.monotonic() + 60
    while True:
        try:
            with Client(address, timeout="5s") as client:  # type: ignore[no-untyped-call]
                client.wait_for_workers(count, timeout=60)
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
