"""The results database of `vouch verify`: SQLite by default, a real PostgreSQL server started here.

The PostgreSQL test starts Debian's server (`postgresql`, installed by .ci/run) in a temporary data
directory as an unprivileged user, on a free loopback port, and runs `vouch verify` twice against
it: the second run reads the settled results and sends the index no request. Outside CI, a machine
without the server binaries skips it; in CI (``CI`` set) their absence fails it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.verify_index import Index, states, verify, write_lock
from vouch.cli import main
from vouch.errors import UsageError
from vouch.verify.store import SCHEMA_VERSION, Store, schema_version

pytestmark = pytest.mark.usefixtures("own_cache")


def test_results_and_recorded_publishers_survive_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    with Store(url) as store:
        store.put("a" * 64, "index", {"k": 1}, "verified", {"filename": "x"})
        store.record_identity("x", "github:o/r/w.yml", "1.0")
        store.record_identity("x", "github:o/r/other.yml", "1.1")
    with Store(url) as store:
        assert store.schema == SCHEMA_VERSION
        stored = store.get("a" * 64, "index", {"k": 1})
        assert stored is not None
        assert (stored.state, stored.result) == ("verified", {"filename": "x"})
        assert store.get("a" * 64, "index", {"k": 2}) is None, "other inputs, another result"
        assert store.recorded_identity("x") == "github:o/r/other.yml"
        assert store.count() == 1


def test_a_database_from_a_newer_vouch_is_refused_and_left_alone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    with Store(url) as store:
        store.put("a" * 64, "index", {}, "verified", {})
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(schema_version.insert().values(version=SCHEMA_VERSION + 1, applied_at="later"))
    engine.dispose()
    with pytest.raises(UsageError, match="newer than this vouch knows"):
        Store(url)
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("select count(*) from vouch_verify_results")).scalar() == 1
    engine.dispose()


def test_an_unreachable_database_is_could_not_check_without_its_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "requirements.txt").write_text(f"x==1 --hash=sha256:{'a' * 64}\n")
    port = _free_port()
    code = main(["verify", str(tmp_path / "requirements.txt"), "--workers", "1",
                 "--db", f"postgresql://vouch:s3cret-pw@127.0.0.1:{port}/db"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 3
    assert "results database" in err
    assert "s3cret-pw" not in err


def test_an_unsupported_database_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "requirements.txt").write_text(f"x==1 --hash=sha256:{'a' * 64}\n")
    code = main(["verify", str(tmp_path / "requirements.txt"), "--db", "mysql://u@h/db"])
    assert code == 2
    assert "mysql databases are not supported" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def postgres() -> Iterator[str]:
    """A PostgreSQL server of its own, run by an unprivileged user; yields its URL."""
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not binaries:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL's server is not installed (.ci/run installs Debian's postgresql)")
        pytest.skip("PostgreSQL's server binaries (/usr/lib/postgresql/*/bin) are not installed here")
    bin_dir = binaries[-1].parent
    root = Path(tempfile.mkdtemp(prefix="vouch-pg-"))  # not under pytest's root-only folder
    data, sockets = root / "data", root / "run"
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "nobody", "--"]
        root.chmod(0o755)
        for folder in (data, sockets):
            folder.mkdir()
            shutil.chown(folder, "nobody", "nogroup")
    port = _free_port()

    def run(*argv: str) -> None:
        subprocess.run([*as_user, *argv], check=True, capture_output=True, cwd=root)

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", "vouch", "--auth=trust", "-E", "UTF8")
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1"
        log = str(sockets / "log")
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", log, "-w", "start")
        try:
            yield f"postgresql://vouch@127.0.0.1:{port}/postgres"
        finally:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_postgresql_keeps_results_that_a_second_run_reads(
    postgres: str, index: Index, tmp_path: Path
) -> None:
    files = [index.add("demo", "1.0", "demo-1.0.tar.gz", b"sdist"),
             index.add("demo", "1.0", "demo-1.0-py3-none-any.whl", b"wheel"),
             index.add("other", "2.0", "other-2.0.tar.gz", b"other")]  # fmt: skip
    lock = write_lock(tmp_path, "pylock", files)
    code, first = verify(lock, index, postgres, "--workers", "1")
    assert code == 1
    assert set(states(first).values()) == {"no provenance"}
    asked = len(index.server.requests)
    assert asked > 0
    code, second = verify(lock, index, postgres, "--workers", "1")
    assert code == 1
    assert len(index.server.requests) == asked, "the second run must read settled results, not the index"
    assert states(second) == states(first)
    assert (second["checked"], second["cached"]) == (0, 5)  # 3 files, 2 histories
    code, third = verify(lock, index, postgres, "--workers", "1", "--refresh")
    assert len(index.server.requests) > asked
    assert third["checked"] == 5
    with Store(postgres) as store:
        assert store.schema == SCHEMA_VERSION
        assert store.count() == 3 * 2 + 2  # index and provenance per file, a history per release
