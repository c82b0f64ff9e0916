"""Benchmark: archive bombs are refused quickly, in bounded memory, by every reader vouch has.

Run on demand (not a test; needs about 10 MB of temporary space and a minute of CPU to compress)::

    python benchmarks/bench_bomb.py
    python benchmarks/bench_bomb.py --markdown >> benchmarks/RESULTS.md

It writes a ``.tar.gz`` of ``--gib`` GiB of zeros (32 members just under the default per-member cap,
so that only the total and ratio caps can stop it) that compresses to about 4 MB, and a zip of the
same members (deflated, the same size). Then, each in a fresh process, measured by ``wait4``:

- ``vouch diff BOMB SMALL`` for both formats (the differ's streaming readers);
- the reading ``vouch rebuild pypi:`` does on a downloaded release, as a library call:
  ``read_tar_gz`` of the sdist then ``extract_sdist``, and ``read_zip`` of the wheel;
- ``normalize_archive`` on each (what a rebuild's comparison and ``vouch build`` use).

Goals (issue 11): each is refused (a one-line error, non-zero exit) in under 5 s with a peak RSS under
200 MiB. The whole ``vouch rebuild pypi:`` command needs a package index serving the bomb, which this
benchmark does not stand up: the library calls above are the reading it does.
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

GOAL_SECONDS = 5.0
GOAL_RSS_MIB = 200.0
MEMBERS = 32
ZEROS = bytes(1 << 20)

# A fresh, small interpreter measures the run: on Linux a child's ru_maxrss starts from its parent's
# RSS at fork (the high-water mark survives exec).
LAUNCHER = """
import os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
_, status, usage = os.wait4(child.pid, 0)
code = os.waitstatus_to_exitcode(status)
err = child.stderr.read().decode("utf-8", "replace").strip().splitlines()
print(time.perf_counter() - started, usage.ru_maxrss, code)
print(err[-1] if err else "")
print(len(err))
"""

READ = """
import sys, tempfile
from pathlib import Path
from vouch.archive.normalize import normalize_archive
from vouch.archive.safe import extract_sdist, read_tar_gz, read_zip
from vouch.errors import VouchError
path, what = Path(sys.argv[1]), sys.argv[2]
try:
    if what == "extract":
        with tempfile.TemporaryDirectory() as folder, path.open("rb") as raw:
            extract_sdist(read_tar_gz(raw), Path(folder, "sdist"))
    elif what == "read_zip":
        read_zip(path.read_bytes())
    else:
        normalize_archive(path, 315532800)
except VouchError as exc:
    sys.exit(f"error: {exc}")
"""


def write_tar_gz(path: Path, member_size: int) -> None:
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)
    with path.open("wb") as out:
        for index in range(MEMBERS):
            info = tarfile.TarInfo(f"bomb-1.0/zeros{index:02d}")
            info.size = member_size
            out.write(deflate.compress(info.tobuf(tarfile.PAX_FORMAT)))
            for _ in range(member_size // len(ZEROS)):
                out.write(deflate.compress(ZEROS))
        out.write(deflate.compress(bytes(1024)) + deflate.flush())


def write_zip(path: Path, member_size: int) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for index in range(MEMBERS):
            with archive.open(f"bomb/zeros{index:02d}", "w", force_zip64=True) as member:
                for _ in range(member_size // len(ZEROS)):
                    member.write(ZEROS)


def write_small(folder: Path) -> tuple[Path, Path]:
    small_tar, small_zip = folder / "small-1.0.tar.gz", folder / "small-1.0-py3-none-any.whl"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as out:
        info = tarfile.TarInfo("small-1.0/a.py")
        info.size = 6
        out.addfile(info, io.BytesIO(b"x = 1\n"))
    small_tar.write_bytes(raw.getvalue())
    with zipfile.ZipFile(small_zip, "w") as archive:
        archive.writestr("small/a.py", "x = 1\n")
    return small_tar, small_zip


def measure(command: Sequence[str]) -> tuple[float, float, int, str, int]:
    """Wall time, peak RSS in MiB, exit code, last stderr line and stderr line count of one run."""
    result = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *command], capture_output=True, text=True, check=True
    )
    figures, last, count = result.stdout.split("\n")[:3]
    seconds, kib, code = figures.split()
    return float(seconds), int(kib) / 1024, int(code), last, int(count)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=int, default=4, help="inflated size of each bomb (default 4)")
    parser.add_argument("--markdown", action="store_true", help="print a RESULTS.md section")
    args = parser.parse_args(argv)
    member_size = (args.gib << 30) // MEMBERS
    with tempfile.TemporaryDirectory(prefix="vouch-bomb-") as name:
        folder = Path(name)
        bomb_tar, bomb_zip = folder / "bomb-1.0.tar.gz", folder / "bomb-1.0-py3-none-any.whl"
        started = time.perf_counter()
        write_tar_gz(bomb_tar, member_size)
        write_zip(bomb_zip, member_size)
        built = time.perf_counter() - started
        small_tar, small_zip = write_small(folder)
        python = [sys.executable]
        runs = {
            "vouch diff (sdist)": [*python, "-m", "vouch", "diff", str(bomb_tar), str(small_tar)],
            "vouch diff (wheel)": [*python, "-m", "vouch", "diff", str(bomb_zip), str(small_zip)],
            "read_tar_gz + extract_sdist": [*python, "-c", READ, str(bomb_tar), "extract"],
            "read_zip": [*python, "-c", READ, str(bomb_zip), "read_zip"],
            "normalize_archive (sdist)": [*python, "-c", READ, str(bomb_tar), "normalize"],
            "normalize_archive (wheel)": [*python, "-c", READ, str(bomb_zip), "normalize"],
        }
        rows, ok = [], True
        for label, command in runs.items():
            seconds, rss, code, last, lines = measure(command)
            met = code != 0 and lines == 1 and "Traceback" not in last
            met = met and seconds < GOAL_SECONDS and rss < GOAL_RSS_MIB
            ok &= met
            rows.append((label, seconds, rss, code, last, met))
        sizes = f"{bomb_tar.stat().st_size / 1e6:.1f} MB tar.gz, {bomb_zip.stat().st_size / 1e6:.1f} MB zip"
    report(args, rows, sizes, built)
    return 0 if ok else 1


def report(args: argparse.Namespace, rows: list[tuple[str, float, float, int, str, bool]], sizes: str,
           built: float) -> None:  # fmt: skip
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    if not args.markdown:
        print(f"bombs of {args.gib} GiB ({sizes}), built in {built:.1f} s")
        for label, seconds, rss, code, last, met in rows:
            verdict = "met" if met else "MISSED"
            print(f"{label:32} {seconds:6.2f} s {rss:7.1f} MiB exit {code} {verdict}: {last}")
        return
    print(f"\n## Archive bombs ({args.gib} GiB of zeros in {MEMBERS} members)\n")
    print(f"Command: `python benchmarks/bench_bomb.py --gib {args.gib} --markdown` ({when}, "
          f"load average {os.getloadavg()[0]:.1f}). Bombs: {sizes}.\n")  # fmt: skip
    print("| run (fresh process) | wall time | peak RSS | exit | goal (< 5 s, < 200 MiB, one line) |")
    print("|---|---:|---:|---:|---|")
    for label, seconds, rss, code, _, met in rows:
        print(f"| {label} | {seconds:.2f} s | {rss:.1f} MiB | {code} | {'met' if met else 'missed'} |")
    print("\nThe refusals, as printed:\n")
    for label, *_, last, _ in rows:
        print(f"- {label}: `{last}`")


if __name__ == "__main__":
    raise SystemExit(main())
