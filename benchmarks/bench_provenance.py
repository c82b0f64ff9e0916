"""PEP 740 verification throughput on the fixtures, after warm-up: attestations per second.

Every passing fixture of ../shared/fixtures/pep740 (production and staging, attestations, Sigstore
bundles and provenance objects) is checked the way `vouch provenance verify` checks it, offline,
in one process and in one process per core. Goal: >= 100 attestations/s on 2 cores. Run on demand:

    python benchmarks/bench_provenance.py [--seconds S] [--processes N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from pypi_attestations import Distribution

from vouch.provenance.publisher import parse_publisher
from vouch.provenance.report import FileReport, Status
from vouch.provenance.verify import check_attestations, check_provenance, load_attestation, load_provenance
from vouch.trust import Trust

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "pep740"
GITHUB_PA = "github:trailofbits/pypi-attestations/release.yml"
WILLIAM = "email:william@yossarian.net,https://github.com/login/oauth"
SPT3G = "spt3g-1.0-cp310-cp310-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"
# (evidence, the file it attests, publisher, staging)
ROWS = [
    ("pypi-attestations/pypi_attestations-0.0.19.tar.gz.publish.attestation", None, GITHUB_PA, False),
    ("pypi-attestations/pypi_attestations-0.0.19.tar.gz.slsa.attestation", None, GITHUB_PA, False),
    ("pypi-attestations/pypi_attestations-0.0.19.tar.gz.provenance", None, GITHUB_PA, False),
    ("pypi-attestations/gitlab_oidc_project-0.0.3.tar.gz.publish.attestation", None,
     "gitlab:facutuesca/gitlab-oidc-project/.gitlab-ci.yml", False),
    ("pypi-attestations/pypi_attestation_models-0.0.4a2.tar.gz.sigstore", None,
     "github:trailofbits/pypi-attestation-models/release.yml", False),
    ("pypi-attestations/rfc8785-0.1.2-py3-none-any.whl.publish.attestation", "rfc8785-0.1.2-py3-none-any.whl",
     WILLIAM, True),
    ("pypi-attestations/spt3g-1.0-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl.publish.attestation",
     SPT3G, WILLIAM, True),
    ("warehouse/sampleproject-3.0.0.tar.gz.publish.attestation", None,
     "google:919436158236-compute@developer.gserviceaccount.com", False),
    ("warehouse/sampleproject-4.0.0.tar.gz.provenance", None, "github:pypa/sampleproject/release.yml", False),
    ("warehouse/pep740-sampleproject-1.0.0.tar.gz.provenance", "pep740_sampleproject-1.0.0.tar.gz",
     "gitlab:pep740-example/sampleproject/.gitlab-ci.yml", False),
]  # fmt: skip


def _digests() -> dict[str, str]:
    """filename -> sha256, from dists.txt (and SOURCES.md for spt3g, which has no file)."""
    rows = [line.split() for line in (FIXTURES / "dists.txt").read_text().splitlines()]
    digests = {row[1]: row[2] for row in rows if len(row) == 3 and not row[0].startswith("#")}
    return digests | {SPT3G: "d2772f9a5199f05ed1be8d9aa78b879e51772e3ead9d73fe8057257b1aec7cf8"}


def _check(row: tuple[str, str | None, str, bool], digests: dict[str, str]) -> Callable[[], FileReport]:
    """The check `vouch provenance verify` makes for one fixture, with its inputs loaded once."""
    evidence, filename, spec, staging = row
    filename = filename or Path(evidence).name.split(".tar.gz")[0] + ".tar.gz"
    data = (FIXTURES / evidence).read_bytes()
    dist = Distribution(name=filename, digest=digests[filename])
    publisher, trust = parse_publisher(spec), Trust(staging=staging)
    if evidence.endswith(".provenance"):
        provenance = load_provenance(data)
        return lambda: check_provenance(provenance, dist, publisher, trust, source=evidence)
    attestation = load_attestation(data)
    return lambda: check_attestations([(evidence, attestation)], dist, publisher, trust)


def one_round(checks: list[Callable[[], FileReport]]) -> int:
    """Check every fixture once; returns the number of attestations verified."""
    count = 0
    for check in checks:
        report = check()
        if report.status is not Status.VERIFIED:
            raise RuntimeError(f"{report.filename}: {report.reason}")
        count += len(report.attestations)
    return count


def measure(seconds: float) -> tuple[int, float]:
    """Warm up (two rounds), then verify for ``seconds``; returns (attestations, elapsed)."""
    checks = [_check(row, _digests()) for row in ROWS]
    for _ in range(2):
        one_round(checks)
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        count += one_round(checks)
    return count, elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    count, elapsed = measure(args.seconds)
    with ProcessPoolExecutor(max_workers=args.processes) as pool:
        results = list(pool.map(measure, [args.seconds] * args.processes))
    parallel = sum(n / t for n, t in results)
    figures = {
        "fixtures": len(ROWS),
        "cpus": os.cpu_count(),
        "one_process_per_s": round(count / elapsed, 1),
        "one_process_ms_each": round(elapsed / count * 1000, 2),
        f"{args.processes}_processes_per_s": round(parallel, 1),
        "goal_per_s": 100,
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>22}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
