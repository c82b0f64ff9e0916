"""Benchmark: popular pure-Python releases rebuilt from their published sdists, counted by verdict.

Run on demand (not a test; needs PyPI, and a few minutes per release on a cold cache)::

    python benchmarks/bench_rebuild_batch.py [--jobs 1] [--timeout 900] [--markdown]

Each release is rebuilt by ``vouch rebuild pypi:NAME==VERSION --json`` as a whole process, as a
user would run it, and counted by the headline its report leads with:

- **bit-identical** ("reproduced"): every rebuilt wheel has the published bytes;
- **equivalent** ("reproduced after named normalisations");
- **recipe not reproduced**: only what the build environment writes differs (build metadata,
  another generator, a Windows build);
- **code differs**: the same recipe, other content;
- **error**: vouch could not check (exit 2 or 3, or no report within the time-out).

The releases are pinned, so a later run measures vouch, not new uploads; each has an sdist and a
pure-Python wheel (projects that ship compiled wheels only, e.g. markupsafe or charset-normalizer,
are left out).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import vouch

RELEASES = (
    "requests==2.32.3", "idna==3.10", "certifi==2024.8.30", "six==1.16.0", "attrs==24.2.0",
    "flask==3.1.0", "click==8.1.7", "jinja2==3.1.4", "itsdangerous==2.2.0", "werkzeug==3.1.3",
    "packaging==24.2", "pyparsing==3.2.0", "urllib3==2.2.3", "python-dateutil==2.9.0.post0",
    "pytz==2024.2", "tomli==2.2.1", "typing-extensions==4.12.2", "wheel==0.45.1",
    "setuptools-scm==8.1.0", "pluggy==1.5.0", "iniconfig==2.0.0", "exceptiongroup==1.2.2",
    "sniffio==1.3.1", "anyio==4.6.2.post1", "h11==0.14.0", "httpcore==1.0.7", "httpx==0.28.1",
    "blinker==1.9.0", "mdurl==0.1.2", "markdown-it-py==3.0.0",
)  # fmt: skip
CATEGORIES = ("bit-identical", "equivalent", "recipe not reproduced", "code differs", "error")
HEADLINES = (  # the report's headline prefix -> category; longer prefixes first
    ("reproduced after named normalisations", "equivalent"),
    ("reproduced", "bit-identical"),
    ("recipe not reproduced", "recipe not reproduced"),
    ("code differs", "code differs"),
)


@dataclass(frozen=True)
class Outcome:
    release: str
    category: str
    headline: str
    seconds: float
    exit_code: int | None


def rebuild(release: str, timeout: float) -> Outcome:
    command = [sys.executable, "-m", "vouch", "rebuild", f"pypi:{release}", "--json"]
    started = time.perf_counter()
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return Outcome(release, "error", f"no report within {timeout:.0f} s", timeout, None)
    seconds = time.perf_counter() - started
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return Outcome(release, "error", tail, seconds, result.returncode)
    if "error" in report or result.returncode not in (0, 1):
        message = str(report.get("error", {}).get("message", f"exit code {result.returncode}"))
        return Outcome(release, "error", message, seconds, result.returncode)
    headline = str(report.get("headline", ""))
    category = next((name for prefix, name in HEADLINES if headline.startswith(prefix)), "error")
    return Outcome(release, category, headline, seconds, result.returncode)


def markdown(outcomes: Sequence[Outcome], command: str, load: str) -> str:
    counts = Counter(outcome.category for outcome in outcomes)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## vouch rebuild: {len(outcomes)} popular pure-Python releases from their sdists",
        "",
        f"Command: `{command}` ({now}, load average {load} on {os.cpu_count()} CPUs, "
        f"{platform.python_implementation()} {platform.python_version()}, vouch {vouch.__version__}). "
        "Each release rebuilt by `vouch rebuild pypi:NAME==VERSION --json` as a whole process.",
        "",
        "| verdict | releases |",
        "|---|---:|",
        *(f"| {category} | {counts.get(category, 0)} |" for category in CATEGORIES),
        "",
        "| release | verdict | seconds | headline |",
        "|---|---|---:|---|",
    ]
    for outcome in outcomes:
        headline = outcome.headline.replace("|", "\\|")
        headline = headline if len(headline) <= 160 else headline[:159] + "…"
        lines.append(f"| {outcome.release} | {outcome.category} | {outcome.seconds:.1f} | {headline} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=1, help="rebuilds at once (default: 1)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per release (default: 900)")
    parser.add_argument("--only", nargs="*", metavar="NAME==VERSION", help="these releases instead")
    parser.add_argument("--markdown", action="store_true", help="print a section for RESULTS.md")
    args = parser.parse_args(argv)
    releases = tuple(args.only) if args.only else RELEASES
    outcomes = []
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        for outcome in pool.map(lambda release: rebuild(release, args.timeout), releases):
            outcomes.append(outcome)
            head = f"{outcome.release:30} {outcome.category:22} {outcome.seconds:6.1f} s"
            line = f"{head} {outcome.headline[:80]}"
            print(line, file=sys.stderr, flush=True)
    if args.markdown:
        command = "python benchmarks/bench_rebuild_batch.py " + " ".join(argv or sys.argv[1:])
        print(markdown(outcomes, command.strip(), " ".join(f"{x:.1f}" for x in os.getloadavg())))
    else:
        print(json.dumps([outcome.__dict__ for outcome in outcomes], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
