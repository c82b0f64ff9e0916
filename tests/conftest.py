from __future__ import annotations

from pathlib import Path

import pytest

from tests.localindex import local_index
from tests.pep740_assets import pep740_assets, sigstore_cache
from tests.verify_index import index, own_cache

# fixtures for every module: the session one that downloads the PEP 740 assets, a private sigstore
# cache, a pypiserver of the test's own, and the verify tests' loopback index and per-test cache
__all__ = ["index", "local_index", "own_cache", "pep740_assets", "sigstore_cache"]


@pytest.fixture(scope="session")
def vouch_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One download cache for the whole session, so each build package is fetched once."""
    return tmp_path_factory.mktemp("vouch-cache")


@pytest.fixture(autouse=True)
def _isolated_cache(vouch_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOUCH_CACHE_DIR", str(vouch_cache))
