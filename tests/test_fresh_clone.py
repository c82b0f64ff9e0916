"""A fresh clone collects its whole test suite alone: nothing beside the checkout, no download to collect."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

NESTED = "VOUCH_TEST_NESTED_CLONE"  # set in the clone's run: it never clones again


@pytest.mark.skipif(bool(os.environ.get(NESTED)), reason="inside the clone this test itself started")
def test_a_fresh_clone_collects_every_test_with_nothing_beside_it(tmp_path: Path) -> None:
    repository = Path(__file__).resolve().parents[1]
    head = subprocess.run(
        ["git", "-C", str(repository), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    folder = tmp_path / "empty"
    folder.mkdir()
    clone = folder / "vouch"
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(repository), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", "--detach", head], check=True)
    assert sorted(p.name for p in folder.iterdir()) == ["vouch"]  # no shared/ beside it
    cache = tmp_path / "test-cache"
    cache.mkdir()
    environment = {**os.environ, NESTED: "1", "VOUCH_TEST_CACHE": str(cache)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=clone, env=environment, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "ERROR collecting" not in output, output
    # with a collection error pytest says "N tests collected, M errors in ..."
    collected = re.fullmatch(r"(\d+) tests collected in [\d.]+s", result.stdout.strip().splitlines()[-1])
    assert collected is not None, output
    assert int(collected.group(1)) > 100
    assert "tests/test_provenance.py::test_fixture" in output
    assert _no_shared_paths(clone)
    assert list(cache.iterdir()) == []  # collecting downloads nothing


def _no_shared_paths(clone: Path) -> bool:
    """No test names a path into ``shared/`` (the word may appear in other senses)."""
    pattern = re.compile(r"""["'/]shared["'/]""")
    return not any(pattern.search(p.read_text()) for p in (clone / "tests").rglob("*.py"))
