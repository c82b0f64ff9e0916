"""Benchmark: ``vouch build`` against ``uv build`` and ``python -m build`` on Django's source tree.

Run on demand (not a test)::

    python benchmarks/bench_build.py            # 5 rounds
    python benchmarks/bench_build.py --rounds 7 --json > results.json

What it does:

1. Downloads the newest Django 5.2.x sdist from PyPI (PEP 691 JSON simple API), checks its sha256
   against the index, unpacks it (``filter="data"``) into a temporary git repository and commits
   it with a fixed author, committer and date and no system or global git configuration.
2. Gives every tool a warm-up build, so each one's download and build-environment cache is warm.
   The vouch warm-up resolves a build lock and writes it into its output folder; the timed vouch
   runs use it with ``--build-lock``, which is vouch's steady state (a committed lock).
3. Times ``--rounds`` rounds (at least 5 for the goal's verdict); each round runs every tool once,
   as whole processes back to back, in an order that rotates from round to round. Each run's wall
   time and CPU time (user + system of the process and its children, from ``getrusage``) are
   kept; the ratios are taken per round (vouch / uv build of the same round, a pair run minutes
   apart at most), and their median is the verdict. Between runs (untimed) the repository is
   ``git clean``-ed, since setuptools leaves ``*.egg-info`` in the tree that uv and pypa/build
   build from. Every vouch run must write the same sdist and wheel.
4. Runs vouch once more in-process through the library with a progress callback, to show how long
   each phase takes, and wraps vouch's internal steps with timers for a finer breakdown.

All three tools build the sdist first and the wheel from the unpacked sdist, with the same Python.
By default every tool gets its own fresh cache folder in the benchmark's temporary directory
(``VOUCH_CACHE_DIR``, ``UV_CACHE_DIR``, ``PIP_CACHE_DIR``); ``--user-caches`` uses the usual ones.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import build as pypa_build
import httpx
from packaging.utils import InvalidSdistFilename, parse_sdist_filename
from packaging.version import Version
from rich.console import Console
from rich.table import Table
from uv import find_uv_bin

import vouch
import vouch.builder.builder as builder_module
import vouch.builder.distributions as distributions_module
import vouch.builder.env as env_module
import vouch.builder.output as output_module
import vouch.builder.source as source_module
from vouch.builder.builder import BuildOptions, build
from vouch.builder.hooks import BackendRunner

SIMPLE_URL = "https://pypi.org/simple/django/"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
SERIES = (5, 2)
COMMIT_DATE = "2025-04-02T10:00:00+00:00"
GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Vouch Benchmark",
    "GIT_AUTHOR_EMAIL": "bench@example.org",
    "GIT_COMMITTER_NAME": "Vouch Benchmark",
    "GIT_COMMITTER_EMAIL": "bench@example.org",
    "GIT_AUTHOR_DATE": COMMIT_DATE,
    "GIT_COMMITTER_DATE": COMMIT_DATE,
}
GOAL_UV_WALL = 1.0  # vouch / uv build, median of the per-round ratios
GOAL_UV_CPU = 1.2
MIN_ROUNDS = 5
TAIL_LINES = 20

P = ParamSpec("P")
R = TypeVar("R")


class BenchmarkError(Exception):
    """A step of the benchmark failed; the message says which and why."""


# --------------------------------------------------------------------------- the Django source


@dataclass(frozen=True)
class Sdist:
    version: str
    filename: str
    url: str
    sha256: str


def newest_django_sdist(client: httpx.Client) -> Sdist:
    """The highest non-yanked, final Django 5.2.x ``.tar.gz`` the index lists."""
    response = client.get(SIMPLE_URL, headers={"Accept": SIMPLE_JSON})
    response.raise_for_status()
    page: dict[str, Any] = response.json()
    best: tuple[Version, Sdist] | None = None
    for entry in page["files"]:
        filename = str(entry["filename"])
        if not filename.endswith(".tar.gz") or entry.get("yanked"):
            continue
        try:
            _, version = parse_sdist_filename(filename)
        except InvalidSdistFilename:
            continue
        if version.release[:2] != SERIES or version.is_prerelease or version.is_devrelease:
            continue
        sha256 = entry.get("hashes", {}).get("sha256")
        if not sha256:
            continue
        url = str(response.url.join(str(entry["url"])))
        if best is None or version > best[0]:
            best = (version, Sdist(str(version), filename, url, str(sha256)))
    if best is None:
        raise BenchmarkError(f"no Django {SERIES[0]}.{SERIES[1]}.x sdist on {SIMPLE_URL}")
    return best[1]


def download(client: httpx.Client, sdist: Sdist, dest: Path) -> Path:
    """Download ``sdist`` into ``dest``; refuse it unless its sha256 matches the index's."""
    target = dest / sdist.filename
    digest = hashlib.sha256()
    with client.stream("GET", sdist.url) as response, target.open("wb") as stream:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            digest.update(chunk)
            stream.write(chunk)
    if digest.hexdigest() != sdist.sha256:
        raise BenchmarkError(
            f"{sdist.filename}: sha256 {digest.hexdigest()} but the index says {sdist.sha256}"
        )
    return target


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=repo, env=os.environ | GIT_ENV,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise BenchmarkError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def make_repository(archive: Path, dest: Path) -> Path:
    """Unpack the sdist under ``dest`` and commit its tree; return the repository."""
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(dest, filter="data")
    tops = [path for path in dest.iterdir() if path.is_dir()]
    if len(tops) != 1:
        raise BenchmarkError(f"{archive.name} does not hold exactly one top-level directory")
    repo = tops[0]
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--no-verify", "-m", f"{archive.name}")
    return repo


