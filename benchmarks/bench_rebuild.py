"""`vouch rebuild pypi:flask==3.1.3` end to end with a warm cache, and where the time goes.

Goal: under 3 s. Run on demand (needs PyPI for the first, warming run):

    python benchmarks/bench_rebuild.py [--spec pypi:flask==3.1.3] [--rounds 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from vouch.rebuild.published import PublishedOptions, rebuild_published


def phases(spec: str) -> list[tuple[str, float]]:
    """Each progress message of one in-process rebuild with the seconds until the next one."""
    marks: list[tuple[str, float]] = []
    started = time.perf_counter()
    rebuild_published(PublishedOptions(spec), lambda message: marks.append((message, time.perf_counter())))
    end = time.perf_counter()
    stamps = [*(t for _, t in marks[1:]), end]
    timeline = [(message, stamp - t) for (message, t), stamp in zip(marks, stamps, strict=True)]
    return [("(start)", marks[0][1] - started if marks else end - started), *timeline]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spec", default="pypi:flask==3.1.3")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    command = [sys.executable, "-m", "vouch", "rebuild", args.spec, "--json"]
    subprocess.run(command, check=True, capture_output=True)  # warm the caches
    times = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        result = subprocess.run(command, check=False, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        verdict = json.loads(result.stdout)["verdict"]
    breakdown = phases(args.spec)
    figures = {
        "spec": args.spec,
        "verdict": verdict,
        "cli_median_s": round(statistics.median(times), 2),
        "cli_runs_s": [round(t, 2) for t in times],
        "goal_s": 3.0,
        "phases_s": [(message, round(seconds, 3)) for message, seconds in breakdown],
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    median = figures["cli_median_s"]
    print(f"{args.spec}: {verdict}, median {median} s over {args.rounds} warm runs (goal < 3 s)")
    for message, seconds in breakdown:
        print(f"  {seconds:7.3f} s  {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
