"""`vouch verify --rebuild` of 21 real PyPI releases (42 files: each sdist and its pure-Python wheel)
on a real Dask cluster: a `dask scheduler` and two `dask worker` processes on loopback give the same
result for every file as `--workers 1` in this process, with one worker killed during the rebuilds.

The releases are small pure-Python projects on flit-core, hatchling and setuptools that rebuild in
a second or two; their sha256 were read from PyPI's PEP 691 JSON pages when the test was written.
The vouch cache (downloads, each checked against its sha256, and uv's cache of build backends) is
kept in ``$VOUCH_TEST_CACHE`` across runs. Measured on 2 shared cores (load average 2 to 3): 74 s
with the cache warm, 82 s with it empty (67 MB downloaded: the sdists, wheels and build backends).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import parse_sdist_filename, parse_wheel_filename

from tests.dask_cluster import loopback_cluster
from tests.verify_index import Served, pylock
from vouch.cli import main

pytestmark = pytest.mark.network

CACHE = Path(os.environ.get("VOUCH_TEST_CACHE") or Path.home() / ".cache" / "vouch-tests") / "verify-pypi"
FILES = """
idna-3.10.tar.gz 12f65c9b470abda6dc35cf8e63cc574b1c52b11df2c86030af0ac09b01b13ea9
idna-3.10-py3-none-any.whl 946d195a0d259cbba61165e88e65941f16e9b36ea6ddb97f00452bae8b1287d3
attrs-24.2.0.tar.gz 5cfb1b9148b5b086569baec03f20d7b6bf3bcacc9a42bebf87ffaaca362f6346
attrs-24.2.0-py3-none-any.whl 81921eb96de3191c8258c199618104dd27ac608d9366f5e35d011eae1867ede2
flask-3.1.0.tar.gz 5f873c5184c897c8d9d1b05df1e3d01b14910ce69607a117bd3277098a5836ac
flask-3.1.0-py3-none-any.whl d667207822eb83f1c4b50949b1623c8fc8d51f2341d65f72e1a1815397551136
click-8.1.7.tar.gz ca9853ad459e787e2192211578cc907e7594e294c7ccc834310722b41b9ca6de
click-8.1.7-py3-none-any.whl ae74fb96c20a0277a1d615f1e4d73c8414f5a98db8b799a7931d1582f3390c28
jinja2-3.1.4.tar.gz 4a3aee7acbbe7303aede8e9648d13b8bf88a429282aa6122a993f0ac800cb369
jinja2-3.1.4-py3-none-any.whl bc5dd2abb727a5319567b7a813e6a2e7318c39f4f487cfe6c89c6f9c7d25197d
itsdangerous-2.2.0.tar.gz e0050c0b7da1eea53ffaf149c0cfbb5c6e2e2b69c4bef22c81fa6eb73e5f6173
itsdangerous-2.2.0-py3-none-any.whl c6242fc49e35958c8b15141343aa660db5fc54d4f13a1db01a3f5891b98700ef
werkzeug-3.1.3.tar.gz 60723ce945c19328679790e3282cc758aa4a6040e4bb330f53d30fa546d44746
werkzeug-3.1.3-py3-none-any.whl 54b78bf3716d19a65be4fceccc0d1d7b89e608834989dfae50ea87564639213e
packaging-24.2.tar.gz c228a6dc5e932d346bc5739379109d49e8853dd8223571c7c5b55260edc0b97f
packaging-24.2-py3-none-any.whl 09abb1bccd265c01f4a3aa3f7a7db064b36514d2cba19a2f694fe6150451a759
pyparsing-3.2.0.tar.gz cbf74e27246d595d9a74b186b810f6fbb86726dbf3b9532efb343f6d7294fe9c
pyparsing-3.2.0-py3-none-any.whl 93d9577b88da0bbea8cc8334ee8b918ed014968fd2ec383e868fb8afb1ccef84
urllib3-2.2.3.tar.gz e7d814a81dad81e6caf2ec9fdedb284ecc9c73076b62654547cc64ccdcae26e9
urllib3-2.2.3-py3-none-any.whl ca899ca043dcb1bafa3e262d73aa25c465bfb49e0bd9dd5d59f1d0acba2f8fac
typing_extensions-4.12.2.tar.gz 1a7ead55c7e559dd4dee8856e3a88b41225abfe1ce8df57b7c13915fe121ffb8
typing_extensions-4.12.2-py3-none-any.whl 04e5ca0351e0f3f85c6853954072df659d0d13fac324d0072316b67d7794700d
iniconfig-2.0.0.tar.gz 2d91e135bf72d31a410b17c16da610a82cb55f6b0477d1a902134b24a455b8b3
iniconfig-2.0.0-py3-none-any.whl b6a85871a79d2e3b22d2d1b94ac2824226a63c6b741c88f7ae975f18b6778374
httpcore-1.0.7.tar.gz 8551cb62a169ec7162ac7be8d4817d561f60e08eaa485234898414bb5a8a0b4c
httpcore-1.0.7-py3-none-any.whl a3fff8f43dc260d5bd363d9f9cf1830fa3a458b332856f34282de498ed420edd
httpx-0.28.1.tar.gz 75e98c5f16b0f35b567856f597f06ff2270a374470a5c2392242528e3e3e42fc
httpx-0.28.1-py3-none-any.whl d909fcccc110f8c7faf814ca82a9a4d816bc5a6dbfea25d6591d6985b8ba59ad
blinker-1.9.0.tar.gz b4ce2265a7abece45e7cc896e98dbebe6cead56bcf805a3d23136d145f5445bf
blinker-1.9.0-py3-none-any.whl ba0efaa9080b619ff2f3459d1d500c57bddea4a6b424b60a91141db6fd2f08bc
mdurl-0.1.2.tar.gz bb413d29f5eea38f31dd4754dd7377d4465116fb207585f97bf925588687c1ba
mdurl-0.1.2-py3-none-any.whl 84008a41e51615a49fc9966191ff91509e3c40b939176e643fd50a5c2196b8f8
pluggy-1.5.0.tar.gz 2cffa88e94fdc978c4c574f15f9e59b7f4201d439195c3715ca9e2486f1d0cf1
pluggy-1.5.0-py3-none-any.whl 44e1ad92c8ca002de6377e165f3e0f1be63266ab4d554740532335b9d75ea669
certifi-2024.8.30.tar.gz bec941d2aa8195e248a60b31ff9f0558284cf01a52591ceda73ea9afffd69fd9
certifi-2024.8.30-py3-none-any.whl 922820b53db7a7257ffbda3f597266d435245903d80737e34f8a45ff3e3230d8
six-1.16.0.tar.gz 1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926
six-1.16.0-py2.py3-none-any.whl 8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254
requests-2.32.3.tar.gz 55365417734eb18255590a9ff9eb97e9e1da868d4ccd6402399eaf68af20a760
requests-2.32.3-py3-none-any.whl 70761cfe03c773ceb22aa2f671b4757976145175cdfca038c02654d061d6dcc6
exceptiongroup-1.2.2.tar.gz 47c2edf7c6738fafb49fd34290706d1a1a2f4d1c6df275526b62cbb4aa5393cc
exceptiongroup-1.2.2-py3-none-any.whl 3111b9d131c238bec2f8f516e123e14ba243563fb135d3fe885990585aa7795b
"""  # each file of 21 releases and its sha256 on PyPI
REBUILT = {"bit-identical", "equivalent", "different"}  # a rebuild that ran (none "not checked")


@pytest.fixture(autouse=True)
def _cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """One vouch cache for this test's runs and for the workers (they inherit the environment)."""
    monkeypatch.setenv("VOUCH_CACHE_DIR", str(CACHE))


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    with loopback_cluster(tmp_path) as running:
        yield running


