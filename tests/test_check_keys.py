"""Identities and keys: one line counts for one signer, unsafe Sigstore identity patterns are
configuration errors (or warnings with unsafe-wildcard), revoked and expired OpenPGP keys and
revoked subkeys do not count, and a policy of the wrong types is refused in one line."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.attack import Small, small_release
from tests.clirun import run
from tests.keys import GpgKey
from vouch.policy.check import check
from vouch.policy.identity import patterns_overlap, spans_repositories
from vouch.policy.model import load_policy

BUNDLE = Path(__file__).parent / "fixtures" / "sigstore" / "pypi_attestation_models-0.0.4a2.tar.gz.sigstore"
WORKFLOWS = "https://github.com/trailofbits/pypi-attestation-models/.github/workflows/"
GITHUB = "https://token.actions.githubusercontent.com"


@pytest.fixture
def small(tmp_path: Path) -> Small:
    return small_release(tmp_path)


def sigstore_policy(root: Path, *signers: tuple[str, str, bool]) -> Path:
    text = "threshold = 1\n"
    for name, identity, unsafe in signers:
        text += (
            f'[[signers]]\nname = "{name}"\nsigstore-identity = "{identity}"\nsigstore-issuer = "{GITHUB}"\n'
        )
        text += "unsafe-wildcard = true\n" if unsafe else ""
    path = root / "vouch.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("identities", "message"),
    [
        (["*"], "a bare * matches every identity"),
        (
            ["https://github.com/*/pypi-attestation-models/.github/workflows/release.yml@*"],
            "other repositories",
        ),
        (["https://github.com/trailofbits/*"], "other repositories"),
        (["https://github.com/trailofbits/pypi-attestation-models*"], "other repositories"),
        (["https://gitlab.com/group/*"], "other repositories"),
        ([WORKFLOWS + "*", WORKFLOWS + "release.yml@refs/tags/*"], "can match the same certificate"),
        (
            [WORKFLOWS + "release.yml@refs/tags/v*", WORKFLOWS + "release.yml@refs/tags/*1"],
            "same certificate",
        ),
    ],
)
def test_unsafe_identity_patterns_are_configuration_errors(
    identities: list[str], message: str, small: Small, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = sigstore_policy(small.root, *((f"s{i}", p, False) for i, p in enumerate(identities)))
    for command in (
        ["check", *map(str, small.artifacts), "--evidence", str(small.evidence)],
        ["policy", "show"],
    ):
        code, _, err = run([*command, "--policy", str(policy)], capsys)
        assert code == 2
        assert message in err
        assert "Traceback" not in err


def test_disjoint_patterns_are_fine() -> None:
    assert not patterns_overlap(WORKFLOWS + "release.yml@refs/tags/*", WORKFLOWS + "ci.yml@refs/heads/main")
    assert not patterns_overlap("a*b", "a*c")
    assert patterns_overlap("a*b*", "*c*")
    assert spans_repositories(WORKFLOWS + "release.yml@refs/tags/*") is None
    assert spans_repositories("https://gitlab.com/group/project//.gitlab-ci.yml@refs/tags/*") is None
    assert spans_repositories("https://*.example.org/x") is not None


def test_one_bundle_counts_for_one_signer_even_with_unsafe_wildcards(
    small: Small, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real Sigstore bundle (GitHub Actions, offline verification) under two overlapping
    identities: the policy loads with a warning, and the bundle counts for neither."""
    policy = sigstore_policy(
        small.root, ("ci", WORKFLOWS + "release.yml@refs/tags/*", False), ("any", WORKFLOWS + "*", True)
    )
    small.evidence.write_text(json.dumps(json.loads(BUNDLE.read_text())) + "\n")
    code, report, err = small.check(capsys, policy=policy)
    assert code == 1
    assert "warning: " in err
    assert "signer any has unsafe-wildcard = true" in err
    assert report["rejected"][0]["reason"] == (
        "one evidence line counts for one signer, and this one verifies for any, ci"
    )
    code, _, err = run(["policy", "show", "--policy", str(policy)], capsys)
    assert code == 0
    assert "signer any has unsafe-wildcard = true" in err


def test_a_publish_attestation_is_not_a_vouch(small: Small, capsys: pytest.CaptureFixture[str]) -> None:
    policy = sigstore_policy(small.root, ("ci", WORKFLOWS + "release.yml@refs/tags/*", False))
    small.evidence.write_text(json.dumps(json.loads(BUNDLE.read_text())) + "\n")
    code, report, _ = small.check(capsys, policy=policy)
    assert code == 1
    assert report["rejected"][0]["reason"] == (
        "not a vouch: predicate type https://docs.pypi.org/attestations/publish/v1 is not a vouch"
    )


