"""`vouch checksums` and `vouch checksums verify`: Django's layout, byte for byte the same for the same
inputs, clearsigned with real gpg keys made here, and every way verification must fail."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.clirun import run
from tests.gitrepo import git, make_repo
from tests.keys import GpgKey, gpg_key
from tests.recording import Recorder
from vouch.errors import VerificationError
from vouch.host import Completed, run_process
from vouch.release.checksums import parse_listing
from vouch.release.clearsign import clearsign, expected_key, verify_clearsigned

SDIST = "demo-1.0.tar.gz"
WHEEL = "demo-1.0-py3-none-any.whl"


@dataclass(frozen=True)
class Keys:
    bob: GpgKey
    carol: GpgKey
    both: Path  # one keyring file holding bob's and carol's public keys


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keys]:
    export = tmp_path_factory.mktemp("keys")
    with gpg_key("bob", export) as bob, gpg_key("carol", export) as carol:
        both = export / "both.asc"
        both.write_bytes(bob.armored.read_bytes() + carol.armored.read_bytes())
        yield Keys(bob, carol, both)


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    folder = tmp_path / "dist"
    folder.mkdir()
    (folder / SDIST).write_bytes(b"sdist bytes\n")
    (folder / WHEEL).write_bytes(b"wheel bytes\n")
    return folder


def digests(path: Path) -> dict[str, str]:
    data = path.read_bytes()
    return {name: hashlib.new(name, data).hexdigest() for name in ("md5", "sha1", "sha256")}


def expected_django_text(dist: Path) -> str:
    """Django's layout, written out by hand: the header, then the four sections."""
    s, w = digests(dist / SDIST), digests(dist / WHEEL)
    return f"""This file contains MD5, SHA1, and SHA256 checksums for the source-code
tarball and wheel files of Demo 1.0, released June 4, 2025.

To use this file, you will need a working install of PGP or other
compatible public-key encryption software. You will also need to have
the Demo release manager's public key in your keyring. This key has the
ID ``0123456789ABCDEF`` and can be imported, for example with the
open-source GNU Privacy Guard implementation of PGP, from a keyserver:

    gpg --keyserver hkps://keys.openpgp.org --recv-keys 0123456789ABCDEF

Once the key is imported, verify this file:

    gpg --verify Demo-1.0.checksum.txt

Once you have verified this file, you can use normal MD5, SHA1, or
SHA256 checksumming applications to generate the checksums of the Demo
packages and compare them to the checksums listed below, for example:

    sha256sum --check Demo-1.0.checksum.txt

Release packages
================

https://files.pythonhosted.org/packages/source/d/demo/{SDIST}
https://files.pythonhosted.org/packages/py3/d/demo/{WHEEL}

MD5 checksums
=============

{s["md5"]}  {SDIST}
{w["md5"]}  {WHEEL}

SHA1 checksums
==============

{s["sha1"]}  {SDIST}
{w["sha1"]}  {WHEEL}

SHA256 checksums
================

{s["sha256"]}  {SDIST}
{w["sha256"]}  {WHEEL}
"""