def pins() -> list[Served]:
    served = []
    for filename, sha256 in (line.split() for line in FILES.strip().splitlines()):
        if filename.endswith(".whl"):
            name, version, *_ = parse_wheel_filename(filename)
        else:
            name, version = parse_sdist_filename(filename)
        served.append(Served(name, str(version), filename, sha256))
    return served


def verify(lock: Path, db: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    import contextlib  # noqa: PLC0415
    import io  # noqa: PLC0415
    import json  # noqa: PLC0415

    out = io.StringIO()
    argv = ["verify", str(lock), "--rebuild", "--history", "2", "--db", f"sqlite:///{db}", "--json", *extra]
    with contextlib.redirect_stdout(out):
        code = main(argv)
    return code, json.loads(out.getvalue())


def per_file(report: dict[str, Any]) -> list[tuple[str, str, list[str], dict[str, str] | None]]:
    return sorted((f["filename"], f["state"], f["reasons"], f.get("rebuild")) for f in report["files"])


def rebuilds_stored(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as connection:
            query = "select count(*) from vouch_verify_results where check_name = 'rebuild'"
            return int(connection.execute(query).fetchone()[0])
    except sqlite3.Error:  # not created yet, or busy
        return 0


# a backend's warnings (setuptools-scm's "version of None already set" for pluggy) are re-issued in
# this process by pyproject_hooks when --workers 1 rebuilds here: vouch keeps them in the backend's
# log, so the suite's "warnings are errors" must not fail that rebuild
def test_a_lock_of_real_releases_rebuilt_on_a_scheduler_with_a_worker_killed_matches_one_process(
    tmp_path: Path, cluster: tuple[str, list[subprocess.Popen[bytes]]]
) -> None:
    lock = tmp_path / "pylock.toml"
    served = pins()
    lock.write_text(pylock(served))
    assert len({pin.project for pin in served}) >= 20

    code, alone = verify(lock, tmp_path / "alone.sqlite", "--workers", "1")
    expected = per_file(alone)
    assert len(expected) == len(served)
    wheels = [f for f in alone["files"] if f["filename"].endswith(".whl")]
    assert not [(f["filename"], f["rebuild"]) for f in wheels if f["rebuild"]["verdict"] not in REBUILT]
    assert not [f for f in alone["files"] if f["state"] == "not checked"]

    address, workers = cluster
    shared = tmp_path / "cluster.sqlite"

    def kill_one_worker_during_the_rebuilds() -> None:  # half of them rebuilt: the rest on one worker
        deadline = time.monotonic() + 600
        while rebuilds_stored(shared) < len(wheels) // 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        os.kill(workers[0].pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_one_worker_during_the_rebuilds, daemon=True)
    killer.start()
    started = time.monotonic()
    code_cluster, on_cluster = verify(lock, shared, "--scheduler", address)
    killer.join(timeout=5)
    assert workers[0].wait(timeout=10) == -signal.SIGKILL, "the worker was killed during the run"
    assert rebuilds_stored(shared) == len(wheels), f"every wheel rebuilt ({time.monotonic() - started:.0f} s)"
    assert code_cluster == code
    assert per_file(on_cluster) == expected
