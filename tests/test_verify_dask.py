"""`vouch verify` on Dask distributed: a real `dask scheduler` and two `dask worker` processes on
loopback, a LocalCluster, and this process, all give the same results; killing a worker mid-run
still completes every file; a check past its deadline is "not checked (timed out)"."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tests.dask_cluster import loopback_cluster
from tests.hostile import Route
from tests.verify_index import Index, Served, verify, write_lock
from vouch.verify.fanout import Call, run_calls

PROJECTS = 10  # two files each: 20 files, and 10 histories


pytestmark = pytest.mark.usefixtures("own_cache")


def slowed(route: Route, seconds: float) -> Route:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        route(handler)

    return answer


def lock_of_twenty(index: Index, tmp_path: Path, delay: float = 0.0) -> Path:
    files: list[Served] = []
    for number in range(PROJECTS):
        name = f"proj{number}"
        files.append(index.add(name, "1.0", f"{name}-1.0.tar.gz", f"sdist {number}".encode()))
        files.append(index.add(name, "1.0", f"{name}-1.0-py3-none-any.whl", f"wheel {number}".encode()))
    index.add("proj0", "0.9", "proj0-0.9.tar.gz", b"an earlier release")
    files[3] = Served(files[3].project, files[3].version, files[3].filename, "0" * 64)  # a tampered pin
    for path, route in list(index.server.routes.items()):
        index.server.routes[path] = slowed(route, delay)
    return write_lock(tmp_path, "pylock", files)


def outcome(report: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    return sorted((f["filename"], f["state"], f["reasons"]) for f in report["files"])


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """A real scheduler and two workers (no nanny: a killed worker stays dead) on loopback."""
    with loopback_cluster(tmp_path) as running:
        yield running


def test_a_scheduler_a_local_cluster_and_this_process_agree(
    index: Index, tmp_path: Path, cluster: tuple[str, list[subprocess.Popen[bytes]]]
) -> None:
    lock = lock_of_twenty(index, tmp_path)
    address, _ = cluster
    runs = {
        "in-process": verify(lock, index, f"sqlite:///{tmp_path / 'a.sqlite'}", "--workers", "1"),
        "scheduler": verify(lock, index, f"sqlite:///{tmp_path / 'b.sqlite'}", "--scheduler", address),
        "local-cluster": verify(lock, index, f"sqlite:///{tmp_path / 'c.sqlite'}", "--workers", "2"),
    }
    expected = outcome(runs["in-process"][1])
    assert len(expected) == 2 * PROJECTS
    assert {state for _, state, _ in expected} == {"no provenance", "failed"}
    for name, (code, report) in runs.items():
        assert code == 1, name
        assert outcome(report) == expected, name
        assert report["checked"] == 2 * PROJECTS + PROJECTS, name


def test_killing_a_worker_mid_run_still_completes_every_file(
    index: Index, tmp_path: Path, cluster: tuple[str, list[subprocess.Popen[bytes]]]
) -> None:
    lock = lock_of_twenty(index, tmp_path, delay=0.25)
    address, workers = cluster

    def kill_one_worker() -> None:
        while len(index.server.requests) < 6:
            time.sleep(0.02)
        os.kill(workers[0].pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_one_worker, daemon=True)
    killer.start()
    code, report = verify(lock, index, f"sqlite:///{tmp_path / 'd.sqlite'}", "--scheduler", address)
    killer.join(timeout=5)
    assert workers[0].wait(timeout=10) == -signal.SIGKILL, "the worker was killed during the run"
    assert code == 1
    assert len(report["files"]) == 2 * PROJECTS
    assert {f["state"] for f in report["files"]} == {"no provenance", "failed"}, "every file completed"
    assert not [f for f in report["files"] if f["state"] == "not checked"]


def test_a_check_past_its_deadline_is_not_checked_timed_out() -> None:
    found: list[tuple[str, object, str | None]] = []
    calls = [Call("slow", time.sleep, 5, deadline=0.3), Call("quick", abs, -2, deadline=5)]
    run_calls(calls, lambda key, result, problem: found.append((key, result, problem)), workers=1)
    assert found == [("slow", None, "timed out (after 0.3 s)"), ("quick", 2, None)]


def test_the_largest_work_starts_first_in_this_process_and_on_a_cluster(
    cluster: tuple[str, list[subprocess.Popen[bytes]]],
) -> None:
    # rebuilds are prioritised by their sdist's size: the longest start first, so that no worker
    # sits idle while one long rebuild, started last, runs alone
    calls = [Call(f"c{size}", abs, -size, deadline=30, priority=size) for size in (3, 40, 7, 0, 12)]
    found: list[str] = []
    run_calls(calls, lambda key, result, problem: found.append(key), workers=1)
    assert found == ["c40", "c12", "c7", "c3", "c0"]
    started: list[tuple[str, object]] = []
    run_calls(calls, lambda key, result, problem: started.append((key, result)), workers=2,
              scheduler=cluster[0])  # fmt: skip
    assert sorted(started) == sorted((f"c{size}", size) for size in (3, 40, 7, 0, 12))