def test_django_layout_is_exact_and_the_same_bytes_whatever_the_argument_order(
    dist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--date", "2025-06-04", "--key-id", "0123456789ABCDEF", "--project", "Demo"]
    first, second = dist / "Demo-1.0.checksum.txt", dist / "again.txt"
    assert run(["checksums", str(dist / SDIST), str(dist / WHEEL), *common], capsys)[0] == 0
    args = ["checksums", str(dist / WHEEL), str(dist / SDIST), *common, "--out", str(second)]
    assert run(args, capsys)[0] == 0
    assert first.read_text() == expected_django_text(dist)
    # the file's own name appears in it (gpg --verify NAME): same name, same bytes
    assert second.read_bytes() == first.read_bytes().replace(b"Demo-1.0.checksum.txt", b"again.txt")
    code, out, _ = run(["checksums", str(dist / WHEEL), str(dist / SDIST), *common, "--out", "-"], capsys)
    assert code == 0
    assert out == first.read_text()


def test_the_date_defaults_to_the_commit_date_and_the_git_tag_section_names_the_commit(
    tmp_path: Path, dist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    # 23:30 at UTC-5 is the next day in UTC: the date is the commit's, in UTC
    commit = make_repo(repo, {"README": "demo\n"}, tag="1.0", commit_date="2025-06-01T23:30:00-05:00")
    args = ["checksums", str(dist / SDIST), str(dist / WHEEL), "--key-id", "0123456789ABCDEF"]
    code, text, err = run([*args, "--commit", "1.0", "--repo", str(repo), "--out", "-"], capsys)
    assert code == 0, err
    assert "the commit date of" in err
    assert run([*args, "--commit", commit, "--repo", str(repo), "--out", "-"], capsys)[1] == text
    assert "of demo 1.0, released June 2, 2025." in text
    assert text.endswith(f"\n\nGit tag\n=======\n\nThe 1.0 tag points to commit {commit}.\n")
    assert "It also names the commit of the release tag" in text

    # no date and no commit: refused rather than today's date written silently
    code, _, err = run(args, capsys)
    assert code == 2
    assert "no release date" in err
    code, _, err = run([*args, "--date", "today", "--out", "-"], capsys)
    assert code == 0
    assert "today's date" in err

    # the file says the tag points to the commit: a tag pointing elsewhere is refused
    (repo / "NEWS").write_text("more\n")
    git(repo, "add", "NEWS")
    git(repo, "commit", "-q", "-m", "after the tag")
    code, _, err = run([*args, "--commit", "HEAD", "--tag", "1.0", "--repo", str(repo)], capsys)
    assert code == 2
    assert "the tag 1.0 points to" in err
    # outside a repository only a full SHA is accepted
    code, _, err = run([*args, "--commit", "1.0", "--repo", str(tmp_path), "--date", "2025-06-04"], capsys)
    assert code == 2
    assert "full commit SHA" in err


def sign_file(dist: Path, key: GpgKey, capsys: pytest.CaptureFixture[str], *extra: str) -> Path:
    args = ["checksums", str(dist / SDIST), str(dist / WHEEL), "--date", "2025-06-04", "--commit", "a" * 40,
            "--repo", str(dist), "--sign", f"gpg:{key.fingerprint}", "--project", "Demo", *extra]  # fmt: skip
    code, _, err = run(args, capsys)
    assert code == 0, err
    return dist / "Demo-1.0.checksum.txt"


def test_signed_file_round_trips_and_sha256sum_and_gpg_read_it(
    keys: Keys, dist: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GNUPGHOME", str(keys.bob.home))
    path = sign_file(dist, keys.bob, capsys, "--key-url", "https://example.org/bob.asc")
    text = path.read_text()
    assert text.startswith("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n")
    assert f"``{keys.bob.fingerprint[-16:]}``" in text
    assert "curl -sSL https://example.org/bob.asc | gpg --import -" in text

    code, out, err = run(["checksums", "verify", str(path), "--keyring", str(keys.bob.armored)], capsys)
    assert code == 0, err
    assert "VERIFIED" in out
    args = ["checksums", "verify", str(path), "--key-fingerprint", keys.bob.fingerprint, "--json"]
    code, out, _ = run(args, capsys)
    report = json.loads(out)
    assert code == 0
    assert report["ok"] is True
    assert report["signature"]["fingerprint"] == keys.bob.fingerprint
    assert report["signature"]["digest"] == "SHA256"
    assert report["commit"] == "a" * 40
    assert [(f["filename"], f["checked"]) for f in report["files"]] == [
        (SDIST, ["md5", "sha1", "sha256"]), (WHEEL, ["md5", "sha1", "sha256"]),
    ]  # fmt: skip

    # the tools Django's verify_release.sh uses read the same file
    env = os.environ | {"GNUPGHOME": str(keys.bob.home)}
    gpg = subprocess.run(["gpg", "--verify", path.name], cwd=dist, env=env, capture_output=True, check=False)
    assert gpg.returncode == 0
    checked = subprocess.run(
        ["sha256sum", "--check", path.name], cwd=dist, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0
    assert checked.stdout.splitlines() == [f"{SDIST}: OK", f"{WHEEL}: OK"]


def test_sha256sum_layout_signed_round_trips(
    keys: Keys, dist: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GNUPGHOME", str(keys.bob.home))
    out = dist / "SHA256SUMS"
    sign_file(dist, keys.bob, capsys, "--format", "sha256sum", "--out", str(out))
    body = out.read_text().split("\n\n", 1)[1].split("-----BEGIN PGP SIGNATURE-----")[0]
    assert body == f"{digests(dist / SDIST)['sha256']}  {SDIST}\n{digests(dist / WHEEL)['sha256']}  {WHEEL}\n"
    code, _, err = run(["checksums", "verify", str(out), "--keyring", str(keys.bob.armored)], capsys)
    assert code == 0, err


@pytest.fixture
def signed(
    keys: Keys, dist: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.setenv("GNUPGHOME", str(keys.bob.home))
    return sign_file(dist, keys.bob, capsys)


def verify(path: Path, key: GpgKey | Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    keyring = key.armored if isinstance(key, GpgKey) else key
    return run(["checksums", "verify", str(path), "--keyring", str(keyring)], capsys)


def test_a_modified_file_fails_naming_the_file_and_lines(
    keys: Keys, signed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with (signed.parent / WHEEL).open("ab") as stream:
        stream.write(b"!")
    code, out, _ = verify(signed, keys.bob, capsys)
    assert code == 1
    lines = signed.read_text().splitlines()
    sha256_line = next(
        i for i, line in enumerate(lines, 1) if line.endswith(f"  {WHEEL}") and len(line.split()[0]) == 64
    )
    assert f"line {sha256_line}: the SHA256 of {WHEEL} is {digests(signed.parent / WHEEL)['sha256']}" in out
    assert f"ok      {SDIST}" in out
    assert "checksums: FAILED" in out


def test_a_missing_file_fails(keys: Keys, signed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (signed.parent / SDIST).unlink()
    code, out, _ = verify(signed, keys.bob, capsys)
    assert code == 1
    assert f"{SDIST} (line " in out
    assert f"is not in {signed.parent}" in out


def test_a_modified_checksum_line_breaks_the_signature(
    keys: Keys, signed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = signed.read_text()
    real = digests(signed.parent / WHEEL)["sha256"]
    signed.write_text(text.replace(f"{real}  {WHEEL}", f"{'0' * 64}  {WHEEL}"))
    assert signed.read_text() != text
    code, _, err = verify(signed, keys.bob, capsys)
    assert code == 1
    assert "bad signature" in err
    assert "changed after it was signed" in err


def test_a_wrong_line_signed_by_the_right_key_fails_naming_the_line(
    keys: Keys, dist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = f"{digests(dist / SDIST)['sha256']}  {SDIST}\n{'1' * 64}  {WHEEL}\n"
    env = os.environ | {"GNUPGHOME": str(keys.bob.home)}
    clearsigned = subprocess.run(
        ["gpg", "--batch", "--clearsign", "--digest-algo", "SHA256", "--local-user", keys.bob.fingerprint],
        input=listing.encode(), env=env, capture_output=True, check=True,
    ).stdout  # fmt: skip
    path = dist / "SHA256SUMS"
    path.write_bytes(clearsigned)
    code, out, _ = verify(path, keys.bob, capsys)
    assert code == 1
    assert f"line 5: the SHA256 of {WHEEL} is" in out  # BEGIN, Hash:, blank line, line 1, line 2
    assert f"the file lists {'1' * 64}" in out


def test_a_sha1_signature_by_the_right_key_is_refused(
    keys: Keys, dist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = f"{digests(dist / SDIST)['sha256']}  {SDIST}\n"
    env = os.environ | {"GNUPGHOME": str(keys.bob.home)}
    clearsigned = subprocess.run(
        ["gpg", "--batch", "--clearsign", "--digest-algo", "SHA1", "--local-user", keys.bob.fingerprint],
        input=listing.encode(), env=env, capture_output=True, check=True,
    ).stdout  # fmt: skip
    assert b"Hash: SHA1" in clearsigned
    path = dist / "SHA256SUMS"
    path.write_bytes(clearsigned)
    code, _, err = verify(path, keys.bob, capsys)
    assert code == 1
    assert "signed over a SHA1 digest" in err


def test_a_signature_by_another_key_fails(
    keys: Keys, dist: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GNUPGHOME", str(keys.carol.home))
    path = sign_file(dist, keys.carol, capsys)
    assert verify(path, keys.carol, capsys)[0] == 0  # a good signature, by carol
    code, _, err = verify(path, keys.bob, capsys)
    assert code == 1
    assert "another key" in err
    # a keyring holding both keys does not say which one must have signed
    code, _, err = verify(path, keys.both, capsys)
    assert code == 2
    assert "holds 2 keys" in err
    args = ["checksums", "verify", str(path), "--keyring", str(keys.both), "--key-fingerprint"]
    assert run([*args, keys.carol.fingerprint], capsys)[0] == 0
    code, _, err = run([*args, keys.bob.fingerprint], capsys)
    assert code == 1
    assert "another key" in err


def test_an_unsigned_file_fails(keys: Keys, dist: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["checksums", str(dist / SDIST), str(dist / WHEEL), "--date", "2025-06-04", "--key-id", "0" * 16]
    assert run(args, capsys)[0] == 0
    code, _, err = verify(dist / "demo-1.0.checksum.txt", keys.bob, capsys)
    assert code == 1
    assert "not signed" in err


def test_text_outside_the_signed_block_is_refused(
    keys: Keys, signed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = signed.read_bytes()
    forged = f"{'2' * 64}  {WHEEL}\n".encode()
    signed.write_bytes(original + forged)
    code, _, err = verify(signed, keys.bob, capsys)
    assert code == 1
    assert "follows the signature" in err
    signed.write_bytes(forged + original)
    code, _, err = verify(signed, keys.bob, capsys)
    assert code == 1
    assert "nothing before it" in err


def test_short_key_ids_and_mixed_options_are_usage_errors(
    signed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["checksums", "verify", str(signed), "--key-fingerprint", "0123456789ABCDEF"], capsys)
    assert code == 2
    assert "not a full OpenPGP fingerprint" in err
    code, _, err = run(["checksums", "verify", str(signed)], capsys)
    assert code == 2
    assert "--keyring FILE or --key-fingerprint" in err
    code, _, err = run(["checksums", "verify", str(signed), "--keyring", "k.asc", "--sign", "gpg:X"], capsys)
    assert code == 2
    assert "--sign applies to making a checksum file" in err


def test_mismatched_key_id_and_foreign_files_are_refused(
    dist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (dist / "other-2.0.tar.gz").write_bytes(b"x")
    args = ["checksums", str(dist / SDIST), str(dist / "other-2.0.tar.gz"), "--date", "2025-06-04"]
    code, _, err = run(args, capsys)
    assert code == 2
    assert "more than one release" in err
    (dist / "notes.txt").write_text("x")
    code, _, err = run(["checksums", str(dist / "notes.txt"), "--date", "2025-06-04"], capsys)
    assert code == 2
    assert "neither an sdist" in err
    code, _, err = run(["checksums", str(dist / SDIST), "--date", "2025-06-04"], capsys)
    assert code == 2
    assert "--key-id" in err


def test_the_project_name_is_taken_as_the_sdist_spells_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "My-Project-2.0.tar.gz").write_bytes(b"legacy sdist name\n")
    (tmp_path / "my_project-2.0-py2.py3-none-any.whl").write_bytes(b"wheel\n")
    wheel, sdist = tmp_path / "my_project-2.0-py2.py3-none-any.whl", tmp_path / "My-Project-2.0.tar.gz"
    args = ["checksums", str(wheel), str(sdist), "--date", "2025-06-04", "--key-id", "0" * 16]
    assert run(args, capsys)[0] == 0
    text = (tmp_path / "My-Project-2.0.checksum.txt").read_text()
    assert "files of My-Project 2.0, released June 4, 2025." in text
    assert "https://files.pythonhosted.org/packages/source/m/my-project/My-Project-2.0.tar.gz\n" in text
    assert (
        "https://files.pythonhosted.org/packages/py2.py3/m/my-project/my_project-2.0-py2.py3-none-any.whl\n"
        in text
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"MD5 checksums\n=============\n\n{'a' * 32}  f.tar.gz\n", "no SHA256 checksum"),
        (f"{'a' * 64}  f.tar.gz\n{'b' * 64}  f.tar.gz\n", "a second SHA256 checksum of f.tar.gz"),
        (f"{'a' * 64}  ../f.tar.gz\n", "not a plain file name"),
        (f"SHA256 checksums\n================\n\n{'a' * 40}  f.tar.gz\n", "of the right length"),
        (
            "SHA256 checksums\n================\n\nnot a checksum line\n",
            "is not '<SHA256 hash>  <filename>'",
        ),
        ("just some words\n", "is not '<hash>  <filename>'"),
        ("", "lists no checksums"),
    ],
)
def test_malformed_listings_are_refused(text: str, message: str) -> None:
    with pytest.raises(VerificationError, match=message.replace("(", r"\(")):
        parse_listing(text)


def test_listing_ignores_prose_and_reads_every_section() -> None:
    text = (
        "Header prose with  two spaces\n\nRelease packages\n================\n\nhttps://x/f.tar.gz\n\n"
        f"MD5 checksums\n=============\n\n{'A' * 32}  f.tar.gz\n\n"
        f"SHA256 checksums\n================\n\n{'b' * 64} *f.tar.gz   \n\n"
        f"Git tag\n=======\n\nThe 1.0 tag points to commit {'c' * 40}.\n"
    )
    listing = parse_listing(text, first_line=4)
    assert [(e.line, e.algorithm, e.digest, e.filename) for e in listing.entries] == [
        (14, "md5", "a" * 32, "f.tar.gz"), (19, "sha256", "b" * 64, "f.tar.gz"),
    ]  # fmt: skip
    assert (listing.tag, listing.commit) == ("1.0", "c" * 40)


# --------------------------------------------------------------------------- gpg, through the host's runner


def test_clearsigning_asks_the_users_gpg_for_a_sha256_clearsignature_by_that_key(tmp_path: Path) -> None:
    fingerprint = "A" * 40
    runner = Recorder(lambda argv: Completed(argv, 0, b"-----BEGIN PGP SIGNED MESSAGE-----\n..."))
    signed = clearsign("the text\n", fingerprint, home=tmp_path, host=runner.host())
    assert signed.startswith("-----BEGIN PGP SIGNED MESSAGE-----")
    (call,) = runner.calls
    assert call.argv == (
        "/fake/bin/gpg", "--batch", "--yes", "--clearsign", "--digest-algo", "SHA256",
        "--local-user", fingerprint, "--output", "-",
    )  # fmt: skip
    assert call.stdin == b"the text\n"
    assert call.env is not None
    assert call.env["GNUPGHOME"] == str(tmp_path)


def test_verification_runs_gpg_in_a_scratch_home_that_is_stopped_and_removed(keys: Keys) -> None:
    runner = Recorder(through=run_process)
    key = expected_key(keyring=keys.bob.armored, fingerprint=None, host=runner.host())
    signed = clearsign("the text\n", key.fingerprint, home=keys.bob.home, host=runner.host())
    assert verify_clearsigned(signed.encode(), key, host=runner.host()).text == "the text\n"
    homes = {call.env["GNUPGHOME"] for call in runner.calls if call.env and "--clearsign" not in call.argv}
    assert len(homes) == 2  # one to read the keyring, one to verify: never the signer's own
    assert str(keys.bob.home) not in homes
    killed = [call.argv[2] for call in runner.calls if Path(call.argv[0]).name == "gpgconf"]
    assert sorted(killed) == sorted(homes)
    assert not any(Path(home).exists() for home in homes)
