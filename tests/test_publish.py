"""`vouch publish` against a real pypiserver: the gate, idempotence, conflicts, interruptions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import hostile, intree
from tests.clirun import run
from tests.gitrepo import make_repo
from tests.keys import ssh_key
from tests.localindex import PASSWORD, USER, LocalIndex
from tests.recording import Recorder
from vouch.errors import CheckError
from vouch.host import run_process
from vouch.publish.gate import PublishOptions, publish, twine_upload
from vouch.publish.twine import scrub

SDIST, WHEEL = "demo_intree-1.0.tar.gz", "demo_intree-1.0-py3-none-any.whl"


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalIndex]:
    server = LocalIndex(tmp_path / "index")
    server.start()
    monkeypatch.setenv("TWINE_USERNAME", USER)
    monkeypatch.setenv("TWINE_PASSWORD", PASSWORD)
    yield server
    server.stop()


@pytest.fixture
def release(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A built release in tmp_path/dist, and a policy trusting alice and carol (threshold 2)."""
    make_repo(tmp_path / "repo", intree.files())
    assert run(["build", str(tmp_path / "repo"), "--out", str(tmp_path / "dist")], capsys)[0] == 0
    keys = [ssh_key(tmp_path / "keys", name) for name in ("alice", "carol")]
    lines = {key.name: " ".join(key.with_name(key.name + ".pub").read_text().split()[:2]) for key in keys}
    signers = "".join(f'[[signers]]\nname = "{name}"\nssh-key = "{line}"\n' for name, line in lines.items())
    (tmp_path / "vouch.toml").write_text(f"threshold = 2\n{signers}")
    return tmp_path