# --------------------------------------------------------------------------- the tools


@dataclass(frozen=True)
class Tool:
    name: str
    does: str
    command: Callable[[Path, Path], list[str]]
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Run:
    tool: str
    round: int
    seconds: float
    cpu: float
    artifacts: dict[str, str]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_tool(tool: Tool, repo: Path, out: Path) -> tuple[float, float, dict[str, str]]:
    """Run one build; return its wall time, its CPU time (user + system, with every process it
    started) and the sha256 of each sdist or wheel it wrote."""
    git(repo, "clean", "-fdxq")  # setuptools leaves Django.egg-info in the tree it builds from
    if out.exists():
        shutil.rmtree(out)
    command = tool.command(repo, out)
    cpu_before = children_cpu()
    started = time.perf_counter()
    result = subprocess.run(
        command, env=os.environ | dict(tool.env), capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    cpu = children_cpu() - cpu_before
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-TAIL_LINES:])
        raise BenchmarkError(f"{tool.name} failed ({' '.join(command)}):\n{tail}")
    artifacts = {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(out.iterdir())
        if path.name.endswith((".tar.gz", ".whl"))
    }
    if sorted(name.endswith(".whl") for name in artifacts) != [False, True]:
        raise BenchmarkError(f"{tool.name} wrote {sorted(artifacts)}, not one sdist and one wheel")
    return seconds, cpu, artifacts


def vouch_command() -> list[str]:
    """The console script beside this Python (not a shim on PATH, such as pyenv's, which adds its
    own start-up time), else ``python -m vouch``."""
    script = Path(sys.executable).parent / "vouch"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "vouch"]


def make_tools(cache: Path | None, lock: Path | None) -> list[Tool]:
    """The three tools; ``cache`` gives each its own cache folder, ``lock`` is vouch's lock."""
    uv = find_uv_bin()

    def vouch_cmd(repo: Path, out: Path) -> list[str]:
        extra = ["--build-lock", str(lock)] if lock is not None else []
        return [*vouch_command(), "build", str(repo), "--out", str(out), *extra]

    def uv_cmd(repo: Path, out: Path) -> list[str]:
        # No --sdist/--wheel: with both flags uv builds both from the tree; without, it builds
        # the sdist and then the wheel from it, as vouch and pypa/build do.
        return [uv, "build", "--quiet", "--python", sys.executable, "--out-dir", str(out),
                "--no-create-gitignore", str(repo)]  # fmt: skip

    def build_cmd(repo: Path, out: Path) -> list[str]:
        return [sys.executable, "-m", "build", "--outdir", str(out), str(repo)]

    def env(name: str, sub: str) -> dict[str, str]:
        return {} if cache is None else {name: str(cache / sub)}

    return [
        Tool(
            "vouch",
            "sdist, then wheel from the normalised sdist; locked uv venv, hermetic env, "
            "normalise + validate + build record" + (" (--build-lock)" if lock else " (resolves)"),
            vouch_cmd,
            env("VOUCH_CACHE_DIR", "vouch"),
        ),
        Tool(
            "uv build",
            "sdist, then wheel from the sdist; uv-resolved isolated env (uv cache)",
            uv_cmd,
            env("UV_CACHE_DIR", "uv"),
        ),
        Tool(
            "python -m build",
            f"sdist, then wheel from the sdist; venv + pip isolation (build {pypa_build.__version__})",
            build_cmd,
            env("PIP_CACHE_DIR", "pip"),
        ),
    ]


