"""Run the checks: in this process, on a local Dask cluster, or on an existing Dask scheduler.

```
workers == 1, no scheduler   in this process, one after the other (no Dask start-up)
workers N                    a LocalCluster of N worker processes, one thread each
scheduler tcp://HOST:PORT    the workers of an existing cluster
```

A call is a module-level function and its argument (a frozen task of strings and numbers): it
takes no database handle, and its result is handed to ``done`` here, in the client, which stores
it. Each call runs under its deadline (``timed``): past it the call is "timed out" and its result,
if it ever comes, is dropped. Dask retries a call whose worker died on another worker; a call that
raises, or that Dask gives up on, is handed to ``done`` with the reason. Interrupting (Ctrl-C)
stops waiting and closes the cluster: what ``done`` stored before stays valid.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from vouch.errors import CheckError

Done = Callable[[str, Any, str | None], None]  # (key, result or None, the problem when None)
_RETRIES = 2
_SLACK = 60.0  # seconds of scheduling allowed beyond the calls' own deadlines


@dataclass(frozen=True)
class Call:
    key: str
    function: Callable[[Any], Any]
    argument: Any
    deadline: float
    priority: int = 0  # higher first: the longest calls start first, so no worker idles at the end


@dataclass(frozen=True)
class TimedOut:
    seconds: float


def timed(function: Callable[[Any], Any], argument: Any, seconds: float) -> Any:
    """``function(argument)``, or TimedOut when it takes longer than ``seconds``."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vouch-verify")
    try:
        return pool.submit(function, argument).result(timeout=seconds)
    except FutureTimeout:
        return TimedOut(seconds)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def run_calls(calls: Sequence[Call], done: Done, *, workers: int, scheduler: str | None = None) -> None:
    if not calls:
        return
    calls = sorted(calls, key=lambda call: -call.priority)  # stable: equal priorities keep their order
    if scheduler is None and workers <= 1:
        for call in calls:
            _deliver(call.key, _in_process(call), done)
        return
    _on_dask(calls, done, workers=workers, scheduler=scheduler)


def _in_process(call: Call) -> Any:
    try:
        return timed(call.function, call.argument, call.deadline)
    except Exception as exc:  # one failing check must not stop the others
        return _Failed(f"{type(exc).__name__}: {exc}")


@dataclass(frozen=True)
class _Failed:
    reason: str


def _deliver(key: str, result: Any, done: Done) -> None:
    if isinstance(result, TimedOut):
        done(key, None, f"timed out (after {result.seconds:g} s)")
    elif isinstance(result, _Failed):
        done(key, None, f"the check failed unexpectedly: {result.reason}")
    else:
        done(key, result, None)


def _on_dask(calls: Sequence[Call], done: Done, *, workers: int, scheduler: str | None) -> None:
    from distributed import Client, LocalCluster, as_completed  # noqa: PLC0415 - slow to import

    cluster = None
    try:
        if scheduler is None:
            # on loopback only; the scheduler's HTTP server (health, metrics) on a free port
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=":0",
                                   silence_logs=logging.ERROR)  # fmt: skip
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout="30s")
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        where = scheduler or f"a local cluster of {workers} workers"
        raise CheckError(f"cannot start or reach the Dask scheduler ({where}): {exc}",
                         hint="check --scheduler, or run with --workers 1") from exc  # fmt: skip
    run = uuid.uuid4().hex[:12]
    try:
        futures = {}
        for number, call in enumerate(calls):
            key = f"vouch-verify-{run}-{number}"
            future = client.submit(timed, call.function, call.argument, call.deadline, key=key, pure=False,
                                   retries=_RETRIES, priority=call.priority)  # fmt: skip
            futures[future] = call
        capacity = max(1, len(client.scheduler_info().get("workers", {})) or workers)
        overall = max(call.deadline for call in calls) * math.ceil(len(calls) / capacity) + _SLACK
        pending = dict(futures)
        try:
            for future in as_completed(futures, timeout=overall):
                call = pending.pop(future)
                try:
                    result = future.result()
                except Exception as exc:  # a worker's error, or Dask giving up
                    result = _Failed(f"{type(exc).__name__}: {exc}")
                _deliver(call.key, result, done)
        except TimeoutError:
            for future, call in pending.items():
                future.cancel()
                done(call.key, None, f"timed out (no answer from the cluster within {overall:g} s)")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
