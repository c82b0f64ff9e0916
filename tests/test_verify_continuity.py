"""Publisher continuity as a pure function: this release's publisher against its history and the
recorded one; and an index that answers badly leaves files "not checked" (exit 3), never verified."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.verify_index import Index, states, verify, write_lock
from vouch.verify.continuity import judge
from vouch.verify.model import Earlier, FileOutcome, History, Outcome, State

GH = "github:org/proj/release.yml"
SHA = "a" * 64


def found(provenance: Outcome, index: Outcome | None = None) -> FileOutcome:
    return FileOutcome("proj-2.0.tar.gz", SHA, index or Outcome(State.VERIFIED), provenance)


def signed_by(identity: str) -> FileOutcome:
    return found(Outcome(State.VERIFIED, identity=identity))


def history(*releases: tuple[str, str | None]) -> History:
    return History(tuple(Earlier(version, who, who is not None) for version, who in releases))


def test_the_same_publisher_as_every_earlier_release_is_verified() -> None:
    result = judge(signed_by(GH), history(("1.9", GH), ("1.8", GH)), GH, from_lock=False)
    assert (result.state, result.identity) == (State.VERIFIED, GH)
    assert result.earlier == (f"{GH} (releases 1.9, 1.8; recorded before)",)


@pytest.mark.parametrize(
    "now",
    [
        "github:someone-else/proj/release.yml",  # repository
        "github:org/proj/other.yml",  # workflow
        f"{GH}@pypi",  # environment
        "gitlab:org/proj/.gitlab-ci.yml",  # kind
    ],
)
def test_a_newest_release_with_another_publisher_than_its_history_is_drift(now: str) -> None:
    result = judge(signed_by(now), history(("1.9", GH), ("1.8", GH)), None, from_lock=False)
    assert result.state is State.DRIFT
    assert result.reasons == (f"the publisher changed: earlier {GH} (releases 1.9, 1.8), now {now}",)
    accepted = judge(signed_by(now), history(("1.9", GH)), None, from_lock=False,
                     accepted_identities=frozenset({now}))  # fmt: skip
    assert accepted.state is State.VERIFIED
    assert "which the verify policy accepts" in accepted.reasons[0]


def test_provenance_lost_or_never_had() -> None:
    none = found(Outcome(State.NONE, "404"))
    lost = judge(none, history(("1.9", GH), ("1.8", None)), None, from_lock=False)
    assert lost.state is State.LOST
    assert lost.reasons == ("this release has no provenance; releases 1.9 had provenance",)
    assert judge(none, history(), GH, from_lock=False).state is State.LOST
    assert judge(none, history(("1.9", None)), None, from_lock=False).state is State.NONE


def test_first_use_is_verified_and_an_unread_history_is_not_checked() -> None:
    assert judge(signed_by(GH), history(), None, from_lock=False).state is State.VERIFIED
    unread = judge(signed_by(GH), History(problem="the index answered 503"), None, from_lock=False)
    assert (unread.state, unread.reasons) == (State.UNCHECKED, ("the index answered 503",))
    assert judge(signed_by(GH), None, None, from_lock=False).state is State.UNCHECKED


def test_the_index_check_comes_first() -> None:
    wrong = found(Outcome(State.VERIFIED, identity=GH), Outcome(State.FAILED, "another sha256"))
    assert judge(wrong, history(("1.9", GH)), GH, from_lock=False).state is State.FAILED


ESCAPING = b'{"files": [{"filename": "../x.tar.gz", "url": "/x", "hashes": {}}]}'


@pytest.mark.parametrize("page", [b"not json", b'{"files": "nope"}', b"[" * 5000, ESCAPING])
def test_a_hostile_index_page_leaves_the_file_not_checked(
    page: bytes, index: Index, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOUCH_CACHE_DIR", str(tmp_path / "cache"))
    served = index.add("proj", "1.0", "proj-1.0.tar.gz", b"bytes")
    index.server.answer("/simple/proj/", page)
    lock = write_lock(tmp_path, "pylock", [served])
    code, report = verify(lock, index, f"sqlite:///{tmp_path / 'r.sqlite'}", "--workers", "1")
    assert code == 3
    assert states(report) == {"proj-1.0.tar.gz": "not checked"}
    assert "is not PEP 691 JSON" in report["files"][0]["reasons"][0]
    assert report["counts"]["verified"] == 0


def test_a_run_reads_each_projects_page_once_and_the_next_run_reads_it_again(
    index: Index, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOUCH_CACHE_DIR", str(tmp_path / "cache"))
    served = [index.add("proj", "1.0", name, name.encode()) for name in
              ("proj-1.0.tar.gz", "proj-1.0-py3-none-any.whl", "proj-1.0-py2-none-any.whl")]  # fmt: skip
    lock = write_lock(tmp_path, "pylock", served)
    _, first = verify(lock, index, f"sqlite:///{tmp_path / 'a.sqlite'}", "--workers", "1", "--history", "0")
    assert set(states(first)) == {s.filename for s in served}
    # the three file checks share one read of the page (they made three before); the history
    # task reads it once more for the project's earlier releases
    assert len(index.requests_for("/simple/proj/")) == 2
    index.remove_provenance("never-listed")  # any change of the server between runs
    index.add("proj", "1.0", "proj-1.0-py3-none-any.whl", b"other bytes")  # the wheel is replaced
    _, second = verify(lock, index, f"sqlite:///{tmp_path / 'b.sqlite'}", "--workers", "1", "--history", "0")
    assert len(index.requests_for("/simple/proj/")) == 4  # a new run reads the page again
    assert states(second)["proj-1.0-py3-none-any.whl"] == "failed"  # and sees the replaced file