def find_lock(out: Path) -> Path:
    locks = sorted(out.glob("*.build-requirements.lock"))
    if len(locks) != 1:
        raise BenchmarkError(f"the vouch warm-up wrote {len(locks)} build locks into {out}")
    return locks[0]


# --------------------------------------------------------------------------- profiling vouch


@dataclass
class Span:
    label: str
    seconds: float = 0.0
    calls: int = 0


class Profiler:
    """Wall time of wrapped calls, labelled by their nesting in their own thread (``outer > inner``;
    a step run in a worker thread, such as the sdist's compression, is labelled alone)."""

    def __init__(self) -> None:
        self.spans: dict[str, Span] = {}
        self._local = threading.local()

    @contextlib.contextmanager
    def span(self, name: str) -> Iterator[None]:
        stack: list[str] = self._local.__dict__.setdefault("stack", [])
        label = " > ".join([*stack[-1:], name])
        stack.append(name)
        started = time.perf_counter()
        try:
            yield
        finally:
            stack.pop()
            entry = self.spans.setdefault(label, Span(label))
            entry.seconds += time.perf_counter() - started
            entry.calls += 1

    def wrap(self, label: str | Callable[[Sequence[object]], str], func: Callable[P, R]) -> Callable[P, R]:
        """``func`` timed under ``label``, or under the label computed from its positional args."""

        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with self.span(label if isinstance(label, str) else label(args)):
                return func(*args, **kwargs)

        return wrapper


def _patch(stack: contextlib.ExitStack, owner: object, name: str, value: object) -> None:
    original = getattr(owner, name)
    setattr(owner, name, value)
    stack.callback(setattr, owner, name, original)


@contextlib.contextmanager
def instrumented(profiler: Profiler) -> Iterator[None]:
    """Time vouch's internal steps by replacing the names its modules call with timed wrappers."""
    # vouch's steps, wrapped where they are looked up (a name missing from a module is skipped,
    # so the benchmark keeps working while the pipeline's internals move)
    steps = {
        builder_module: (
            "open_source", "export_source", "read_build_system", "choose_lock", "prepare_environment",
            "build_distributions", "make_record", "write_outputs",
        ),
        distributions_module: (
            "read_tar_gz", "canonical_members", "check_sdist", "pack_sdist", "extract_sdist", "adopt_tree",
            "read_zip", "check_wheel", "pack_wheel", "remove_tree",
        ),
        source_module: ("set_mtimes",),
        env_module: ("fetch_wheels", "create_venv"),
    }  # fmt: skip

    def tool_label(args: Sequence[object]) -> str:  # _run_tool(run, command, env)
        command = [str(part) for part in args[1]] if isinstance(args[1], list) else ["?"]
        return " ".join([Path(command[0]).name, *command[1:3]]).replace(" --quiet", "")

    def hook_label(args: Sequence[object]) -> str:
        command = args[1]
        return f"hook {command[2]}" if isinstance(command, list) and len(command) > 2 else "hook"

    def backend_label(args: Sequence[object]) -> str:
        return f"backend {args[2]}"

    with contextlib.ExitStack() as stack:
        for module, names in steps.items():
            for name in (name for name in names if hasattr(module, name)):
                _patch(stack, module, name, profiler.wrap(name, getattr(module, name)))
        _patch(stack, env_module, "_run_tool", profiler.wrap(tool_label, env_module._run_tool))
        _patch(stack, BackendRunner, "_run", profiler.wrap(hook_label, BackendRunner._run))
        _patch(stack, BackendRunner, "build", profiler.wrap(backend_label, BackendRunner.build))
        if hasattr(BackendRunner, "precompile"):  # in a worker thread, beside the sdist's hooks
            _patch(stack, BackendRunner, "precompile", profiler.wrap("precompile", BackendRunner.precompile))
        for method in ("add", "commit"):  # the outputs' atomic writes (each fsyncs) and renames
            original = getattr(output_module.Staging, method)
            _patch(stack, output_module.Staging, method, profiler.wrap(f"Staging.{method}", original))
        # removing the build's temporary tree (two copies of the project, the venv) at the end;
        # pyproject_hooks's own temporary folders show up nested under their hook
        cleanup = profiler.wrap("temporary directory cleanup", tempfile.TemporaryDirectory.cleanup)
        _patch(stack, tempfile.TemporaryDirectory, "cleanup", cleanup)
        yield