def gpg(home: Path, *args: str, stdin: bytes | None = None) -> str:
    result = subprocess.run(["gpg", "--batch", "--quiet", *args], env=os.environ | {"GNUPGHOME": str(home)},
                            input=stdin, capture_output=True, check=True)  # fmt: skip
    return result.stdout.decode()


@contextmanager
def gpg_home(faked: str | None = None) -> Iterator[Path]:
    home = Path(tempfile.mkdtemp(prefix="vg"))
    home.chmod(0o700)
    if faked is not None:
        (home / "gpg.conf").write_text(f"faked-system-time {faked}\n")
    try:
        yield home
    finally:
        subprocess.run(["gpgconf", "--kill", "all"], env=os.environ | {"GNUPGHOME": str(home)}, check=False)
        shutil.rmtree(home, ignore_errors=True)


def new_key(home: Path, name: str, expire: str = "never") -> GpgKey:
    gpg(
        home, "--passphrase", "", "--quick-gen-key", f"{name} <{name}@example.org>", "ed25519", "sign", expire
    )
    listing = gpg(home, "--with-colons", "--list-keys")
    fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr"))
    return GpgKey(home, fingerprint, home / f"{name}.asc")


def gpg_policy(small: Small, key: GpgKey) -> Path:
    keys = small.root / "keys"
    (keys / "bob.asc").write_text(gpg(key.home, "--armor", "--export", key.fingerprint))
    path = small.root / "vouch.toml"
    path.write_text(f'threshold = 1\n[[signers]]\nname = "bob"\nopenpgp-fingerprint = "{key.fingerprint}"\n'
                    'openpgp-key-file = "keys/bob.asc"\n')  # fmt: skip
    return path


