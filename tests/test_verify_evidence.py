"""`vouch verify` of a release made on laptops: no PEP 740 provenance, but vouch evidence signed by
its release managers (real ssh-keygen keys), checked k-of-n exactly as `vouch check` does, against
the bytes the index serves."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.keys import ssh_key
from tests.verify_index import Index, Served, states, verify, write_lock
from vouch.cli import main

SDIST = "laptop_demo-1.0.tar.gz"
WHEEL = "laptop_demo-1.0-py3-none-any.whl"
COMMIT = "3" * 40


pytestmark = pytest.mark.usefixtures("own_cache")


def release(tmp_path: Path, index: Index) -> list[Served]:
    dist = tmp_path / "dist"
    dist.mkdir()
    served = []
    for name, data in [(SDIST, b"the sdist a Fellow built"), (WHEEL, b"the wheel a Fellow built")]:
        (dist / name).write_bytes(data)
        served.append(index.add("laptop-demo", "1.0", name, data))
    return served


def sign(tmp_path: Path, key: Path, evidence: Path) -> None:
    dist = tmp_path / "dist"
    args = ["sign", str(dist / SDIST), str(dist / WHEEL), "--source-commit", COMMIT,
            "--key", f"ssh:{key}", "--evidence", str(evidence)]  # fmt: skip
    assert main(args) == 0


def policies(tmp_path: Path, keys: list[Path], evidence: str) -> Path:
    def public(key: Path) -> str:
        return " ".join(key.with_suffix(".pub").read_text().split()[:2])

    signers = "".join(f'[[signers]]\nname = "{key.name}"\nssh-key = "{public(key)}"\n' for key in keys)
    (tmp_path / "vouch.toml").write_text(f"threshold = 2\n{signers}")
    policy = tmp_path / "verify.toml"
    policy.write_text(f'[projects.laptop-demo]\nevidence-policy = "vouch.toml"\nevidence = ["{evidence}"]\n')
    return policy


def test_evidence_for_a_laptop_release_passes_at_the_threshold_and_fails_below(
    tmp_path: Path, index: Index, capsys: pytest.CaptureFixture[str]
) -> None:
    files = release(tmp_path, index)
    alice, bob = ssh_key(tmp_path / "keys", "alice"), ssh_key(tmp_path / "keys", "bob")
    sign(tmp_path, alice, tmp_path / "both.intoto.jsonl")
    sign(tmp_path, bob, tmp_path / "both.intoto.jsonl")
    sign(tmp_path, alice, tmp_path / "alice.intoto.jsonl")
    capsys.readouterr()
    lock = write_lock(tmp_path / "lock", "pylock", files)
    db = f"sqlite:///{tmp_path / 'results.sqlite'}"

    code, report = verify(lock, index, db, "--workers", "1")
    assert (code, set(states(report).values())) == (1, {"no provenance"})

    code, report = verify(lock, index, db, "--workers", "1", "--policy",
                          str(policies(tmp_path, [alice, bob], "both.intoto.jsonl")))  # fmt: skip
    assert (code, states(report)) == (0, {SDIST: "verified", WHEEL: "verified"})
    assert all("vouched by alice, bob (threshold 2)" in f["reasons"][0] for f in report["files"])

    code, report = verify(lock, index, db, "--workers", "1", "--policy",
                          str(policies(tmp_path, [alice, bob], "alice.intoto.jsonl")))  # fmt: skip
    assert (code, states(report)) == (1, {SDIST: "failed", WHEEL: "failed"})
    assert all("1 more trusted signer(s) (have 1 of 2)" in f["reasons"][-1] for f in report["files"])


def test_evidence_is_checked_against_what_the_index_serves(tmp_path: Path, index: Index) -> None:
    """The signers vouched for their bytes; an index serving other bytes under the name fails."""
    files = release(tmp_path, index)
    alice, bob = ssh_key(tmp_path / "keys", "alice"), ssh_key(tmp_path / "keys", "bob")
    for key in (alice, bob):
        sign(tmp_path, key, tmp_path / "both.intoto.jsonl")
    swapped = index.add("laptop-demo", "1.0", WHEEL, b"a wheel someone else uploaded")
    lock = write_lock(tmp_path / "lock", "pylock", [files[0], swapped])
    policy = policies(tmp_path, [alice, bob], "both.intoto.jsonl")
    code, report = verify(lock, index, f"sqlite:///{tmp_path / 'r.sqlite'}", "--workers", "1",
                          "--policy", str(policy))  # fmt: skip
    assert code == 1
    assert states(report) == {SDIST: "failed", WHEEL: "failed"}
    assert any("signed sha256" in reason for reason in report["files"][1]["reasons"])


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('[projects.x]\naccept = ["failed"]\n', "cannot be accepted"),
        ('[projects.x]\naccept = ["drift"]\n', "cannot be accepted"),
        ('[projects.x]\naccept = ["fine"]\n', "unknown state"),
        ('[projects.x]\nacept = ["no provenance"]\n', "unknown keys"),
        ('[projects.x]\nevidence = ["e.jsonl"]\n', "give both evidence-policy"),
        ('[projects.x]\naccept-identities = ["github:nope"]\n', "is not one of"),
        ("[other]\n", "one [projects.NAME] table"),
    ],
)
def test_a_verify_policy_that_would_weaken_a_check_is_refused(
    tmp_path: Path, text: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "verify.toml"
    policy.write_text(text)
    (tmp_path / "requirements.txt").write_text(f"x==1 --hash=sha256:{'a' * 64}\n")
    code = main(["verify", str(tmp_path / "requirements.txt"), "--policy", str(policy), "--workers", "1",
                 "--index", "http://127.0.0.1:9/simple/",
                 "--db", f"sqlite:///{tmp_path / 'r.sqlite'}"])  # fmt: skip
    assert code == 2
    assert said in capsys.readouterr().err