@dataclass
class Profile:
    total: float
    phases: list[tuple[str, float]]
    steps: list[Span]


def profile_vouch(repo: Path, out: Path, lock: Path, cache: Path | None) -> Profile:
    """Build once in-process; time each progress phase and each wrapped internal step."""
    marks: list[tuple[str, float]] = []

    def progress(message: str) -> None:
        marks.append((message, time.perf_counter()))

    profiler = Profiler()
    options = BuildOptions(source=repo, out=out, build_lock=lock)
    if cache is not None:
        options = BuildOptions(source=repo, out=out, build_lock=lock, cache_dir=cache / "vouch")
    started = time.perf_counter()
    with instrumented(profiler):
        build(options, progress)
    finished = time.perf_counter()
    bounds = [*(t for _, t in marks[1:]), finished]
    phases = [(message, end - start) for (message, start), end in zip(marks, bounds, strict=True)]
    if marks and marks[0][1] - started > 0.0005:
        phases.insert(0, ("(before the first phase)", marks[0][1] - started))
    return Profile(finished - started, phases, list(profiler.spans.values()))


# --------------------------------------------------------------------------- the report


def command_output(command: Sequence[str]) -> str:
    result = subprocess.run(list(command), capture_output=True, text=True, check=False)
    return (result.stdout + result.stderr).strip()


def vouch_source() -> str:
    """Where the measured vouch was imported from, with its git commit when that is a checkout
    (``PYTHONPATH=.../src`` measures another copy: the CLI runs inherit the environment)."""
    package = Path(vouch.__file__).resolve().parent
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=package,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if commit.returncode != 0 or not commit.stdout.strip():
        return str(package)
    status = subprocess.run(
        ["git", "status", "--porcelain", "--", "."], cwd=package,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    changes = " with uncommitted changes" if status.stdout.strip() else ""
    return f"{package} (HEAD {commit.stdout.strip()}{changes})"


def machine() -> dict[str, str]:
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "platform": platform.platform(),
        "cpus": str(os.cpu_count()),
        "python": command_output([sys.executable, "--version"]),
        "uv": command_output([find_uv_bin(), "--version"]),
        "build": pypa_build.__version__,
        "pip": command_output([sys.executable, "-m", "pip", "--version"]).split(" from ")[0],
        "vouch": vouch.__version__,
        "vouch_source": vouch_source(),
        "git": command_output(["git", "--version"]),
    }


def _ratios(runs: list[Run], tool: str, other: str, measure: str) -> list[float]:
    """vouch / other, round by round (each round ran both, back to back)."""
    mine = {r.round: getattr(r, measure) for r in runs if r.tool == tool}
    theirs = {r.round: getattr(r, measure) for r in runs if r.tool == other}
    return [mine[n] / theirs[n] for n in sorted(mine) if n in theirs and theirs[n] > 0]


def summarize(runs: list[Run], tools: list[Tool]) -> dict[str, Any]:
    names = [tool.name for tool in tools]
    medians = {name: statistics.median(r.seconds for r in runs if r.tool == name) for name in names}
    cpu = {name: statistics.median(r.cpu for r in runs if r.tool == name) for name in names}
    pairs = {
        other: {measure: _ratios(runs, "vouch", other, measure) for measure in ("seconds", "cpu")}
        for other in names[1:]
    }
    ratio = {
        other: {measure: statistics.median(values) for measure, values in by.items()}
        for other, by in pairs.items()
    }
    rounds = len({r.round for r in runs})
    vouch_hashes = {json.dumps(r.artifacts, sort_keys=True) for r in runs if r.tool == "vouch"}
    return {
        "medians": medians,
        "cpu_medians": cpu,
        "pair_ratios": pairs,
        "ratio_medians": ratio,
        "goal": f"vouch / uv build: wall <= {GOAL_UV_WALL}x and CPU <= {GOAL_UV_CPU}x "
        f"(median of >= {MIN_ROUNDS} per-round ratios)",
        "goal_wall_met": ratio["uv build"]["seconds"] <= GOAL_UV_WALL and rounds >= MIN_ROUNDS,
        "goal_cpu_met": ratio["uv build"]["cpu"] <= GOAL_UV_CPU and rounds >= MIN_ROUNDS,
        "enough_rounds": rounds >= MIN_ROUNDS,
        "vouch_outputs_identical_across_rounds": len(vouch_hashes) == 1,
    }


