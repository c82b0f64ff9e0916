"""`vouch verify --rebuild`: a release built by `vouch build` from the in-tree backend project (no
backend packages to fetch, so the rebuild runs offline), served by a real pypiserver, verified from
a hashed requirements lock with its wheel rebuilt from the published sdist."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import intree
from tests.gitrepo import make_repo
from tests.localindex import LocalIndex
from vouch.cli import main
from vouch.rebuild.verdict import ArtifactVerdict, Verdict
from vouch.verify.continuity import Judgement
from vouch.verify.model import State
from vouch.verify.rebuilds import Rebuilt, fold, note_of
from vouch.verify.store import Store

SDIST = "demo_intree-1.0.tar.gz"
WHEEL = "demo_intree-1.0-py3-none-any.whl"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("release")
    make_repo(root / "origin", intree.files(), tag="1.0")
    assert main(["build", str(root / "origin"), "--out", str(root / "dist")]) == 0
    return root / "dist"


@pytest.fixture(scope="module")
def index(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    served = LocalIndex(tmp_path_factory.mktemp("index"))
    served.packages.mkdir(parents=True)
    for filename in (SDIST, WHEEL):
        shutil.copyfile(dist / filename, served.packages / filename)
    served.start()
    yield served
    served.stop()


pytestmark = pytest.mark.usefixtures("own_cache")


def lock(dist: Path, directory: Path) -> Path:
    """A hashed requirements lock of demo-intree 1.0 (its sdist and its wheel)."""
    hashes = [hashlib.sha256((dist / name).read_bytes()).hexdigest() for name in (SDIST, WHEEL)]
    path = directory / "requirements.txt"
    path.write_text("demo-intree==1.0 \\\n" + " \\\n".join(f"    --hash=sha256:{h}" for h in hashes) + "\n")
    return path


def policy(directory: Path, *accept: str) -> Path:
    path = directory / "verify.toml"
    path.write_text(f"[projects.demo-intree]\naccept = {json.dumps(list(accept))}\n")
    return path


def verify(
    capsys: pytest.CaptureFixture[str], requirements: Path, index: LocalIndex, db: str, *extra: str
) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    args = ["verify", str(requirements), "--index", index.simple_url, "--db", db, "--workers", "1"]
    code = main([*args, "--rebuild", "--json", *extra])
    out, err = capsys.readouterr()
    assert out, err
    return code, json.loads(out)


def files(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["filename"]: f for f in data["files"]}


def test_an_equivalent_rebuild_fails_the_wheel_and_is_stored(
    dist: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'results.sqlite'}"
    requirements = lock(dist, tmp_path)
    # pypiserver serves no provenance: the policy accepts that, not the rebuild's verdict
    accepting = policy(tmp_path, "no provenance")
    started = time.monotonic()
    code, data = verify(capsys, requirements, index, db, "--policy", str(accepting))
    cold = time.monotonic() - started
    wheel, sdist = files(data)[WHEEL], files(data)[SDIST]
    # the published wheel is vouch's normalised one; the in-tree backend's raw rebuild is only
    # equivalent to it (see test_report_pypi)
    assert wheel["rebuild"]["verdict"] == "equivalent"
    assert "normalising" in wheel["rebuild"]["note"]
    assert wheel["state"] == "failed"
    assert any(r.startswith("rebuild: equivalent, not bit-identical") for r in wheel["reasons"])
    assert "rebuild" not in sdist  # the sdist is what the wheel is rebuilt from
    assert sdist["state"] == "no provenance"
    assert sdist["ok"]
    assert code == 1
    with Store(db) as store:
        rows = store.count()
    # the second run reads the stored rebuild: no rebuild, no row added, every check cached
    started = time.monotonic()
    code, data = verify(capsys, requirements, index, db, "--policy", str(accepting))
    warm = time.monotonic() - started
    assert code == 1
    assert files(data)[WHEEL]["rebuild"]["verdict"] == "equivalent"
    assert data["checked"] == 0
    assert data["cached"] == 4  # two files, the release's history and its rebuild
    with Store(db) as store:
        assert store.count() == rows
    assert warm < cold


@pytest.mark.parametrize("workers", ["1", "2"])  # in this process; on a local Dask cluster
def test_a_policy_accepting_equivalent_keeps_the_wheel_state(
    dist: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str], tmp_path: Path, workers: str
) -> None:
    db = f"sqlite:///{tmp_path / 'results.sqlite'}"
    accepting = policy(tmp_path, "no provenance", "equivalent")
    code, data = verify(
        capsys, lock(dist, tmp_path), index, db, "--policy", str(accepting), "--workers", workers
    )
    wheel = files(data)[WHEEL]
    assert wheel["rebuild"]["verdict"] == "equivalent"
    assert wheel["state"] == "no provenance"
    assert wheel["ok"]
    assert code == 0


def test_without_acceptance_of_no_provenance_the_table_shows_the_rebuild(
    dist: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'results.sqlite'}"
    capsys.readouterr()
    args = ["verify", str(lock(dist, tmp_path)), "--index", index.simple_url, "--db", db, "--workers", "1"]
    assert main([*args, "--rebuild"]) == 1
    out = capsys.readouterr().out
    assert "rebuild" in out
    assert "equivalent" in out


def test_a_policy_naming_an_unknown_acceptance_is_refused(
    dist: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    capsys.readouterr()
    args = ["verify", str(lock(dist, tmp_path)), "--index", index.simple_url, "--workers", "1"]
    assert main([*args, "--policy", str(policy(tmp_path, "different"))]) == 2
    assert "unknown state" in capsys.readouterr().err


def test_a_compiled_wheel_is_not_rebuilt_and_keeps_its_state(
    dist: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A wheel tagged for a platform is named "not rebuilt: compiled"; the pure one is rebuilt."""
    compiled = "demo_intree-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"
    served = LocalIndex(tmp_path / "index")
    served.packages.mkdir(parents=True)
    for filename in (SDIST, WHEEL):
        shutil.copyfile(dist / filename, served.packages / filename)
    # other bytes than the pure wheel (a requirements lock matches files by sha256); never read
    (served.packages / compiled).write_bytes((dist / WHEEL).read_bytes() + b"compiled")
    served.start()
    try:
        hashes = [
            hashlib.sha256((served.packages / n).read_bytes()).hexdigest() for n in (SDIST, WHEEL, compiled)
        ]
        requirements = tmp_path / "requirements.txt"
        requirements.write_text(
            "demo-intree==1.0 \\\n" + " \\\n".join(f"    --hash=sha256:{h}" for h in hashes)
        )
        accepting = policy(tmp_path, "no provenance", "equivalent")
        db = f"sqlite:///{tmp_path / 'results.sqlite'}"
        code, data = verify(capsys, requirements, served, db, "--policy", str(accepting))
    finally:
        served.stop()
    assert files(data)[compiled]["rebuild"] == {"verdict": "not rebuilt", "note": "not rebuilt: compiled"}
    assert files(data)[compiled]["state"] == "no provenance"
    assert files(data)[WHEEL]["rebuild"]["verdict"] == "equivalent"
    assert code == 0


