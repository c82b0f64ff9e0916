"""`vouch sign` and the k-of-n `vouch check`, with real SSH and OpenPGP keys, and every attack."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import intree
from tests.clirun import run
from tests.gitrepo import make_repo
from tests.keys import GpgKey, gpg_key, ssh_agent_holding, ssh_key
from tests.recording import Recorder
from tests.reproduce import second_machine_clone
from vouch.errors import ToolError
from vouch.host import Host, run_process
from vouch.sign.ssh import NAMESPACE, SSHSigner

WHEEL = "demo_intree-1.0-py3-none-any.whl"
SDIST = "demo_intree-1.0.tar.gz"
EVIDENCE = "demo_intree-1.0.intoto.jsonl"


@dataclass
class Release:
    root: Path
    dist: Path
    record: Path
    rebuild_record: Path
    alice: Path
    carol: Path
    mallory: Path
    bob: GpgKey

    @property
    def artifacts(self) -> list[str]:
        return [str(self.dist / SDIST), str(self.dist / WHEEL)]

    @property
    def evidence(self) -> Path:
        return self.dist / EVIDENCE

    def policy(self, threshold: int, *, extra: str = "", require: str = "", alice_extra: str = "") -> Path:
        def pub(key: Path) -> str:
            return " ".join(key.with_name(key.name + ".pub").read_text().split()[:2])

        text = f"""# the release team
threshold = {threshold}
{require}
[[signers]]
name = "alice"
roles = ["releaser"]
ssh-key = "{pub(self.alice)}"
{alice_extra}
[[signers]]
name = "bob"
roles = ["releaser"]
openpgp-fingerprint = "{self.bob.fingerprint}"
openpgp-key-file = "keys/bob.asc"