def markdown(report: dict[str, Any], tools: list[Tool]) -> str:
    """The tables for benchmarks/RESULTS.md."""
    summary, rounds = report["summary"], report["rounds"]
    head = " | ".join(f"round {n + 1}" for n in range(rounds))
    lines = [
        f"| tool | measure | {head} | median |",
        "| --- | --- | " + " | ".join("---:" for _ in range(rounds)) + " | ---: |",
    ]
    for tool in tools:
        mine = [r for r in report["runs"] if r["tool"] == tool.name]
        for measure, key, medians in (("wall s", "seconds", "medians"), ("CPU s", "cpu", "cpu_medians")):
            cells = " | ".join(f"{r[key]:.2f}" for r in mine)
            lines.append(f"| {tool.name} | {measure} | {cells} | **{summary[medians][tool.name]:.2f}** |")
    lines += ["", f"| ratio (per round) | {head} | median |",
              "| --- | " + " | ".join("---:" for _ in range(rounds)) + " | ---: |"]  # fmt: skip
    for other, by in summary["pair_ratios"].items():
        for measure, values in by.items():
            label = f"vouch / {other}, {'wall' if measure == 'seconds' else 'CPU'}"
            cells = " | ".join(f"{v:.2f}x" for v in values)
            lines.append(f"| {label} | {cells} | **{summary['ratio_medians'][other][measure]:.2f}x** |")
    lines += ["", "| vouch phase (in-process) | s | share |", "| --- | ---: | ---: |"]
    profile = report["vouch_profile"]
    for phase in profile["phases"]:
        lines.append(
            f"| {phase['phase']} | {phase['seconds']:.2f} | {phase['seconds'] / profile['total']:.0%} |"
        )
    return "\n".join(lines)


