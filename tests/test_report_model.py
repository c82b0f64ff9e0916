"""The data `vouch report` renders: each section's status (passed / failed / not checked) and its
reason, computed from what the library returns; hostile report files refused; strings escaped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vouch.cli import main
from vouch.report.gather import ReportInputs, gather
from vouch.report.model import Outcome, Status, combine, overall
from vouch.report.render import render_html
from vouch.report.sections import (
    named_digests,
    provenance_files,
    provenance_outcome,
    rebuild_run,
    rebuilds_outcome,
)

SDIST, WHEEL = "demo-1.0.tar.gz", "demo-1.0-py3-none-any.whl"
HOSTILE = "demo-1.0/<script>alert(1)</script>"


def verdict(filename: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "filename": filename,
        "published_sha256": "a" * 64,
        "rebuilt_sha256": "a" * 64 if kind == "bit-identical" else "b" * 64,
        "verdict": kind,
        "normalizations": [],
        "differences": [],
        "note": "",
        **extra,
    }


def rebuild(*artifacts: dict[str, Any]) -> dict[str, Any]:
    return {
        "verdict": "x",
        "recipe": {"source": {"commit": "c" * 40}, "source_date_epoch": 1700000000},
        "artifacts": list(artifacts),
        "warnings": [],
    }


def test_combine_and_overall_fail_closed() -> None:
    assert combine([]) is Status.NOT_CHECKED
    assert combine([Status.PASSED, Status.NOT_CHECKED]) is Status.NOT_CHECKED
    assert combine([Status.NOT_CHECKED, Status.FAILED, Status.PASSED]) is Status.FAILED
    passed, unchecked = Outcome(Status.PASSED, "ok"), Outcome(Status.NOT_CHECKED, "no input")
    sections = [("quorum", "Quorum", passed), ("provenance", "Provenance", unchecked)]
    # a section without an input is named, and does not block a pass
    result = overall(sections, given={"quorum"})
    assert result.status is Status.PASSED
    assert "not checked (no input given): Provenance" in result.reason
    # an input that was given and could not be checked blocks it
    assert overall(sections, given={"quorum", "provenance"}).status is Status.NOT_CHECKED
    # the quorum always counts, given or not
    assert overall([("quorum", "Quorum", unchecked)], given=set()).status is Status.NOT_CHECKED
    failed = overall([*sections, ("rebuilds", "Rebuilds", Outcome(Status.FAILED, "different"))], given=set())
    assert failed == Outcome(Status.FAILED, "Rebuilds: different")


def test_rebuild_verdicts_become_statuses_with_reasons() -> None:
    run = rebuild_run(rebuild(verdict(SDIST, "bit-identical"), verdict(WHEEL, "equivalent")), "r.json")
    assert run.commit == "c" * 40
    assert run.source_date_epoch == 1700000000
    statuses = {a.filename: a.outcome.status for a in run.artifacts}
    assert statuses == {SDIST: Status.PASSED, WHEEL: Status.FAILED}
    outcome = rebuilds_outcome([run], [], [SDIST, WHEEL])
    assert outcome.status is Status.FAILED
    assert "equivalent, not bit-identical" in outcome.reason
    accepted = rebuild_run(
        rebuild(verdict(SDIST, "bit-identical"), verdict(WHEEL, "equivalent")),
        "r.json",
        accept_equivalent=True,
    )
    assert rebuilds_outcome([accepted], [], [SDIST, WHEEL]).status is Status.PASSED
    # an artifact no rebuild covers is not checked, never passed
    only_sdist = rebuild_run(rebuild(verdict(SDIST, "bit-identical")), "r.json")
    outcome = rebuilds_outcome([only_sdist], [], [SDIST, WHEEL])
    assert outcome == Outcome(Status.NOT_CHECKED, f"{WHEEL}: no rebuild verdict")
    assert rebuilds_outcome([], [], [SDIST]).status is Status.NOT_CHECKED


def test_a_different_rebuild_keeps_its_members_and_diff_lines() -> None:
    difference = {
        "member": HOSTILE,
        "aspects": ["content"],
        "content": {
            "a": {"size": 1},
            "b": {"size": 2},
            "diff": ["--- a/x", "+++ b/x", "@@ -1 +1 @@", "-old", "+new", " same"],
        },
    }
    run = rebuild_run(rebuild(verdict(SDIST, "different", differences=[difference], note="why")), "r.json")
    (artifact,) = run.artifacts
    assert artifact.outcome == Outcome(Status.FAILED, "different: 1 member(s) differ (why)")
    (member,) = artifact.differences
    assert member.member == HOSTILE
    assert [line.kind for line in member.diff] == ["head", "head", "hunk", "del", "add", "same"]
    assert "diff" not in member.details
    assert '"size": 1' in member.details


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "not a vouch rebuild report"),
        ({"artifacts": []}, "'verdict' is missing"),
        ({"verdict": "x", "artifacts": "no"}, "artifacts is not a list of objects"),
        ({"verdict": "x", "artifacts": [{"filename": 3, "verdict": "x"}]}, "'filename' is missing"),
        (
            rebuild(verdict(SDIST, "different", differences=[{"member": ["x"], "aspects": []}])),
            "'member' is not",
        ),
        (
            rebuild(verdict(SDIST, "different", differences=[{"member": "x", "aspects": "content"}])),
            "is not a list",
        ),
    ],
)
def test_a_malformed_rebuild_report_is_refused(document: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rebuild_run(document, "r.json")


def test_provenance_verified_failed_missing_and_claims() -> None:
    document = {
        "publisher": {"spec": "github:o/r/release.yml@pypi"},
        "trust_root": "prod",
        "files": [
            {
                "filename": SDIST,
                "sha256": "a" * 64,
                "status": "verified",
                "reason": None,
                "attestations": [
                    {
                        "source": "index",
                        "verified": True,
                        "predicate_type": "https://docs.pypi.org/attestations/publish/v1",
                        "signer": "https://github.com/o/r/.github/workflows/release.yml@refs/tags/1.0",
                    }
                ],
                "publisher_claims": ["GitHub o/r release.yml, environment pypi"],
            },
            {
                "filename": WHEEL,
                "sha256": "b" * 64,
                "status": "no provenance",
                "reason": "the index has none",
            },
        ],
    }
    root, files = provenance_files(document, "p.json")
    assert root == "prod"
    sdist, wheel = files
    assert sdist.outcome.status is Status.PASSED
    assert sdist.publisher == "github:o/r/release.yml@pypi"
    assert sdist.verified[0].endswith(
        "signed by https://github.com/o/r/.github/workflows/release.yml@refs/tags/1.0"
    )
    assert sdist.claims == ("GitHub o/r release.yml, environment pypi",)
    assert wheel.outcome == Outcome(Status.FAILED, "no provenance: the index has none")
    assert provenance_outcome(files, [], [SDIST, WHEEL], given=True).status is Status.FAILED
    assert provenance_outcome([sdist], [], [SDIST, WHEEL], given=True) == Outcome(
        Status.NOT_CHECKED, f"{WHEEL}: not in the provenance report"
    )
    assert provenance_outcome([sdist], [], [SDIST], given=True).status is Status.PASSED
    assert provenance_outcome([], [], [SDIST], given=False).status is Status.NOT_CHECKED
    # what a report names for a file is compared with the file itself
    assert (SDIST, "a" * 64, "the provenance report") in named_digests([], files)


def test_gather_without_a_policy_is_not_checked_and_names_the_mismatch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / SDIST).write_bytes(b"sdist")
    report = tmp_path / "r.json"
    report.write_text(json.dumps(rebuild(verdict(SDIST, "bit-identical"))))  # names sha256 "a"*64
    page = gather(ReportInputs((tmp_path / SDIST,), rebuild_json=(report,)))
    assert page.quorum.outcome.status is Status.NOT_CHECKED
    assert page.quorum.outcome.reason.startswith("no policy:")
    assert page.artifacts.outcome.status is Status.FAILED
    assert f"names sha256 {'a' * 64} for {SDIST}" in page.artifacts.outcome.reason
    assert page.outcome.status is Status.FAILED
    assert page.to_json()["passed"] is False
    # the command writes the page all the same, and exits 1
    out = tmp_path / "page.html"
    assert main(["report", str(tmp_path / SDIST), "--rebuild-json", str(report), "--out", str(out)]) == 1
    assert out.read_text().count("FAILED") >= 2
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    page = gather(ReportInputs((tmp_path / SDIST,), rebuild_json=(garbage,)))
    assert page.rebuilds.outcome.status is Status.NOT_CHECKED
    assert f"cannot read {garbage}" in page.rebuilds.outcome.reason


def test_every_input_string_is_escaped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / SDIST).write_bytes(b"sdist")
    difference = {
        "member": HOSTILE,
        "aspects": ["content"],
        "content": {"diff": ["+<script>alert(2)</script>"]},
    }
    report = tmp_path / "r.json"
    report.write_text(
        json.dumps(rebuild(verdict(SDIST, "different", differences=[difference], note="<b onmouseover=x>")))
    )
    html = render_html(gather(ReportInputs((tmp_path / SDIST,), rebuild_json=(report,))))
    assert "<script" not in html
    assert "<b onmouseover" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "+&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert "default-src 'none'" in html  # the page may load nothing and run nothing
    assert "http://" not in html
    assert "https://" not in html
