"""`vouch check` refuses what is not a vouch: other predicates, statements without a commit,
subjects that are not plain file names, roles the policy does not grant, hostile envelopes and
JSON. Every statement here is signed with a real SSH key, then crafted as an attacker would."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import pytest

from tests.attack import COMMIT, Small, small_release
from vouch.doctor.report import DOCTOR_PREDICATE
from vouch.intoto import BUILD_TYPE, PROVENANCE_TYPE
from vouch.policy.vsa import VSA_TYPE


@pytest.fixture
def small(tmp_path: Path) -> Small:
    return small_release(tmp_path)


def test_a_plain_vouch_passes(small: Small, capsys: pytest.CaptureFixture[str]) -> None:
    small.sign(small.statement())
    code, report, _ = small.check(capsys)
    assert code == 0, report
    assert report["commits"] == [COMMIT]


@pytest.mark.parametrize(
    ("predicate_type", "predicate"),
    [
        (VSA_TYPE, {"verificationResult": "FAILED", "verifiedLevels": []}),
        (DOCTOR_PREDICATE, {"version": 1, "passed": False, "checks": []}),
        ("https://docs.pypi.org/attestations/publish/v1", None),
        (PROVENANCE_TYPE, {"buildDefinition": {"buildType": "https://example.org/other"}}),
    ],
)
def test_other_predicates_are_not_vouches(
    predicate_type: str, predicate: object, small: Small, capsys: pytest.CaptureFixture[str]
) -> None:
    small.sign(small.statement(predicate_type, predicate if predicate is not None else {}))
    code, report, _ = small.check(capsys)
    assert code == 1
    (rejection,) = report["rejected"]
    assert rejection["signer"] == "alice"
    assert rejection["reason"].startswith("not a vouch: ")
    shown = "https://example.org/other" if predicate_type == PROVENANCE_TYPE else predicate_type
    assert shown in rejection["reason"]
    assert report["artifacts"][0]["vouched_by"] == []


def test_a_signed_build_record_is_a_vouch(small: Small, capsys: pytest.CaptureFixture[str]) -> None:
    predicate = {"buildDefinition": {"buildType": BUILD_TYPE,
                                     "externalParameters": {"source": {"commit": COMMIT}}}}  # fmt: skip
    small.sign(small.statement(PROVENANCE_TYPE, predicate))
    code, report, _ = small.check(capsys)
    assert code == 0, report
    assert report["commits"] == [COMMIT]


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ({"repository": None}, "names no source commit"),
        ({"repository": None, "commit": None}, "names no source commit"),
        ({"commit": "abc123"}, "not a full lowercase hex SHA"),
        ({"commit": 40}, "not a full lowercase hex SHA"),
        (None, "names no source commit"),
    ],
)
def test_a_statement_without_a_commit_is_rejected(
    source: object, reason: str, small: Small, capsys: pytest.CaptureFixture[str]
) -> None:
    small.sign(small.statement(predicate={"source": source, "role": None}))
    small.sign(small.statement(), key="carol")  # a good statement: the commit set is not empty
    code, report, _ = small.check(capsys, policy=small.policy(2))
    assert code == 1
    assert reason in report["rejected"][0]["reason"]
    assert report["artifacts"][0]["vouched_by"] == ["carol"]


@pytest.mark.parametrize("name", ["../demo-1.0.tar.gz", "/srv/demo-1.0.tar.gz", "dist\\demo-1.0.tar.gz",
                                  "demo-1.0.tar.gz\0", "", "..", "a/../demo-1.0.tar.gz"])  # fmt: skip
def test_subjects_must_be_plain_file_names(
    name: str, small: Small, capsys: pytest.CaptureFixture[str]
) -> None:
    statement = small.statement()
    statement["subject"][0]["name"] = name
    small.sign(statement)
    code, report, _ = small.check(capsys)
    assert code == 1
    assert "is not a plain file name" in report["rejected"][0]["reason"]


@pytest.mark.parametrize(
    "digest", [{"sha256": "A" * 64}, {"sha256": "a" * 63}, {"sha512": "a" * 128}, {"sha256": 5}, "x"]
)
def test_digests_must_be_well_formed(
    digest: object, small: Small, capsys: pytest.CaptureFixture[str]
) -> None:
    statement = small.statement()
    statement["subject"][0]["digest"] = digest
    small.sign(statement)
    code, report, _ = small.check(capsys)
    assert code == 1
    assert report["rejected"][0]["reason"].startswith("malformed: subject demo-1.0")


def test_a_role_the_policy_does_not_grant_is_rejected(
    small: Small, capsys: pytest.CaptureFixture[str]
) -> None:
    small.sign(small.statement(predicate={"source": {"commit": COMMIT}, "role": "ci"}))
    code, report, _ = small.check(capsys, policy=small.policy(1, "[require]\nci = 1\n"))
    assert code == 1
    assert report["rejected"] == [
        {"evidence": f"{small.evidence}:1", "signer": "alice",
         "reason": "signed as 'ci', a role the policy does not grant alice"}
    ]  # fmt: skip


def test_duplicate_keys_in_a_signed_payload_are_rejected(
    small: Small, capsys: pytest.CaptureFixture[str]
) -> None:
    text = json.dumps(small.statement())
    small.sign(text.replace('"_type"', '"predicateType": "x", "_type"', 1).encode())
    code, report, _ = small.check(capsys)
    assert code == 1
    assert "appears twice" in report["rejected"][0]["reason"]


def test_deep_nesting_is_refused_in_one_line(small: Small, capsys: pytest.CaptureFixture[str]) -> None:
    small.sign(small.statement())
    deep_payload = b"[" * 100000 + b"]" * 100000
    small.sign(deep_payload, key="carol")
    with small.evidence.open("a") as stream:
        stream.write("[" * 100000 + "\n")
        stream.write('{"a":' * 50 + "1" + "}" * 50 + "\n")
    code, report, err = small.check(capsys)
    assert code == 0, report  # alice's line still counts
    reasons = [r["reason"] for r in report["rejected"]]
    assert len(reasons) == 3
    assert all("nested deeper than 32 levels" in reason or "bytes of JSON" in reason for reason in reasons)
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda e: e["signatures"][0].pop("sig"), "a signature's sig is not a base64 string"),
        (lambda e: e["signatures"][0].update(sig=5), "a signature's sig is not a base64 string"),
        (lambda e: e["signatures"][0].update(keyid=["x"]), "a signature has no keyid"),
        (lambda e: e.update(payload=None), "the payload is not a base64 string"),
        (lambda e: e.update(payloadType=["x"]), "payloadType list is not"),
        (lambda e: e.update(signatures=e["signatures"] * 17), "17 signatures, more than the 16 accepted"),
        (lambda e: e["signatures"].append(dict(e["signatures"][0])), "signs twice"),
        (lambda e: e["signatures"][0].update(other=1), "fields that are not strings"),
    ],
)
def test_hostile_envelopes_are_refused_before_verification(
    tamper: object, reason: str, small: Small, capsys: pytest.CaptureFixture[str]
) -> None:
    envelope = small.sign(small.statement())
    forged = copy.deepcopy(envelope)
    tamper(forged)  # type: ignore[operator]
    small.evidence.write_text(json.dumps(forged) + "\n")
    code, report, err = small.check(capsys)
    assert code == 1
    assert reason in report["rejected"][0]["reason"]
    assert "Traceback" not in err


def test_openpgp_style_key_ids_are_canonical(small: Small) -> None:
    from vouch.sign.envelope import EnvelopeError, canonical_keyid, parse_envelope  # noqa: PLC0415

    fingerprint = "0x" + "AB12 " * 8
    assert canonical_keyid(fingerprint) == "ab12" * 8
    assert canonical_keyid("SHA256:AbC") == "SHA256:AbC"  # base64: case matters
    envelope = small.sign(small.statement())
    signature = envelope["signatures"][0]
    twice = dict(envelope, signatures=[dict(signature, keyid="AB12" * 8), dict(signature, keyid="0xab12" * 1
                                                                               + "ab12" * 7)])  # fmt: skip
    with pytest.raises(EnvelopeError, match="signs twice"):
        parse_envelope(twice)


def test_a_line_of_unknown_base64_payload_is_bad_signature(
    small: Small, capsys: pytest.CaptureFixture[str]
) -> None:
    envelope = small.sign(small.statement())
    statement = small.statement(predicate={"source": {"commit": "d" * 40}, "role": None})
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    small.evidence.write_text(json.dumps(envelope) + "\n")
    code, report, _ = small.check(capsys)
    assert code == 1
    assert report["rejected"][0]["reason"] == "bad signature (payload or signature altered)"