def render(console: Console, report: dict[str, Any], tools: list[Tool], profile: Profile) -> None:
    info = report["machine"]
    console.print(
        f"[bold]Django {report['django']['version']}[/] ({report['django']['filename']}), "
        f"{report['rounds']} rounds, {info['cpus']} CPUs, {info['python']}, {info['uv']}, "
        f"build {info['build']}, {info['pip']}, vouch {info['vouch']} from {info['vouch_source']}"
    )
    what = Table(title="What each tool does", title_justify="left")
    what.add_column("tool")
    what.add_column("does")
    for tool in tools:
        what.add_row(tool.name, tool.does)
    console.print(what)

    summary = report["summary"]
    timings = Table(title="Wall and CPU time (s), sdist + wheel, whole processes", title_justify="left")
    timings.add_column("tool")
    timings.add_column("")
    for index in range(report["rounds"]):
        timings.add_column(f"round {index + 1}", justify="right")
    timings.add_column("median", justify="right", style="bold")
    for tool in tools:
        mine = [r for r in report["runs"] if r["tool"] == tool.name]
        timings.add_row(tool.name, "wall", *[f"{r['seconds']:.2f}" for r in mine],
                        f"{summary['medians'][tool.name]:.2f}")  # fmt: skip
        timings.add_row("", "CPU", *[f"{r['cpu']:.2f}" for r in mine],
                        f"{summary['cpu_medians'][tool.name]:.2f}")  # fmt: skip
    console.print(timings)

    def verdict(met: bool) -> str:
        return "[green]met[/]" if met else "[red]missed[/]"

    ratios = Table(title="vouch / other, per round (each a back-to-back pair)", title_justify="left")
    ratios.add_column("ratio")
    for index in range(report["rounds"]):
        ratios.add_column(f"round {index + 1}", justify="right")
    ratios.add_column("median", justify="right", style="bold")
    ratios.add_column("goal")
    for other, by in summary["pair_ratios"].items():
        for measure, values in by.items():
            goal = ""
            if other == "uv build":
                met = summary["goal_wall_met" if measure == "seconds" else "goal_cpu_met"]
                limit = GOAL_UV_WALL if measure == "seconds" else GOAL_UV_CPU
                goal = f"<= {limit}x " + verdict(met)
            ratios.add_row(f"vouch / {other} ({'wall' if measure == 'seconds' else 'CPU'})",
                           *[f"{v:.2f}x" for v in values],
                           f"{summary['ratio_medians'][other][measure]:.2f}x", goal)  # fmt: skip
    console.print(ratios)
    if not summary["enough_rounds"]:
        console.print(f"[yellow]fewer than {MIN_ROUNDS} rounds: no verdict on the goal[/]")
    same = summary["vouch_outputs_identical_across_rounds"]
    console.print(f"vouch's sdist and wheel identical in every round: {'yes' if same else 'NO'}")

    phases = Table(title=f"vouch phases, in-process (total {profile.total:.2f}s)",
                   title_justify="left")  # fmt: skip
    phases.add_column("phase")
    phases.add_column("s", justify="right")
    phases.add_column("share", justify="right")
    for message, seconds in profile.phases:
        phases.add_row(message, f"{seconds:.2f}", f"{seconds / profile.total:.0%}")
    console.print(phases)

    steps = Table(title="vouch internal steps (nested steps are part of their parent)",
                  title_justify="left")  # fmt: skip
    steps.add_column("step")
    steps.add_column("calls", justify="right")
    steps.add_column("s", justify="right")
    steps.add_column("share", justify="right")
    for span in profile.steps:
        steps.add_row(span.label, str(span.calls), f"{span.seconds:.3f}",
                      f"{span.seconds / profile.total:.0%}")  # fmt: skip
    console.print(steps)
    cli_overhead = summary["medians"]["vouch"] - profile.total
    console.print(
        f"median CLI run minus in-process build: {cli_overhead:+.2f}s "
        "(interpreter start-up and imports, plus run-to-run noise)"
    )


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=MIN_ROUNDS,
                        help=f"timed rounds (default and minimum for a verdict: {MIN_ROUNDS})")  # fmt: skip
    parser.add_argument("--markdown", action="store_true",
                        help="also print the tables for benchmarks/RESULTS.md")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--user-caches", action="store_true",
                        help="use the usual cache folders instead of fresh ones")  # fmt: skip
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory and print where it is")  # fmt: skip
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def benchmark(args: argparse.Namespace, work: Path, log: Console) -> None:
    cache = None if args.user_caches else work / "cache"
    with httpx.Client(follow_redirects=True, timeout=120.0) as client:
        sdist = newest_django_sdist(client)
        log.print(f"downloading {sdist.filename}")
        archive = download(client, sdist, work)
    repo = make_repository(archive, work / "repo")
    log.print(f"git repository at {repo} ({git(repo, 'rev-parse', 'HEAD')[:12]})")

    warm_tools = make_tools(cache, lock=None)
    log.print("warm-up: vouch (resolves and writes the build lock)")
    run_tool(warm_tools[0], repo, work / "warm" / "vouch")
    lock = find_lock(work / "warm" / "vouch")
    tools = make_tools(cache, lock)
    for tool in tools:  # vouch again with the lock, so the timed runs meet a warm cache
        log.print(f"warm-up: {tool.name}")
        run_tool(tool, repo, work / "warm" / tool.name.replace(" ", "-"))

    runs: list[Run] = []
    for index in range(args.rounds):
        shift = index % len(tools)
        for tool in tools[shift:] + tools[:shift]:
            seconds, cpu, artifacts = run_tool(tool, repo, work / "out" / tool.name.replace(" ", "-"))
            log.print(f"round {index + 1}: {tool.name} {seconds:.2f}s wall, {cpu:.2f}s CPU")
            runs.append(Run(tool.name, index + 1, seconds, cpu, artifacts))
    runs.sort(key=lambda r: ([t.name for t in tools].index(r.tool), r.round))

    log.print("profiling vouch in-process")
    git(repo, "clean", "-fdxq")
    profile = profile_vouch(repo, work / "profile", lock, cache)

    report: dict[str, Any] = {
        "command": " ".join(["python", "benchmarks/bench_build.py", *sys.argv[1:]]),
        "machine": machine(),
        "django": asdict(sdist),
        "rounds": args.rounds,
        "caches": "fresh per benchmark" if cache is not None else "the user's",
        "tools": {
            tool.name: {"does": tool.does, "command": tool.command(Path("REPO"), Path("OUT"))}
            for tool in tools
        },
        "runs": [asdict(run) for run in runs],
        "summary": summarize(runs, tools),
        "vouch_profile": {
            "total": profile.total,
            "phases": [{"phase": m, "seconds": s} for m, s in profile.phases],
            "steps": [asdict(span) for span in profile.steps],
        },
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        render(Console(highlight=False), report, tools, profile)
    if args.markdown:
        print(markdown(report, tools))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    log = Console(stderr=True, highlight=False)
    work = Path(tempfile.mkdtemp(prefix="vouch-bench-"))
    try:
        benchmark(args, work, log)
    except (BenchmarkError, httpx.HTTPError) as error:
        log.print(f"[bold red]benchmark failed:[/] {error}")
        return 1
    finally:
        if args.keep:
            log.print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
