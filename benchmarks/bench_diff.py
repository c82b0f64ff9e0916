"""Benchmark: ``vouch diff`` against diffoscope, on Django's published release and on large archives.

Run on demand (not a test; needs PyPI, diffoscope on PATH, and about 5 GiB of temporary space)::

    pip install diffoscope
    python benchmarks/bench_diff.py --rounds 3
    python benchmarks/bench_diff.py --rounds 3 --markdown >> benchmarks/RESULTS.md

What it does:

1. Downloads Django's published sdist and wheel (default 5.2.19) through PyPI's PEP 691 JSON simple
   API, checking each file's sha256 against the index.
2. Makes two counterparts: a wheel rebuilt from the published sdist with ``python -m build --wheel``
   (``SOURCE_DATE_EPOCH`` unset, so the generated ``.dist-info`` files get today's timestamps), and
   the published sdist repacked (same contents; new mtimes, owner 1000/1000 "repack", members in
   sorted order, PAX format, gzip level 6 with a file name and today's time in the gzip header).
3. Times ``vouch diff A B --json`` and ``diffoscope --json OUT A B`` on each pair, ``--rounds`` times,
   alternating which tool goes first; reports the medians and the speed-up.
4. Compares the members each tool finds different: vouch's members with any difference, against the
   members diffoscope shows a change for, in its content nodes or in the changed lines of its
   archive listings (``zipinfo``, tar ``file list``).
5. Generates a zip (stored) and a tar.gz (gzip level 1) of ``--big-mib`` MiB of incompressible data
   each, in pairs that differ in one large member, and measures the peak RSS of ``vouch diff`` on
   each pair (``wait4``'s ``ru_maxrss`` of the child).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import io
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

import vouch

SIMPLE_URL = "https://pypi.org/simple/django/"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
GOAL_SPEEDUP = 20.0
GOAL_RSS_MIB = 200.0
CHUNK = 16 << 20
META_NODES = {"file list", "filetype from file(1)", "encoding", "metadata"}
# the name at the end of a line of diffoscope's tar listing (ISO time) or of zipinfo (dd-Mon-yy hh:mm)
LISTED_NAME = re.compile(
    r"(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?|\d\d-[A-Za-z]{3}-\d\d \d\d:\d\d) (.+)$"
)


class BenchmarkError(Exception):
    """A step of the benchmark failed; the message says which and why."""


# --------------------------------------------------------------------------- inputs


def download_release(client: httpx.Client, version: str, dest: Path) -> tuple[Path, Path]:
    """The published sdist and pure-Python wheel of Django ``version``, sha256-checked."""
    response = client.get(SIMPLE_URL, headers={"Accept": SIMPLE_JSON})
    response.raise_for_status()
    wanted = {f"django-{version}.tar.gz", f"django-{version}-py3-none-any.whl"}
    paths: dict[str, Path] = {}
    for entry in response.json()["files"]:
        filename = str(entry["filename"])
        if filename not in wanted:
            continue
        target, digest = dest / filename, hashlib.sha256()
        with (
            client.stream("GET", str(response.url.join(str(entry["url"])))) as download,
            target.open("wb") as out,
        ):
            download.raise_for_status()
            for chunk in download.iter_bytes():
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != entry["hashes"]["sha256"]:
            raise BenchmarkError(f"{filename}: sha256 {digest.hexdigest()}, the index says otherwise")
        paths[filename] = target
    if len(paths) != len(wanted):
        raise BenchmarkError(f"the index does not list {sorted(wanted - set(paths))}")
    return paths[f"django-{version}.tar.gz"], paths[f"django-{version}-py3-none-any.whl"]


def rebuild_wheel(sdist: Path, work: Path) -> Path:
    """A wheel built from the unpacked sdist with pypa/build, SOURCE_DATE_EPOCH unset."""
    source = work / "unpacked"
    with tarfile.open(sdist, "r:gz") as tar:
        tar.extractall(source, filter="data")
    (project,) = source.iterdir()
    out = work / "rebuilt"
    env = {key: value for key, value in os.environ.items() if key != "SOURCE_DATE_EPOCH"}
    command = [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(project)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BenchmarkError(f"python -m build failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    (wheel,) = out.glob("*.whl")
    return wheel


def repack_sdist(sdist: Path, work: Path) -> Path:
    """The same members, sorted, with new mtimes and owners, in a new gzip stream, member by member."""
    target = work / "repacked" / sdist.name
    target.parent.mkdir()
    now = int(time.time())
    with tarfile.open(sdist, "r:gz") as source:
        members = [(info, source.extractfile(info).read() if info.isreg() else b"") for info in source]  # type: ignore[union-attr]
    with target.open("wb") as raw, tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.PAX_FORMAT,
                                                compresslevel=6) as out:  # fmt: skip
        for info, data in sorted(members, key=lambda member: member[0].name):
            info.mtime, info.uid, info.gid, info.uname, info.gname = now, 1000, 1000, "repack", "repack"
            info.pax_headers = {}  # else the source's PAX mtime records would be written again
            out.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return target


def zero_owners(sdist: Path, work: Path) -> Path:
    """Issue 15's pair: the sdist rewritten by Python's tarfile (PAX), owners zeroed, all else kept."""
    target = work / "owners-zeroed" / sdist.name
    target.parent.mkdir()
    with tarfile.open(sdist, "r:gz") as source, \
            tarfile.open(target, "w:gz", format=tarfile.PAX_FORMAT) as out:
        for info in source:
            data = source.extractfile(info) if info.isreg() else None
            info.uid, info.gid, info.uname, info.gname = 0, 0, "", ""
            out.addfile(info, data)
    return target


# --------------------------------------------------------------------------- the tools


def vouch_command() -> list[str]:
    script = Path(sys.executable).parent / "vouch"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "vouch"]


def diffoscope_command() -> list[str]:
    found = shutil.which("diffoscope")
    if found is None:
        raise BenchmarkError("diffoscope is not on PATH: pip install diffoscope")
    return [found, "--no-progress"]


def timed(command: Sequence[str], output: Path) -> float:
    with output.open("wb") as out:
        started = time.perf_counter()
        result = subprocess.run(list(command), stdout=out, stderr=subprocess.PIPE, check=False)
        seconds = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise BenchmarkError(
            f"{' '.join(command)} exited {result.returncode}: {result.stderr.decode()[-500:]}"
        )
    return seconds


def vouch_members(report: dict[str, Any]) -> tuple[set[str], set[str]]:
    """Members with any difference, and members whose content differs."""
    members = [d for d in report["differences"] if d["member"] is not None]
    return {d["member"] for d in members}, {d["member"] for d in members if "content" in d["aspects"]}


def diffoscope_members(report: dict[str, Any]) -> tuple[set[str], set[str]]:
    """Members with a changed line in a listing (tar ``file list``, ``zipinfo``) or a node of their
    own, and those with a node (their content differs)."""
    listed: set[str] = set()
    nodes: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        for child in node.get("details", []):
            name = str(child.get("source1", ""))
            if name in META_NODES or "{}" in name:
                for line in (child.get("unified_diff") or "").splitlines():
                    if line[:1] in "+-" and (match := LISTED_NAME.search(line)):
                        target = match.group(1).split(" -> ")[0] if line[1:2] == "l" else match.group(1)
                        listed.add(target.rstrip("/"))
            elif name.endswith(".tar") and child.get("details"):
                walk(child)  # the tar inside a .tar.gz
            else:
                nodes.add(name)

    walk(report)
    return listed | nodes, nodes


def compare_sets(ours: set[str], theirs: set[str]) -> dict[str, Any]:
    return {
        "vouch": len(ours),
        "diffoscope": len(theirs),
        "same": ours == theirs,
        "only_vouch": sorted(ours - theirs)[:20],
        "only_diffoscope": sorted(theirs - ours)[:20],
    }


def benchmark_pair(label: str, a: Path, b: Path, *, rounds: int, work: Path, log: Console) -> dict[str, Any]:
    tools = {"vouch": [*vouch_command(), "diff", str(a), str(b), "--json"]}
    outputs = {"vouch": work / f"{label}.vouch.json", "diffoscope": work / f"{label}.diffoscope.json"}
    tools["diffoscope"] = [*diffoscope_command(), "--json", str(outputs["diffoscope"]), str(a), str(b)]
    seconds: dict[str, list[float]] = {name: [] for name in tools}
    for index in range(rounds):
        for name in list(tools) if index % 2 == 0 else list(tools)[::-1]:
            target = outputs[name] if name == "vouch" else work / "diffoscope.stdout"
            seconds[name].append(timed(tools[name], target))
            log.print(f"{label} round {index + 1}: {name} {seconds[name][-1]:.2f}s")
    ours_all, ours_content = vouch_members(json.loads(outputs["vouch"].read_text()))
    theirs_all, theirs_content = diffoscope_members(json.loads(outputs["diffoscope"].read_text()))
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    return {
        "pair": label,
        "a": a.name,
        "b": b.name,
        "seconds": seconds,
        "medians": medians,
        "speedup": medians["diffoscope"] / medians["vouch"],
        "members_any_difference": compare_sets(ours_all, theirs_all),
        "members_content_differs": compare_sets(ours_content, theirs_content),
        "commands": {
            name: " ".join([Path(command[0]).name, *command[1:]]) for name, command in tools.items()
        },
    }


# --------------------------------------------------------------------------- large archives


def random_chunks(seed: str, size: int) -> Iterator[bytes]:
    """Deterministic incompressible bytes: the same seed gives the same stream."""
    for index, start in enumerate(range(0, size, CHUNK)):
        yield hashlib.shake_128(f"{seed}:{index}".encode()).digest(min(CHUNK, size - start))


class ChunkReader(io.RawIOBase):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._buffer = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            self._buffer = next(self._chunks, b"")
            if not self._buffer:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size], self._buffer = self._buffer[:size], self._buffer[size:]
        return size


BLOBS = 4


def write_big_zip(path: Path, side: str, size: int) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        archive.writestr("big/README.txt", f"side {side}\n")
        for index in range(BLOBS):
            info = zipfile.ZipInfo(f"big/blob{index}.bin", (2024, 1, 1, 0, 0, 0))
            with archive.open(info, "w", force_zip64=True) as member:
                for chunk in random_chunks(blob_seed(index, side), size):
                    member.write(chunk)


def write_big_tar_gz(path: Path, side: str, size: int) -> None:
    with tarfile.open(path, "w:gz", compresslevel=1) as archive:
        for index in range(BLOBS):
            info = tarfile.TarInfo(f"big/blob{index}.bin")
            info.size, info.mtime = size, 1_700_000_000
            archive.addfile(info, io.BufferedReader(ChunkReader(random_chunks(blob_seed(index, side), size))))


def blob_seed(index: int, side: str) -> str:
    return f"blob{index}" if index < BLOBS - 1 else f"blob{index}{side}"  # the last blob differs


def large_pairs(work: Path, total_mib: int) -> dict[str, tuple[Path, Path]]:
    """A zip pair and a tar.gz pair of ``total_mib`` MiB each, whose last large member differs."""
    pairs = {}
    for kind, writer in (("zip", write_big_zip), ("tar.gz", write_big_tar_gz)):
        pairs[kind] = (work / f"big-a.{kind}", work / f"big-b.{kind}")
        for side, path in zip("ab", pairs[kind], strict=True):
            writer(path, side, (total_mib << 20) // BLOBS)
    return pairs


# Run from a fresh, small interpreter: on Linux a child's ru_maxrss starts from its parent's RSS at
# fork (the kernel keeps the high-water mark across exec), so measured from this process, which holds
# diffoscope's reports and the generators' buffers, every run would look at least as big as it.
LAUNCHER = """
import os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
child.returncode = os.waitstatus_to_exitcode(status)
print(time.perf_counter() - started, usage.ru_maxrss, child.returncode)
"""


def peak_rss(command: Sequence[str]) -> tuple[float, float, int]:
    """Wall time, peak RSS in MiB and exit code of one run of ``command``."""
    result = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *command], capture_output=True, text=True, check=False
    )
    try:
        seconds, kib, code = result.stdout.split()
    except ValueError:
        raise BenchmarkError(f"measuring {' '.join(command)} failed: {result.stderr[-500:]}") from None
    return float(seconds), int(kib) / 1024, int(code)


def check_large_report(a: Path, b: Path) -> None:
    """The run measured must be a comparison that names the differing blob, not a refusal (an archive
    over vouch's default limits, 1 GiB inflated or 256 MiB per member, is refused in a moment)."""
    result = subprocess.run([*vouch_command(), "diff", str(a), str(b), "--json"], capture_output=True,
                            text=True, check=False)  # fmt: skip
    try:
        members = {difference["member"] for difference in json.loads(result.stdout)["differences"]}
    except (json.JSONDecodeError, KeyError):
        raise BenchmarkError(
            f"vouch diff {a.name} {b.name} did not compare: {result.stdout[-300:]}"
        ) from None
    if f"big/blob{BLOBS - 1}.bin" not in members:
        raise BenchmarkError(f"vouch diff {a.name} {b.name} missed the differing blob: {sorted(members)}")


# --------------------------------------------------------------------------- report


def render(report: dict[str, Any], console: Console) -> None:
    machine = report["machine"]
    console.print(
        f"[bold]vouch diff vs diffoscope[/], Django {report['django']}, {report['rounds']} rounds, "
        f"{machine['cpus']} CPUs, {machine['python']}, {report['diffoscope']}"
    )
    table = Table(title="Wall time (s), medians", title_justify="left")
    for column in ("pair", "vouch runs", "vouch", "diffoscope runs", "diffoscope", "speed-up", "goal"):
        table.add_column(column, justify="left" if column == "pair" else "right")
    for pair in report["pairs"]:
        runs = {name: " ".join(f"{s:.2f}" for s in values) for name, values in pair["seconds"].items()}
        medians = pair["medians"]
        met = "[green]met[/]" if pair["speedup"] >= GOAL_SPEEDUP else "[red]missed[/]"
        table.add_row(
            pair["pair"], runs["vouch"], f"{medians['vouch']:.2f}", runs["diffoscope"],
            f"{medians['diffoscope']:.2f}", f"{pair['speedup']:.1f}x", met,
        )  # fmt: skip
    console.print(table)
    for pair in report["pairs"]:
        for key in ("members_any_difference", "members_content_differs"):
            sets = pair[key]
            verdict = (
                "same set"
                if sets["same"]
                else f"DIFFERENT sets: {sets['only_vouch']=} {sets['only_diffoscope']=}"
            )
            console.print(
                f"{pair['pair']}, {key}: vouch {sets['vouch']}, diffoscope {sets['diffoscope']}: {verdict}"
            )
    for row in report["large"]:
        console.print(
            f"{row['pair']} ({row['size_mib']:.0f} MiB each): vouch diff {row['seconds']:.2f}s, "
            f"peak RSS {row['peak_rss_mib']:.1f} MiB (goal < {GOAL_RSS_MIB:.0f}), exit {row['exit']}"
        )


def markdown(report: dict[str, Any]) -> str:
    machine = report["machine"]
    lines = [
        "",
        "## vouch diff",
        "",
        f"Run {machine['date']} on {machine['platform']}, {machine['cpus']} CPUs, {machine['python']}, "
        f"vouch {machine['vouch']}, {report['diffoscope']}. Command: `{report['command']}`.",
        "",
        f"Django {report['django']}: the published wheel against one rebuilt from the published sdist with "
        "`python -m build --wheel` (SOURCE_DATE_EPOCH unset), and the published sdist against a repack of it "
        "(new mtimes and owners, sorted members, new gzip header). Medians of "
        f"{report['rounds']} runs, `vouch diff A B --json` against `diffoscope --json OUT A B`.",
        "",
        "| pair | vouch (s) | diffoscope (s) | speed-up (goal 20x) | members differing: vouch / diffoscope |",
        "|---|---:|---:|---:|---|",
    ]
    for pair in report["pairs"]:
        sets, medians = pair["members_any_difference"], pair["medians"]
        same = "same set" if sets["same"] else "different sets"
        met = "met" if pair["speedup"] >= GOAL_SPEEDUP else "missed"
        lines.append(
            f"| {pair['pair']} | {medians['vouch']:.2f} | {medians['diffoscope']:.2f} | "
            f"{pair['speedup']:.1f}x ({met}) | {sets['vouch']} / {sets['diffoscope']}, {same} |"
        )
    lines += [
        "",
        "| large pair | size each | vouch diff (s) | peak RSS (goal < 200 MiB) |",
        "|---|---:|---:|---:|",
    ]
    for row in report["large"]:
        met = "met" if row["peak_rss_mib"] < GOAL_RSS_MIB else "missed"
        lines.append(
            f"| {row['pair']} | {row['size_mib']:.0f} MiB | {row['seconds']:.2f} | "
            f"{row['peak_rss_mib']:.1f} MiB ({met}) |"
        )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3, help="timed runs per tool and pair (default: 3)")
    parser.add_argument("--django", default="5.2.19", help="the Django release (default: 5.2.19)")
    parser.add_argument(
        "--big-mib",
        type=int,
        default=768,
        help="size of each large archive (default: 768, 0 for none; vouch refuses over 1 GiB inflated, "
        "256 MiB a member)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--markdown", action="store_true", help="print a section for RESULTS.md")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--save-json", type=Path, metavar="FILE", help="also write the results as JSON to FILE"
    )
    return parser.parse_args(argv)


