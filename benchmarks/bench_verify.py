"""Benchmark: `vouch verify` of a web application's lock (50+ real packages from PyPI), cold and warm,
with 1 worker and with 2.

Run on demand (not a test; needs PyPI)::

    python benchmarks/bench_verify.py >> benchmarks/RESULTS.md   # it prints a Markdown table

The lock is made by ``uv pip compile --generate-hashes`` from a web application's direct
requirements (Django, DRF, Celery, Redis, psycopg, requests, boto3, sentry, gunicorn, ...): every
wheel and sdist of every pinned release, for every platform. Each run is ``vouch verify
requirements.txt --json`` in a fresh process with its own cache folder and SQLite database: cold
(nothing stored), then warm (the same database: settled results are read, not checked). Checks are
the index and provenance checks with ``--history 5``, without ``--rebuild``.

Known: each file check reads and parses its project's whole index page again, so projects with
thousands of files (botocore) make the cold run very slow; one page read per project per run is
the fix this benchmark is waiting for.

Goal (issue 17): the warm re-run under 5% of the cold run's time.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DIRECT = """django>=5.1
djangorestframework
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
"""
GOAL_WARM = 0.05


def compile_lock(folder: Path) -> Path:
    (folder / "requirements.in").write_text(DIRECT)
    lock = folder / "requirements.txt"
    subprocess.run([sys.executable, "-m", "uv", "pip", "compile", "--quiet", "--generate-hashes",
                    "--python-version", "3.12", str(folder / "requirements.in"), "-o", str(lock)],
                   check=True)  # fmt: skip
    return lock


def run(lock: Path, cache: Path, workers: int) -> tuple[float, dict[str, object]]:
    env = os.environ | {"VOUCH_CACHE_DIR": str(cache)}
    start = time.perf_counter()
    argv = [sys.executable, "-m", "vouch", "verify", str(lock), "--json", "--workers", str(workers)]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if not done.stdout.strip():
        return seconds, {"error": done.stderr[-500:]}
    report: dict[str, object] = json.loads(done.stdout)
    return seconds, report


def main() -> int:
    argparse.ArgumentParser(description=__doc__).parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        lock = compile_lock(folder)
        pinned = lock.read_text().splitlines()
        packages = sum(1 for line in pinned if "==" in line and not line.startswith("#"))
        rows = []
        for workers in (1, 2):
            cache = folder / f"cache-{workers}"
            cold, report = run(lock, cache, workers)
            warm, again = run(lock, cache, workers)
            files = len(report.get("files", []))  # type: ignore[arg-type]
            rows.append((workers, packages, files, cold, warm, report.get("counts"), again.get("cached")))
    lines = [f"### vouch verify, {datetime.date.today()}", "",
             "| workers | packages | files | cold s | files/s cold | warm s | warm/cold | states |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for workers, packages, files, cold, warm, counts, _ in rows:
        states = ", ".join(f"{n} {s}" for s, n in (counts or {}).items() if n)  # type: ignore[attr-defined]
        lines.append(f"| {workers} | {packages} | {files} | {cold:.1f} | {files / cold:.1f} | {warm:.1f} | "
                     f"{warm / cold:.1%} | {states} |")  # fmt: skip
    lines.append(f"\nGoal: warm under {GOAL_WARM:.0%} of cold.")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