def sign_with_gpg(
    small: Small, key: GpgKey, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GNUPGHOME", str(key.home))
    code, _, err = run(["sign", *map(str, small.artifacts), "--key", f"gpg:{key.fingerprint}",
                        "--source-commit", "c" * 40, "--evidence", str(small.evidence)], capsys)  # fmt: skip
    assert code == 0, err


def test_a_revoked_openpgp_key_does_not_count(
    small: Small, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with gpg_home() as home:
        key = new_key(home, "bob")
        sign_with_gpg(small, key, monkeypatch, capsys)
        code, report, _ = small.check(capsys, policy=gpg_policy(small, key))
        assert code == 0, report
        certificate = (home / "openpgp-revocs.d" / f"{key.fingerprint}.rev").read_text()
        gpg(home, "--import", stdin=certificate.replace(":-----BEGIN", "-----BEGIN").encode())
        code, report, _ = small.check(capsys, policy=gpg_policy(small, key))
    assert code == 1
    assert report["rejected"][0]["reason"] == f"bob: the OpenPGP key {key.fingerprint.upper()} is revoked"
    assert report["artifacts"][0]["vouched_by"] == []


def test_a_revoked_subkey_does_not_count(
    small: Small, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """bob's signing subkey signs (as gpg does by default when a key has one), then is revoked."""
    from securesystemslib._gpg.functions import create_signature  # noqa: PLC0415
    from securesystemslib.dsse import Envelope  # noqa: PLC0415
    from securesystemslib.signer import Signature  # noqa: PLC0415

    with gpg_home() as home:
        key = new_key(home, "bob")
        gpg(home, "--passphrase", "", "--quick-add-key", key.fingerprint, "ed25519", "sign", "2y")
        listing = gpg(home, "--with-colons", "--list-keys")
        subkey = [line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr")][1].lower()
        envelope = Envelope(json.dumps(small.statement()).encode(), "application/vnd.in-toto+json", {})
        raw = create_signature(envelope.pae(), f"{subkey}!", str(home))  # type: ignore[no-untyped-call]
        assert raw["keyid"] == subkey
        signature = Signature(raw["keyid"], raw["signature"], {"other_headers": raw["other_headers"]})
        envelope.signatures[signature.keyid] = signature
        small.evidence.write_text(json.dumps(envelope.to_dict()) + "\n")
        gpg(
            home,
            "--command-fd",
            "0",
            "--edit-key",
            key.fingerprint,
            stdin=b"key 1\nrevkey\ny\n0\n\ny\nsave\n",
        )
        code, report, _ = small.check(capsys, policy=gpg_policy(small, key))
    assert code == 1
    assert report["rejected"][0]["reason"] == f"bob: the OpenPGP subkey {subkey.upper()} is revoked"


def test_vouch_sign_uses_the_primary_key_when_there_is_a_signing_subkey(
    small: Small, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with gpg_home() as home:
        key = new_key(home, "bob")
        gpg(home, "--passphrase", "", "--quick-add-key", key.fingerprint, "ed25519", "sign", "2y")
        sign_with_gpg(small, key, monkeypatch, capsys)
        code, report, _ = small.check(capsys, policy=gpg_policy(small, key))
    assert code == 0, report


def test_an_expired_openpgp_key_does_not_count(
    small: Small, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key made and used in 2020 (gpg's faked-system-time), valid for one day."""
    with gpg_home(faked="20200101T000000") as home:
        key = new_key(home, "bob", expire="1d")
        sign_with_gpg(small, key, monkeypatch, capsys)
        policy = gpg_policy(small, key)
        code, report, _ = small.check(capsys, policy=policy)
    assert code == 1
    assert (
        report["rejected"][0]["reason"]
        == f"bob: the OpenPGP key {key.fingerprint.upper()} expired on 2020-01-02"
    )
    during = check(small.artifacts, [small.evidence], load_policy(policy),
                   now=datetime.datetime(2020, 1, 1, 12, tzinfo=datetime.UTC))  # fmt: skip
    assert during.passed, during.to_json()


def test_key_ids_in_another_spelling_still_verify(
    small: Small, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with gpg_home() as home:
        key = new_key(home, "bob")
        sign_with_gpg(small, key, monkeypatch, capsys)
        envelope = json.loads(small.evidence.read_text())
        keyid = envelope["signatures"][0]["keyid"]
        envelope["signatures"][0]["keyid"] = "0x" + " ".join(
            keyid[i : i + 4].upper() for i in range(0, len(keyid), 4)
        )
        small.evidence.write_text(json.dumps(envelope) + "\n")
        code, report, _ = small.check(capsys, policy=gpg_policy(small, key))
    assert code == 0, report


@pytest.mark.parametrize(
    ("signer", "message"),
    [
        ('name = "a"\nroles = "ci"\nssh-key = "{key}"', "roles must be a list of strings"),
        ('name = 5\nssh-key = "{key}"', "a signer has no name"),
        ('name = "a"\nssh-key = 5', "ssh-key must be a non-empty string"),
        ('name = "a"\nssh-key = "{key}"\nvalid-after = 5', "valid-after must be a date"),
        ('name = "a"\nopenpgp-fingerprint = 5\nopenpgp-key-file = "k.asc"', "must be a non-empty string"),
        ('name = "a"\nsigstore-identity = ["x"]\nsigstore-issuer = "y"', "must be a non-empty string"),
        ('name = "a"\nssh-key = "{key}"\nunsafe-wildcard = "yes"', "unsafe-wildcard must be true or false"),
        ('name = "a"\nssh-key = "{key}"\nunsafe-wildcard = true', "applies to a sigstore-identity only"),
        ('name = "a"\nopenpgp-fingerprint = "AB"\nopenpgp-key-file = "bin.asc"', "not an ASCII-armored"),
        ('name = "a"\nopenpgp-fingerprint = "AB"\nopenpgp-key-file = "../outside.asc"', "points outside"),
        ('name = "a"\nssh-key = "-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjE="',
         "not an SSH public key"),
    ],
)  # fmt: skip
def test_a_policy_of_wrong_types_is_refused_in_one_line(
    signer: str, message: str, small: Small, capsys: pytest.CaptureFixture[str]
) -> None:
    key = " ".join(small.keys["alice"].with_name("alice.pub").read_text().split()[:2])
    project = small.root / "project"
    project.mkdir()
    (project / "bin.asc").write_bytes(bytes(range(256)) * 4)
    (small.root / "outside.asc").write_text("-----BEGIN PGP PUBLIC KEY BLOCK-----\n")
    policy = project / "vouch.toml"
    policy.write_text("threshold = 1\n[[signers]]\n" + signer.replace("{key}", key) + "\n")
    code, _, err = run(["policy", "show", "--policy", str(policy)], capsys)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) <= 2  # the error, and maybe its hint
    assert "b3BlbnNzaC1rZXktdjE" not in err


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('threshold = "2"\n', "threshold must be an integer"),
        ("a = " + "[" * 5000 + "]" * 5000 + "\n", "not valid TOML"),
        ('threshold = 1\n[require]\nci = "1"\n', "must be a non-negative integer"),
    ],
)
def test_wrong_policy_values_are_refused(
    body: str, message: str, small: Small, capsys: pytest.CaptureFixture[str]
) -> None:
    key = " ".join(small.keys["alice"].with_name("alice.pub").read_text().split()[:2])
    policy = small.root / "vouch.toml"
    policy.write_text(body + f'[[signers]]\nname = "a"\nroles = ["ci"]\nssh-key = "{key}"\n')
    code, _, err = run(["policy", "show", "--policy", str(policy)], capsys)
    assert code == 2
    assert message in err
