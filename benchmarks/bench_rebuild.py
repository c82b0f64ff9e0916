"""`vouch rebuild pypi:flask==3.1.3 [--source CLONE]` end to end with a warm cache, and where the time goes.

Goals: under 3 s from the sdist alone, under 5 s with ``--source`` (source fidelity, the sdist
rebuilt from the tag, the wheel from both sdists). Run on demand (needs PyPI for the first,
warming run):

    python benchmarks/bench_rebuild.py [--spec pypi:flask==3.1.3] [--rounds 5] [--json]
    python benchmarks/bench_rebuild.py --source ~/src/flask            # a real clone with the tag
    python benchmarks/bench_rebuild.py --source stand-in               # no clone at hand: see below

``--source stand-in`` makes a git repository from the published sdist's files (PKG-INFO left out,
as a backend writes it), committed and tagged with the sdist's own file time (else its first
upload's): the same tree the tag would hold if the sdist were the tag, so the timings are those of
a real clone of the same size but the fidelity verdict proves nothing about the real repository.
The figures say which source was used.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from vouch.archive.safe import MemberType, extract_sdist, read_tar_gz
from vouch.host import default_cache_dir
from vouch.index import PYPI_SIMPLE
from vouch.index.simple import SimpleIndex
from vouch.rebuild.fromtag import SourceOptions
from vouch.rebuild.published import PublishedOptions, parse_spec, rebuild_published, rebuildable_files

STAND_IN = "stand-in"
GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_AUTHOR_NAME": "stand-in",
           "GIT_AUTHOR_EMAIL": "stand-in@example.org", "GIT_COMMITTER_NAME": "stand-in",
           "GIT_COMMITTER_EMAIL": "stand-in@example.org"}  # fmt: skip


def stand_in(spec: str, dest: Path) -> Path:
    """A git repository holding the published sdist's files, tagged with the version (see the module)."""
    name, version = parse_spec(spec)
    with SimpleIndex(PYPI_SIMPLE, cache_dir=default_cache_dir() / "dists") as index:
        release = rebuildable_files(index.project_files(name), name, version)
        sdist = read_tar_gz(index.download(release.sdist).read_bytes())
    times = {m.mtime for m in sdist if m.type is MemberType.FILE} - {0.0}
    if len(times) == 1:
        epoch = int(times.pop())
    else:
        upload = (release.first_upload or "1980-01-01T00:00:00Z").replace("Z", "+00:00")
        epoch = int(datetime.datetime.fromisoformat(upload).timestamp())
    top = extract_sdist(sdist, dest / "extracted")
    (top / "PKG-INFO").unlink()
    dates = {"GIT_AUTHOR_DATE": f"@{epoch} +0000", "GIT_COMMITTER_DATE": f"@{epoch} +0000"}
    env = os.environ | GIT_ENV | dates
    for args in (["init", "--quiet", "--initial-branch=main"], ["add", "--all", "--force"],
                 ["commit", "--quiet", "-m", f"stand-in for {spec}"], ["tag", str(version)]):  # fmt: skip
        subprocess.run(["git", *args], cwd=top, env=env, check=True, capture_output=True)
    return top


def phases(spec: str, source: Path | None) -> list[tuple[str, float]]:
    """Each progress message of one in-process rebuild with the seconds until the next one."""
    marks: list[tuple[str, float]] = []
    options = PublishedOptions(spec, source=SourceOptions(str(source)) if source else None)
    started = time.perf_counter()
    rebuild_published(options, lambda message: marks.append((message, time.perf_counter())))
    end = time.perf_counter()
    stamps = [*(t for _, t in marks[1:]), end]
    timeline = [(message, stamp - t) for (message, t), stamp in zip(marks, stamps, strict=True)]
    return [("(start)", marks[0][1] - started if marks else end - started), *timeline]


def measure(spec: str, rounds: int, clone: Path | None) -> dict[str, Any]:
    command = [sys.executable, "-m", "vouch", "rebuild", spec, "--json"]
    command += ["--source", str(clone)] if clone else []
    subprocess.run(command, check=False, capture_output=True)  # warm the caches
    times = []
    report: dict[str, Any] = {}
    for _ in range(rounds):
        started = time.perf_counter()
        result = subprocess.run(command, check=False, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        report = json.loads(result.stdout)
    source = report.get("source")
    source_verdict = source.get("verdict") if isinstance(source, dict) else None
    return {
        "verdict": report.get("verdict"),
        "headline": report.get("headline"),
        "source_fidelity": source_verdict,
        "artifacts": [(a["filename"], a["verdict"]) for a in report.get("artifacts", [])],
        "cli_median_s": round(statistics.median(times), 2),
        "cli_runs_s": [round(t, 2) for t in times],
        "phases_s": [(message, round(seconds, 3)) for message, seconds in phases(spec, clone)],
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spec", default="pypi:flask==3.1.3")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--source", help=f"a clone of the project holding the release's tag, or {STAND_IN!r}")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-rebuild-") as tmp:
        source: Path | None = None
        label = "none (wheels from the published sdist only)"
        if args.source == STAND_IN:
            source = stand_in(args.spec, Path(tmp))
            label = "STAND-IN: a git repository made from the published sdist's files (no real clone given)"
        elif args.source:
            source = Path(args.source).resolve()
            label = f"the clone {source}"
        goal = 5.0 if source else 3.0
        measured = measure(args.spec, args.rounds, source)
        figures: dict[str, Any] = {"spec": args.spec, "source": label, "goal_s": goal, **measured}
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{args.spec}: {figures['headline']}; median {figures['cli_median_s']} s over {args.rounds} "
          f"warm runs (goal < {goal:.0f} s); source: {label}")  # fmt: skip
    for filename, verdict in figures["artifacts"]:
        print(f"  {verdict:<14} {filename}")
    for message, seconds in figures["phases_s"]:
        print(f"  {seconds:7.3f} s  {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