def vouch_for(release: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("alice", "carol"):
        record = release / "dist" / "demo_intree-1.0.buildinfo.json"
        assert run(["sign", str(record), "--key", f"ssh:{release / 'keys' / name}"], capsys)[0] == 0


def publish_args(release: Path, index: LocalIndex) -> list[str]:
    return ["publish", str(release / "dist" / SDIST), str(release / "dist" / WHEEL),
            "--repository", index.upload_url, "--policy", str(release / "vouch.toml"), "--json"]  # fmt: skip


def test_unvouched_artifacts_are_refused_and_the_index_stays_empty(
    release: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    (release / "dist" / "demo_intree-1.0.intoto.jsonl").write_text("")
    code, out, _ = run(publish_args(release, index), capsys)
    assert code == 1
    assert json.loads(out)["check"]["passed"] is False
    assert list(index.packages.iterdir()) == []


def test_vouched_release_uploads_reads_back_installs_and_reruns_idempotently(
    release: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    vouch_for(release, capsys)
    code, out, err = run(publish_args(release, index), capsys)
    assert code == 0, err
    report = json.loads(out)
    assert [(f["filename"], f["action"]) for f in report["files"]] == [
        (SDIST, "uploaded"),
        (WHEEL, "uploaded"),
    ]
    assert all(f["served_sha256"] == f["sha256"] for f in report["files"])
    assert sorted(p.name for p in index.packages.iterdir()) == [WHEEL, SDIST]
    assert PASSWORD not in out + err

    target = tmp_path / "installed"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-cache-dir", "--index-url", index.simple_url,
         "--target", str(target), "demo-intree==1.0"],
        check=True, capture_output=True,
    )  # fmt: skip
    assert (target / "demo_intree" / "__init__.py").read_text() == "X = 1\n"

    code, out, _ = run(publish_args(release, index), capsys)
    assert code == 0
    assert {f["action"] for f in json.loads(out)["files"]} == {"skipped: already on the index"}


def test_another_file_of_the_same_name_on_the_index_is_an_error(
    release: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    vouch_for(release, capsys)
    (index.packages / SDIST).write_bytes(b"someone else's sdist")
    code, _, err = run(publish_args(release, index), capsys)
    assert code == 1
    assert f"already serves {SDIST}" in err
    assert sorted(p.name for p in index.packages.iterdir()) == [SDIST]


def test_dry_run_uploads_nothing(
    release: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    vouch_for(release, capsys)
    code, out, _ = run([*publish_args(release, index), "--dry-run"], capsys)
    assert code == 0
    assert {f["action"] for f in json.loads(out)["files"]} == {"would upload"}
    assert list(index.packages.iterdir()) == []


def test_server_dies_after_the_first_file_and_a_rerun_completes(
    release: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    vouch_for(release, capsys)
    options = PublishOptions(
        artifacts=(release / "dist" / SDIST, release / "dist" / WHEEL),
        repository=index.upload_url,
        evidence=(release / "dist" / "demo_intree-1.0.intoto.jsonl",),
        policy=release / "vouch.toml",
    )

    def upload_then_die(repository: str, dist: Path, attestations: bool) -> None:
        twine_upload(repository, dist, attestations)
        index.stop()

    with pytest.raises(CheckError, match=f"uploading {WHEEL} .* failed") as failure:
        publish(options, uploader=upload_then_die)
    assert "the index could not be read to tell which files it serves now" in str(failure.value)
    assert [p.name for p in index.packages.iterdir()] == [SDIST]
    index.start()
    code, out, err = run(publish_args(release, index), capsys)
    assert code == 0, err
    actions = [f["action"] for f in json.loads(out)["files"]]
    assert actions == ["skipped: already on the index", "uploaded"]
    assert sorted(p.name for p in index.packages.iterdir()) == [WHEEL, SDIST]


# --- fail closed: what is uploaded, and when nothing is --------------------------------------------


def options_for(release: Path, index: LocalIndex, **extra: Any) -> PublishOptions:
    return PublishOptions(
        artifacts=(release / "dist" / SDIST, release / "dist" / WHEEL),
        repository=index.upload_url,
        evidence=(release / "dist" / "demo_intree-1.0.intoto.jsonl",),
        policy=release / "vouch.toml",
        **extra,
    )


def test_a_file_swapped_after_the_check_is_not_what_gets_uploaded(
    release: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    vouch_for(release, capsys)
    vouched = {name: (release / "dist" / name).read_bytes() for name in (SDIST, WHEEL)}
    uploaded_from: list[Path] = []

    def swap_then_upload(repository: str, dist: Path, attestations: bool) -> None:
        # the attacker replaces the artifact at the path vouch was given, after the check passed
        (release / "dist" / dist.name).write_bytes(b"unvouched bytes " + dist.name.encode())
        uploaded_from.append(dist)
        twine_upload(repository, dist, attestations)

    report = publish(options_for(release, index), uploader=swap_then_upload)
    assert [f.action for f in report.files] == ["uploaded", "uploaded"]
    assert {p.name: p.read_bytes() for p in index.packages.iterdir()} == vouched
    assert all(path.parent != release / "dist" for path in uploaded_from)
    assert not any(path.parent.exists() for path in uploaded_from)  # the private copies are gone


def test_a_staged_copy_changed_before_its_upload_is_not_uploaded(
    release: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    vouch_for(release, capsys)
    calls: list[str] = []

    def tamper_with_the_next(repository: str, dist: Path, attestations: bool) -> None:
        calls.append(dist.name)
        twine_upload(repository, dist, attestations)
        wheel = dist.with_name(WHEEL)
        wheel.chmod(0o600)
        wheel.write_bytes(b"changed in the staging folder")

    with pytest.raises(CheckError, match=f"the staged copy of {WHEEL} changed after the check"):
        publish(options_for(release, index), uploader=tamper_with_the_next)
    assert calls == [SDIST]
    assert [p.name for p in index.packages.iterdir()] == [SDIST]


def test_a_conflict_on_any_file_means_nothing_is_uploaded(
    release: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    vouch_for(release, capsys)
    (index.packages / WHEEL).write_bytes(b"someone else's wheel")  # the sdist comes first, and is not there
    code, _, err = run([a for a in publish_args(release, index) if a != "--json"], capsys)
    assert code == 1
    assert f"already serves {WHEEL} with sha256" in err
    assert "nothing was uploaded" in err
    assert [p.name for p in index.packages.iterdir()] == [WHEEL]


def test_a_failure_midway_says_what_the_index_serves_and_that_a_rerun_finishes(
    release: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    vouch_for(release, capsys)

    def refuse_the_wheel(repository: str, dist: Path, attestations: bool) -> None:
        if dist.name == WHEEL:
            raise CheckError(f"uploading {dist.name} to {repository} failed: 503 Service Unavailable")
        twine_upload(repository, dist, attestations)

    with pytest.raises(CheckError) as failure:
        publish(options_for(release, index), uploader=refuse_the_wheel)
    message = str(failure.value)
    assert f"the index now serves {SDIST};" in message
    assert "running the same vouch publish again" in message
    assert "\n" not in message
    code, out, err = run(publish_args(release, index), capsys)
    assert code == 0, err
    assert [f["action"] for f in json.loads(out)["files"]] == ["skipped: already on the index", "uploaded"]


def test_a_read_back_redirected_to_another_host_is_refused_before_any_upload(
    release: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    vouch_for(release, capsys)
    with hostile.serve() as redirector:
        port = int(index.simple_url.split(":")[2].split("/")[0])
        redirector.routes["/simple/demo-intree/"] = hostile.redirect(f"http://localhost:{port}/simple/demo-intree/")
        args = [*publish_args(release, index), "--index", f"{redirector.url}/simple/"]
        code, _, err = run([a for a in args if a != "--json"], capsys)
    assert code == 3
    assert "redirected to another host" in err
    assert list(index.packages.iterdir()) == []


def test_credentials_in_urls_never_appear_in_the_report(
    release: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    vouch_for(release, capsys)
    repository = index.upload_url.replace("http://", "http://releaser:s3cret-token@")
    args = [*publish_args(release, index)[:-1], "--dry-run", "--json"]
    args[args.index(index.upload_url)] = repository
    code, out, err = run(args, capsys)
    assert code == 0, err
    report = json.loads(out)
    assert (report["repository"], report["index"]) == (index.upload_url, index.simple_url)
    assert "s3cret-token" not in out + err


def test_twine_output_is_scrubbed_of_a_short_password_only_as_a_whole_word(
    release: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    vouch_for(release, capsys)
    monkeypatch.setenv("TWINE_PASSWORD", "orbid")  # wrong, and inside an ordinary word ("Forbidden")
    with pytest.raises(CheckError) as failure:
        twine_upload(index.upload_url, release / "dist" / SDIST, False)
    message = str(failure.value)
    assert "HTTPError: 403 Forbidden from" in message
    assert "*" not in message
    assert "\x1b" not in message  # no terminal colour codes
    assert list(index.packages.iterdir()) == []
    scrubbed = scrub("the password or was wrong for x:or@host", ["or"])
    assert scrubbed == "the password *** was wrong for x:***@host"


def test_scrub_removes_userinfo_and_whole_secrets() -> None:
    text = "403 from https://user:pa$$@upload.example.org/legacy/ (token pypi-AgEIcHlwaS5vcmc) abc abcdef"
    assert scrub(text, ["pypi-AgEIcHlwaS5vcmc", "abc", "pa$$"]) == (
        "403 from https://upload.example.org/legacy/ (token ***) *** abcdef"
    )


def test_a_fifo_given_as_an_artifact_is_refused_unread(
    release: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    vouch_for(release, capsys)
    sdist = release / "dist" / SDIST
    sdist.unlink()
    os.mkfifo(sdist)  # a reader would block forever
    code, _, err = run([a for a in publish_args(release, index) if a != "--json"], capsys)
    assert code == 2
    assert f"{sdist} is not a regular file" in err
    assert list(index.packages.iterdir()) == []


@pytest.mark.parametrize(
    ("option", "url"), [("--repository", "not a url"), ("--index", "ftp://example.org/simple/")]
)
def test_an_invalid_url_is_a_usage_error(option: str, url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["publish", "/nowhere/demo-1.0.tar.gz", option, url], capsys)
    assert code == 2
    assert f"{option} {url!r} is not an http(s) URL with a host" in err
    assert "Traceback" not in out + err


def test_twine_uploads_the_staged_copies_sdist_first_through_the_hosts_runner(
    release: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    vouch_for(release, capsys)
    runner = Recorder(through=run_process)
    report = publish(options_for(release, index, host=runner.host()))
    assert [(f.filename, f.action) for f in report.files] == [(SDIST, "uploaded"), (WHEEL, "uploaded")]
    uploads = runner.argvs()
    assert [argv[:5] for argv in uploads] == [(sys.executable, "-m", "twine", "--no-color", "upload")] * 2
    assert all(argv[argv.index("--repository-url") + 1] == index.upload_url for argv in uploads)
    staged = [Path(argv[-1]) for argv in uploads]
    assert [path.name for path in staged] == [SDIST, WHEEL]
    assert all(path.parent != release / "dist" for path in staged)  # the checked copies, not the originals