def benchmark(args: argparse.Namespace, work: Path, log: Console) -> dict[str, Any]:
    with httpx.Client(follow_redirects=True, timeout=120.0) as client:
        log.print(f"downloading Django {args.django}")
        sdist, wheel = download_release(client, args.django, work)
    log.print("rebuilding the wheel from the sdist (python -m build --wheel)")
    rebuilt = rebuild_wheel(sdist, work)
    log.print("repacking the sdist")
    repacked = repack_sdist(sdist, work)
    zeroed = zero_owners(sdist, work)
    pairs = [
        benchmark_pair("wheel: published vs rebuilt", wheel, rebuilt, rounds=args.rounds, work=work, log=log),
        benchmark_pair(
            "sdist: published vs repacked", sdist, repacked, rounds=args.rounds, work=work, log=log
        ),
        benchmark_pair(
            "sdist: published vs owners zeroed (tarfile, PAX)", sdist, zeroed, rounds=args.rounds, work=work,
            log=log,
        ),
    ]
    if args.big_mib == 0:
        log.print("--big-mib 0: no large pairs")
        large_pairs_to_run = {}
    else:
        log.print(f"generating two pairs of {args.big_mib} MiB archives")
        large_pairs_to_run = large_pairs(work, args.big_mib)
    large = []
    for kind, (a, b) in large_pairs_to_run.items():
        seconds, rss, code = peak_rss([*vouch_command(), "diff", str(a), str(b), "--json"])
        log.print(f"large {kind}: {seconds:.2f}s, peak RSS {rss:.1f} MiB")
        check_large_report(a, b)
        large.append({"pair": f"{kind}: one {args.big_mib // BLOBS} MiB member differs",
                      "size_mib": a.stat().st_size / (1 << 20), "seconds": seconds, "peak_rss_mib": rss,
                      "exit": code})  # fmt: skip
    version = subprocess.run(
        [*diffoscope_command()[:1], "--version"], capture_output=True, text=True, check=False
    )
    return {
        "command": " ".join(["python", "benchmarks/bench_diff.py", *sys.argv[1:]]),
        "machine": {
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "platform": platform.platform(),
            "cpus": str(os.cpu_count()),
            "python": f"Python {platform.python_version()}",
            "vouch": vouch.__version__,
        },
        "diffoscope": version.stdout.strip(),
        "django": args.django,
        "rounds": args.rounds,
        "pairs": pairs,
        "large": large,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    log = Console(stderr=True, highlight=False)
    work = Path(tempfile.mkdtemp(prefix="vouch-bench-diff-"))
    try:
        report = benchmark(args, work, log)
    except (BenchmarkError, httpx.HTTPError) as error:
        log.print(f"[bold red]benchmark failed:[/] {error}")
        return 1
    finally:
        if args.keep:
            log.print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if args.save_json is not None:
        args.save_json.write_text(json.dumps(report, indent=2) + "\n")
    if args.json:
        print(json.dumps(report, indent=2))
    elif args.markdown:
        render(report, log)
        print(markdown(report), end="")
    else:
        render(report, Console(highlight=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
