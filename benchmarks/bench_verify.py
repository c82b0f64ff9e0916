"""Benchmark: `vouch verify` of a web application's lock (50+ real packages from PyPI): the hash and
history checks cold and warm, then the rebuild phase (``--rebuild``) with 1 worker against 2.

Run on demand (not a test; needs PyPI)::

    python benchmarks/bench_verify.py                      # both phases, a Markdown report
    python benchmarks/bench_verify.py --only rebuild --rounds 3   # the 1-vs-2-worker rebuild comparison

The lock is made by ``uv pip compile --generate-hashes --exclude-newer 2025-06-01`` from a web
application's direct requirements (Django, DRF, django-filter, CORS headers, Celery, Redis, psycopg,
requests, boto3, sentry, gunicorn, PyJWT, ...), so it is the same lock on any day: every wheel and
sdist of every pinned release, for every platform. Every run is ``vouch verify requirements.txt
--json`` as a fresh process, with ``--history 5``.

- **checks** (without ``--rebuild``): cold (a new cache folder and database), then warm (the same
  database: settled results are read, not checked), with 1 worker and with 2.
- **rebuild**: first the checks are settled in a database (one unmeasured run) and the vouch cache is
  warmed by one ``--rebuild`` run (its time is shown as the cold rebuild); then, alternating 1 and 2
  workers for ``--rounds`` rounds, ``--rebuild`` runs on a fresh copy of the settled database, so each
  one rebuilds every release and checks nothing else; the warm checks-only time is shown beside it
  (the rebuild phase is the difference). Then one warm ``--rebuild`` re-run (everything settled).

With 2 workers the run starts a LocalCluster (a second or two, included). Other processes on the
machine make the 2-worker figure meaningless: run ``--only rebuild`` on a quiet machine.

Goals (issue 17): the rebuild phase at least 1.7x faster with 2 workers; the warm re-run under 5%
of the cold run's time.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DIRECT = """django>=5.1
djangorestframework
django-filter
django-cors-headers
django-storages
celery[redis]
redis
psycopg[binary]
requests
boto3
sentry-sdk
gunicorn
whitenoise
pillow
pydantic
httpx
python-dateutil
django-environ
cryptography
pyjwt
"""
EXCLUDE_NEWER = "2025-06-01T00:00:00Z"
GOAL_SPEEDUP = 1.7
GOAL_WARM = 0.05
RAN = {"bit-identical", "equivalent", "different"}


def compile_lock(folder: Path) -> Path:
    (folder / "requirements.in").write_text(DIRECT)
    lock = folder / "requirements.txt"
    subprocess.run([sys.executable, "-m", "uv", "pip", "compile", "--quiet", "--generate-hashes",
                    "--python-version", "3.12", "--exclude-newer", EXCLUDE_NEWER,
                    str(folder / "requirements.in"), "-o", str(lock)], check=True)  # fmt: skip
    return lock


def run(lock: Path, cache: Path, db: Path, workers: int, *extra: str) -> tuple[float, dict[str, Any]]:
    env = os.environ | {"VOUCH_CACHE_DIR": str(cache)}
    argv = [sys.executable, "-m", "vouch", "verify", str(lock), "--json", "--workers", str(workers),
            "--db", f"sqlite:///{db}", *extra]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if not done.stdout.strip():
        raise SystemExit(f"vouch verify gave no report: {done.stderr[-800:]}")
    report: dict[str, Any] = json.loads(done.stdout)
    return seconds, report


def states(report: dict[str, Any]) -> str:
    return ", ".join(f"{n} {s}" for s, n in report["counts"].items() if n)


def verdicts(report: dict[str, Any]) -> str:
    counted: dict[str, int] = {}
    for entry in report["files"]:
        if "rebuild" in entry:
            verdict = entry["rebuild"]["verdict"]
            counted[verdict] = counted.get(verdict, 0) + 1
    return ", ".join(f"{n} {v}" for v, n in sorted(counted.items()))


def rebuilt(report: dict[str, Any]) -> int:
    """The wheels whose rebuild ran to a verdict (not "not rebuilt: compiled", not "not checked")."""
    return sum(1 for f in report["files"] if f.get("rebuild", {}).get("verdict") in RAN)


def checks(lock: Path, folder: Path) -> list[str]:
    lines = ["| workers | files | cold s | files/s cold | warm s | warm/cold | states |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for workers in (1, 2):
        cache, db = folder / f"cache-checks-{workers}", folder / f"checks-{workers}.sqlite"
        cold, report = run(lock, cache, db, workers)
        warm, _ = run(lock, cache, db, workers)
        files = len(report["files"])
        lines.append(f"| {workers} | {files} | {cold:.1f} | {files / cold:.1f} | {warm:.1f} | "
                     f"{warm / cold:.1%} | {states(report)} |")  # fmt: skip
    return lines


def rebuilds(lock: Path, folder: Path, rounds: int) -> list[str]:
    cache, settled = folder / "cache-checks-1", folder / "checks-1.sqlite"
    if not settled.exists():  # --only rebuild: the checks, settled (not measured)
        run(lock, cache, settled, 1)
    checks_warm, _ = run(lock, cache, settled, 1)
    first = folder / "first.sqlite"
    shutil.copyfile(settled, first)
    cold, report = run(lock, cache, first, 1, "--rebuild")
    warm_again, _ = run(lock, cache, first, 1, "--rebuild")
    wheels = rebuilt(report)
    times: dict[int, list[float]] = {1: [], 2: []}
    for number in range(rounds):
        for workers in (1, 2) if number % 2 == 0 else (2, 1):
            db = folder / f"rebuild-{number}-{workers}.sqlite"
            shutil.copyfile(settled, db)
            seconds, again = run(lock, cache, db, workers, "--rebuild")
            if rebuilt(again) != wheels:
                raise SystemExit(f"{workers} worker(s) rebuilt {rebuilt(again)} wheels, not {wheels}")
            times[workers].append(seconds)
    one, two = statistics.median(times[1]), statistics.median(times[2])
    phase_one, phase_two = one - checks_warm, two - checks_warm
    return [
        f"{wheels} pure-Python wheels rebuilt from their sdists (verdicts: {verdicts(report)}); "
        f"warm checks-only run {checks_warm:.1f} s (subtracted below to give the rebuild phase).",
        *[f"- {f['filename']}: not checked: {f['rebuild']['note'][:300]}" for f in report["files"]
          if f.get("rebuild", {}).get("verdict") == "not checked"],
        "",
        f"| run | s (median of {rounds}) | rebuild phase s | wheels/s | each run s |",
        "|---|---|---|---|---|",
        f"| cold cache, 1 worker (once) | {cold:.1f} | {cold - checks_warm:.1f} | "
        f"{wheels / (cold - checks_warm):.2f} | |",
        f"| warm cache, 1 worker | {one:.1f} | {phase_one:.1f} | {wheels / phase_one:.2f} | "
        f"{' '.join(f'{t:.1f}' for t in times[1])} |",
        f"| warm cache, 2 workers | {two:.1f} | {phase_two:.1f} | {wheels / phase_two:.2f} | "
        f"{' '.join(f'{t:.1f}' for t in times[2])} |",
        f"| warm re-run, all settled | {warm_again:.1f} | | | {warm_again / cold:.1%} of cold |",
        "",
        f"Rebuild phase with 2 workers: {phase_one / phase_two:.2f}x faster than with 1 "
        f"(goal {GOAL_SPEEDUP}x).",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=["checks", "rebuild"], help="run one phase")
    parser.add_argument("--rounds", type=int, default=1, help="rebuild runs per worker count (alternated)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        lock = compile_lock(folder)
        pinned = lock.read_text().splitlines()
        packages = sum(1 for line in pinned if "==" in line and not line.startswith("#"))
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
        lines = [f"### vouch verify, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC: {packages} "
                 f"packages, {os.cpu_count()} CPUs, load average {load} at the start", ""]  # fmt: skip
        if args.only in {None, "checks"}:
            goal = f"Goal: warm under {GOAL_WARM:.0%} of cold."
            lines += ["Hash and history checks (`--history 5`, no `--rebuild`):", "",
                      *checks(lock, folder), "", goal, ""]  # fmt: skip
        if args.only in {None, "rebuild"}:
            lines += ["With `--rebuild`:", "", *rebuilds(lock, folder, args.rounds)]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