@pytest.mark.parametrize(
    ("rebuilt", "state", "reason"),
    [
        (Rebuilt("bit-identical", "bit-identical to its rebuild"), State.VERIFIED, None),
        (Rebuilt("different", "differs in demo/__init__.py"), State.FAILED,
         "rebuild: different: differs in demo/__init__.py"),
        (Rebuilt("not checked", "timed out (after 1 s)"), State.UNCHECKED,
         "rebuild not checked: timed out (after 1 s)"),
        (Rebuilt("not rebuilt", "not rebuilt: compiled"), State.VERIFIED, None),
    ],
)  # fmt: skip
def test_each_rebuild_verdict_folds_into_a_verified_wheel(
    rebuilt: Rebuilt, state: State, reason: str | None
) -> None:
    verified = Judgement(State.VERIFIED, (), "github:demo/demo/release.yml", ())
    folded = fold(verified, rebuilt, accept_equivalent=True)
    assert folded.state is state
    assert folded.reasons == ((reason,) if reason else ())


def test_a_wheel_whose_sdist_the_lock_does_not_pin_is_not_checked_never_passed(
    dist: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    requirements = tmp_path / "requirements.txt"
    wheel_hash = hashlib.sha256((dist / WHEEL).read_bytes()).hexdigest()
    requirements.write_text(f"demo-intree==1.0 --hash=sha256:{wheel_hash}\n")
    accepting = policy(tmp_path, "no provenance", "equivalent")
    code, data = verify(capsys, requirements, index, f"sqlite:///{tmp_path / 'r.sqlite'}",
                        "--policy", str(accepting))  # fmt: skip
    wheel = files(data)[WHEEL]
    assert wheel["rebuild"]["verdict"] == "not checked"
    assert "pins no sdist" in wheel["rebuild"]["note"]
    assert wheel["state"] == "not checked"
    assert code == 3


@pytest.mark.parametrize(
    ("members", "note", "expected"),
    [
        (["demo-1.0.dist-info/METADATA", "demo-1.0.dist-info/RECORD"], "",
         "recipe not reproduced (the build environment differs): differs in demo-1.0.dist-info/METADATA, "
         "demo-1.0.dist-info/RECORD"),
        (["demo-1.0.dist-info/RECORD", "demo/__init__.py"], "",
         "code differs: differs in demo/__init__.py"),
        ([], "built on Windows: CRLF line endings in METADATA",
         "recipe not reproduced (the build environment differs): built on Windows: CRLF line endings in "
         "METADATA"),
    ],
)  # fmt: skip
def test_a_different_rebuild_says_whether_the_code_or_only_the_recipe_differs(
    members: list[str], note: str, expected: str
) -> None:
    # the distinction `vouch rebuild` heads its report with, kept in verify's reason for the wheel
    artifact = ArtifactVerdict("demo-1.0-py3-none-any.whl", "a" * 64, "b" * 64, Verdict.DIFFERENT,
                               differences=tuple({"member": m} for m in members), note=note)  # fmt: skip
    assert note_of(artifact) == expected