[[signers]]
name = "carol"
roles = ["ci"]
ssh-key = "{pub(self.carol)}"
{extra}"""
        path = self.root / "vouch.toml"
        path.write_text(text)
        return path


@pytest.fixture
def release(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Release]:
    """Laptop A builds, laptop B rebuilds from its own clone (and writes its record)."""
    make_repo(tmp_path / "laptop-a", intree.files())
    assert run(["build", str(tmp_path / "laptop-a"), "--out", str(tmp_path / "dist")], capsys)[0] == 0
    second_machine_clone(tmp_path / "laptop-a", tmp_path / "laptop-b")
    record = tmp_path / "dist" / "demo_intree-1.0.buildinfo.json"
    rebuild_record = tmp_path / "laptop-b.rebuild.json"
    code, _, err = run(
        ["rebuild", str(record), "--source", str(tmp_path / "laptop-b"), "--record", str(rebuild_record)],
        capsys,
    )
    assert code == 0, err
    keys = tmp_path / "keys"
    with gpg_key("bob", keys) as bob:
        monkeypatch.setenv("GNUPGHOME", str(bob.home))
        yield Release(
            root=tmp_path,
            dist=tmp_path / "dist",
            record=record,
            rebuild_record=rebuild_record,
            alice=ssh_key(keys, "alice"),
            carol=ssh_key(keys, "carol"),
            mallory=ssh_key(keys, "mallory"),
            bob=bob,
        )


def sign(release: Release, source: Path, key: str, capsys: pytest.CaptureFixture[str], *extra: str) -> None:
    code, _, err = run(
        ["sign", str(source), "--key", key, "--evidence", str(release.evidence), *extra], capsys
    )
    assert code == 0, err


def check(release: Release, capsys: pytest.CaptureFixture[str], policy: Path) -> tuple[int, dict[str, Any]]:
    code, out, _ = run(["check", *release.artifacts, "--policy", str(policy), "--json"], capsys)
    return code, json.loads(out)


def test_two_laptops_sign_and_the_gate_counts_them(
    release: Release, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # alice signs through a real ssh-agent: only her public key is on disk for vouch
    with ssh_agent_holding(release.alice) as agent:
        for name, value in agent.items():
            monkeypatch.setenv(name, value)
        hidden = release.alice.rename(release.alice.with_name("alice-offline"))
        sign(release, release.record, f"ssh:{release.alice}.pub", capsys, "--role", "releaser")
        hidden.rename(release.alice)
    sign(release, release.rebuild_record, f"gpg:{release.bob.fingerprint}", capsys, "--role", "releaser")
    assert len(release.evidence.read_text().splitlines()) == 2

    code, report = check(release, capsys, release.policy(2))
    assert code == 0, report
    assert report["passed"] is True
    assert [a["vouched_by"] for a in report["artifacts"]] == [["alice", "bob"], ["alice", "bob"]]
    assert len(report["commits"]) == 1

    code, report = check(release, capsys, release.policy(3))
    assert code == 1
    assert report["artifacts"][0]["missing"] == ["1 more trusted signer(s) (have 2 of 3)"]

    code, report = check(release, capsys, release.policy(2, require="[require]\nci = 1"))
    assert code == 1
    assert "role ci: 1 more (have 0 of 1)" in report["artifacts"][1]["missing"]

    vsa = release.root / "vsa.json"
    code, _, _ = run(
        ["check", *release.artifacts, "--policy", str(release.policy(2)), "--vsa", str(vsa)], capsys
    )
    assert code == 0
    summary = json.loads(vsa.read_text())
    assert summary["predicateType"] == "https://slsa.dev/verification_summary/v1"
    assert summary["predicate"]["verificationResult"] == "PASSED"
    assert len(summary["predicate"]["inputAttestations"]) == 2


def test_tampered_artifact_is_a_loud_conflict(release: Release, capsys: pytest.CaptureFixture[str]) -> None:
    sign(release, release.record, f"ssh:{release.alice}", capsys)
    sign(release, release.rebuild_record, f"ssh:{release.carol}", capsys)
    wheel = release.dist / WHEEL
    wheel.write_bytes(wheel.read_bytes() + b"\0")
    code, report = check(release, capsys, release.policy(2))
    assert code == 1
    conflicts = report["artifacts"][1]["conflicts"]
    assert len(conflicts) == 2
    assert all(WHEEL in c for c in conflicts)
    assert report["artifacts"][1]["vouched_by"] == []


def envelope_lines(release: Release) -> list[dict[str, Any]]:
    return [json.loads(line) for line in release.evidence.read_text().splitlines()]


def write_lines(release: Release, lines: list[Any]) -> None:
    release.evidence.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    )


def test_forged_payload_is_rejected(release: Release, capsys: pytest.CaptureFixture[str]) -> None:
    sign(release, release.record, f"ssh:{release.alice}", capsys)
    (envelope,) = envelope_lines(release)
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["role"] = "ci"
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    write_lines(release, [envelope])
    code, report = check(release, capsys, release.policy(1))
    assert code == 1
    assert [r["reason"] for r in report["rejected"]] == [
        "bad signature (payload or signature altered)",
        "no trusted signer's valid signature",
    ]


def test_unknown_key_is_rejected(release: Release, capsys: pytest.CaptureFixture[str]) -> None:
    sign(release, release.record, f"ssh:{release.mallory}", capsys)
    code, report = check(release, capsys, release.policy(1))
    assert code == 1
    assert report["rejected"][0]["reason"].startswith("signature by unknown key SHA256:")


def test_same_signer_twice_counts_once(release: Release, capsys: pytest.CaptureFixture[str]) -> None:
    sign(release, release.record, f"ssh:{release.alice}", capsys)
    sign(release, release.rebuild_record, f"ssh:{release.alice}", capsys)
    code, report = check(release, capsys, release.policy(2))
    assert code == 1
    assert report["artifacts"][0]["vouched_by"] == ["alice"]


def test_same_signer_with_two_keys_counts_once(
    release: Release, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with gpg_key("alice", release.root / "keys") as alice_gpg:
        second_key = f'openpgp-fingerprint = "{alice_gpg.fingerprint}"\nopenpgp-key-file = "keys/alice.asc"'
        policy = release.policy(2, alice_extra=second_key)
        sign(release, release.record, f"ssh:{release.alice}", capsys)
        monkeypatch.setenv("GNUPGHOME", str(alice_gpg.home))
        sign(release, release.rebuild_record, f"gpg:{alice_gpg.fingerprint}", capsys)
        code, report = check(release, capsys, policy)
    assert code == 1
    assert report["artifacts"][0]["vouched_by"] == ["alice"]
    assert report["artifacts"][0]["missing"] == ["1 more trusted signer(s) (have 1 of 2)"]


def test_one_key_for_two_signers_is_a_configuration_error(
    release: Release, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = f'openpgp-fingerprint = "{release.bob.fingerprint}"\nopenpgp-key-file = "keys/bob.asc"'
    policy = release.policy(2, alice_extra=shared)
    code, _, err = run(["check", *release.artifacts, "--policy", str(policy)], capsys)
    assert code == 2
    assert f"bob and alice share the key openpgp {release.bob.fingerprint.upper()}" in err


def test_statement_for_other_files_is_rejected(release: Release, capsys: pytest.CaptureFixture[str]) -> None:
    sdist = release.dist / SDIST
    other = release.root / "demo_intree-0.9.tar.gz"
    other.write_bytes(sdist.read_bytes())
    commit = "a" * 40
    run(["sign", str(other), "--key", f"ssh:{release.alice}", "--source-commit", commit,
         "--evidence", str(release.evidence)], capsys)  # fmt: skip
    code, report = check(release, capsys, release.policy(1))
    assert code == 1
    assert "subjects differ from the artifacts" in report["rejected"][0]["reason"]
    assert "demo_intree-0.9.tar.gz" in report["rejected"][0]["reason"]


@pytest.mark.parametrize("change", ["extra", "missing"])
def test_extra_or_missing_subjects_are_rejected(
    change: str, release: Release, capsys: pytest.CaptureFixture[str]
) -> None:
    files = (
        [release.dist / SDIST]
        if change == "missing"
        else [release.dist / SDIST, release.dist / WHEEL, release.record]
    )
    run(["sign", *map(str, files), "--key", f"ssh:{release.alice}", "--source-commit", "b" * 40,
         "--evidence", str(release.evidence)], capsys)  # fmt: skip
    code, report = check(release, capsys, release.policy(1))
    assert code == 1
    reason = report["rejected"][0]["reason"]
    assert ("does not name" in reason) if change == "missing" else ("names other files" in reason)


def test_wrong_payload_type_is_rejected(release: Release, capsys: pytest.CaptureFixture[str]) -> None:
    sign(release, release.record, f"ssh:{release.alice}", capsys)
    (envelope,) = envelope_lines(release)
    envelope["payloadType"] = "application/json"
    write_lines(release, [envelope])
    code, report = check(release, capsys, release.policy(1))
    assert code == 1
    assert "payloadType 'application/json'" in report["rejected"][0]["reason"]


def test_wrong_ssh_namespace_is_rejected(release: Release, capsys: pytest.CaptureFixture[str]) -> None:
    sign(release, release.record, f"ssh:{release.alice}", capsys)
    (envelope,) = envelope_lines(release)
    payload = base64.b64decode(envelope["payload"])
    pae = b"DSSEv1 %d %b %d %b" % (28, b"application/vnd.in-toto+json", len(payload), payload)
    armored = subprocess.run(["ssh-keygen", "-Y", "sign", "-q", "-f", str(release.alice), "-n", "git"],
                             input=pae, capture_output=True, check=True).stdout.decode()  # fmt: skip
    raw = base64.b64decode("".join(armored.strip().splitlines()[1:-1]))
    envelope["signatures"][0]["sig"] = base64.b64encode(raw).decode()
    write_lines(release, [envelope])
    code, report = check(release, capsys, release.policy(1))
    assert code == 1
    assert report["rejected"][0]["reason"] == "bad signature (payload or signature altered)"


def test_key_outside_its_validity_window(release: Release, capsys: pytest.CaptureFixture[str]) -> None:
    sign(release, release.record, f"ssh:{release.alice}", capsys)
    policy = release.policy(1, alice_extra="valid-before = 2020-01-01T00:00:00Z")
    code, report = check(release, capsys, policy)
    assert code == 1
    assert report["rejected"][0]["reason"].startswith("alice's key is not valid at")


def test_malformed_lines_are_reported_and_do_not_hide_good_ones(
    release: Release, capsys: pytest.CaptureFixture[str]
) -> None:
    sign(release, release.record, f"ssh:{release.alice}", capsys)
    sign(release, release.rebuild_record, f"gpg:{release.bob.fingerprint}", capsys)
    good = release.evidence.read_text().splitlines()
    write_lines(release, ["{not json", good[0], '{"payload": "x"}', "[]", good[1]])
    code, report = check(release, capsys, release.policy(2))
    assert code == 0
    assert [r["evidence"].rsplit(":", 1)[1] for r in report["rejected"]] == ["1", "3", "4"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("threshold = 1\n", "trusts no signers"),
        (
            'threshold = 0\n[[signers]]\nname = "a"\nssh-key = "{key}"\n',
            "threshold must be an integer of at least 1",
        ),
        (
            'threshold = 2\n[[signers]]\nname = "a"\nssh-key = "{key}"\n',
            "threshold 2 exceeds the 1 trusted signers",
        ),
        (
            'threshold = 1\nthreshhold = 1\n[[signers]]\nname = "a"\nssh-key = "{key}"\n',
            "unknown policy keys",
        ),
        ('threshold = 1\n[[signers]]\nname = "a"\n', "signer a has no key"),
    ],
)
def test_bad_policy_is_a_configuration_error(
    body: str, message: str, release: Release, capsys: pytest.CaptureFixture[str]
) -> None:
    key = " ".join(release.alice.with_name("alice.pub").read_text().split()[:2])
    policy = release.root / "bad.toml"
    policy.write_text(body.replace("{key}", key))
    code, _, err = run(["check", *release.artifacts, "--policy", str(policy)], capsys)
    assert code == 2
    assert message in err


def test_policy_show_and_add_signer_keep_comments(
    release: Release, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = release.policy(2)
    add = ["policy", "add-signer", "--policy", str(policy), "--name", "dave"]
    code, out, _ = run([*add, "--role", "releaser", "--ssh-key-file", f"{release.mallory}.pub"], capsys)
    assert code == 0
    text = policy.read_text()
    assert text.startswith("# the release team\n")
    code, out, _ = run(["policy", "show", "--policy", str(policy), "--json"], capsys)
    assert code == 0
    shown = json.loads(out)
    assert [s["name"] for s in shown["signers"]] == ["alice", "bob", "carol", "dave"]
    code, _, err = run(["policy", "add-signer", "--policy", str(policy), "--name", "dave",
                        "--ssh-key-file", f"{release.mallory}.pub"], capsys)  # fmt: skip
    assert code == 2
    assert "exists already" in err
    assert policy.read_text() == text


SIGSTORE_BUNDLE = (
    Path(__file__).parent / "fixtures" / "sigstore" / "pypi_attestation_models-0.0.4a2.tar.gz.sigstore"
)
SIGSTORE_SDIST_SHA256 = "c9709ce6fd5b67b59b4a28758cf14d3f411803c4b89b6068b1f1a8e4ee94c8ef"
WORKFLOWS = "https://github.com/trailofbits/pypi-attestation-models/.github/workflows/"


@pytest.mark.network
@pytest.mark.usefixtures("pep740_assets")
@pytest.mark.parametrize(
    ("identity", "passes"),
    [(WORKFLOWS + "release.yml@refs/tags/*", True), (WORKFLOWS + "wrong.yml@refs/tags/*", False)],
)
def test_real_sigstore_bundle_is_verified_under_an_identity_policy(
    identity: str, passes: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bundle is a PEP 740 publish attestation: under the right identity it verifies, and
    is then rejected as not a vouch (issue 11: only vouch's own predicates count)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
         "--dest", str(tmp_path), "pypi-attestation-models==0.0.4a2"],
        check=True, capture_output=True,
    )  # fmt: skip
    sdist = tmp_path / "pypi_attestation_models-0.0.4a2.tar.gz"
    assert hashlib.sha256(sdist.read_bytes()).hexdigest() == SIGSTORE_SDIST_SHA256
    evidence = tmp_path / "evidence.jsonl"
    evidence.write_text(json.dumps(json.loads(SIGSTORE_BUNDLE.read_text())) + "\n")
    policy = tmp_path / "vouch.toml"
    policy.write_text(
        f'threshold = 1\n[[signers]]\nname = "ci"\nroles = ["ci"]\nsigstore-identity = "{identity}"\n'
        'sigstore-issuer = "https://token.actions.githubusercontent.com"\n'
    )
    code, out, _ = run(
        ["check", str(sdist), "--evidence", str(evidence), "--policy", str(policy), "--json"], capsys
    )
    report = json.loads(out)
    assert code == 1
    assert report["artifacts"][0]["vouched_by"] == []
    reason = report["rejected"][0]["reason"]
    if passes:
        assert (
            reason
            == "not a vouch: predicate type https://docs.pypi.org/attestations/publish/v1 is not a vouch"
        )
    else:
        assert "verifies under no trusted identity" in reason


def test_sigstore_signing_without_an_ambient_credential_says_how_to_grant_one(
    release: Release, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ambient = ["GITHUB_ACTIONS", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"]
    ambient += ["SIGSTORE_ID_TOKEN", "GOOGLE_SERVICE_ACCOUNT_NAME", "GITLAB_CI", "BUILDKITE", "CIRCLECI"]
    for name in ambient:
        monkeypatch.delenv(name, raising=False)
    code, _, err = run(
        ["sign", str(release.record), "--key", "sigstore", "--evidence", str(release.evidence)], capsys
    )
    assert code == 3
    assert "no ambient OIDC credential" in err
    assert "id-token: write" in err
    assert not release.evidence.exists()


def test_policy_may_hold_the_doctor_baseline(release: Release, capsys: pytest.CaptureFixture[str]) -> None:
    sign(release, release.record, f"ssh:{release.alice}", capsys)
    policy = release.policy(1, extra="\n[baseline]\nrequire-disk-encryption = true\n")
    code, report = check(release, capsys, policy)
    assert code == 0, report


def test_statements_naming_different_commits_fail_the_check(
    release: Release, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, commit in ((release.alice, "a" * 40), (release.carol, "b" * 40)):
        code, _, err = run(["sign", *release.artifacts, "--key", f"ssh:{key}", "--source-commit", commit,
                            "--evidence", str(release.evidence)], capsys)  # fmt: skip
        assert code == 0, err
    code, report = check(release, capsys, release.policy(2))
    assert code == 1
    assert [a["vouched_by"] for a in report["artifacts"]] == [["alice", "carol"], ["alice", "carol"]]
    assert report["problems"] == [f"the accepted statements name different commits: {['a' * 40, 'b' * 40]}"]


def test_ssh_signing_asks_ssh_keygen_with_vouchs_namespace(tmp_path: Path) -> None:
    key = ssh_key(tmp_path, "alice")
    runner = Recorder(through=run_process)
    signer = SSHSigner(key, host=runner.host())
    signature = signer.sign(b"the statement")
    (call,) = runner.calls
    assert Path(call.argv[0]).name == "ssh-keygen"
    assert call.argv[1:] == ("-Y", "sign", "-q", "-f", str(key), "-n", NAMESPACE)
    assert call.stdin == b"the statement"
    signer.public_key.verify_signature(signature, b"the statement")  # in-process, no second call
    assert len(runner.calls) == 1


def test_ssh_signing_without_ssh_keygen_is_a_tool_error_that_says_how_to_get_it(tmp_path: Path) -> None:
    key = ssh_key(tmp_path, "alice")
    with pytest.raises(ToolError, match="ssh-keygen is not installed") as caught:
        SSHSigner(key, host=Host(find=lambda name: None)).sign(b"the statement")
    assert caught.value.hint == "install OpenSSH"
