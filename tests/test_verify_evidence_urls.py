"""`vouch verify` with a project's vouch evidence at URLs: the policy and `.intoto.jsonl` fetched
from the tests' loopback server (plain http to loopback through the library's explicit test seam;
the command line takes https only), through URLs that carry credentials, which must never show."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from tests.clirun import run
from tests.hostile import endless
from tests.keys import ssh_key
from tests.test_verify_evidence import SDIST, WHEEL, release, sign
from tests.verify_index import Index, states, write_lock
from vouch.cli.verify import VerifyArgs
from vouch.cli.verify import run as run_verify
from vouch.errors import ProjectConfigError
from vouch.verify.run import VerifyOptions
from vouch.verify.sources import parse_source

SECRET = "s3cret-token"  # noqa: S105 - a URL credential that must never be shown


pytestmark = pytest.mark.usefixtures("own_cache")


def url_with_credentials(index: Index, path: str) -> str:
    return index.server.url.replace("http://", f"http://vouch:{SECRET}@") + path


def signed_release(tmp_path: Path, index: Index) -> tuple[Path, Path, Path]:
    """A laptop release on the index, its vouch.toml (threshold 2 of alice and bob), and two evidence
    files: both signers, and alice alone. Returns (lock, both, alice-only)."""
    files = release(tmp_path, index)
    alice, bob = ssh_key(tmp_path / "keys", "alice"), ssh_key(tmp_path / "keys", "bob")
    both, alone = tmp_path / "both.intoto.jsonl", tmp_path / "alone.intoto.jsonl"
    for key in (alice, bob):
        sign(tmp_path, key, both)
    sign(tmp_path, alice, alone)

    def public(key: Path) -> str:
        return " ".join(key.with_suffix(".pub").read_text().split()[:2])

    signers = "".join(f'[[signers]]\nname = "{k.name}"\nssh-key = "{public(k)}"\n' for k in (alice, bob))
    index.server.answer("/evidence/vouch.toml", f"threshold = 2\n{signers}".encode(), "text/plain")
    return write_lock(tmp_path / "lock", "pylock", files), both, alone


def verify_policy(tmp_path: Path, policy_url: str, evidence_url: str) -> Path:
    path = tmp_path / "verify.toml"
    table = f'evidence-policy = "{policy_url}"\nevidence = ["{evidence_url}"]\n'
    path.write_text(f"[projects.laptop-demo]\n{table}")
    return path


def verify(lock: Path, index: Index, db: Path, policy: Path, html: Path) -> tuple[int, dict[str, Any], str]:
    """The verify command's own run (what `main` calls after parsing), with the test seam that lets
    evidence URLs be http to loopback: the exit code, the --json report, and all else it showed."""
    options = VerifyOptions(input=str(lock), index_url=index.url, policy=policy, workers=1,
                            db=f"sqlite:///{db}", unsafe_http_loopback=True)  # fmt: skip
    shown = io.StringIO()
    table = Console(file=shown, width=300)
    code_json, printed = _printing(lambda: run_verify(VerifyArgs(options, html, json=True), table, table))
    code, _ = _printing(lambda: run_verify(VerifyArgs(options, None, json=False), table, table))
    assert code == code_json
    return code, json.loads(printed), shown.getvalue() + printed + html.read_text()


def _printing(call: Any) -> tuple[int, str]:
    import contextlib  # noqa: PLC0415

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = call()
    return int(code), out.getvalue()


def test_evidence_at_urls_passes_at_the_threshold_fails_below_and_is_checked_again_when_it_changes(
    tmp_path: Path, index: Index
) -> None:
    lock, both, alone = signed_release(tmp_path, index)
    index.server.answer("/evidence/laptop-demo-1.0.intoto.jsonl", both.read_bytes(), "text/plain")
    policy = verify_policy(tmp_path, url_with_credentials(index, "/evidence/vouch.toml"),
                           url_with_credentials(index, "/evidence/laptop-demo-1.0.intoto.jsonl"))  # fmt: skip
    db = tmp_path / "results.sqlite"

    code, report, shown = verify(lock, index, db, policy, tmp_path / "page.html")
    assert (code, states(report)) == (0, {SDIST: "verified", WHEEL: "verified"})
    assert all("vouched by alice, bob (threshold 2)" in f["reasons"][0] for f in report["files"])

    # the same URL now serves evidence signed by alice alone: the stored pass is not reused
    index.server.answer("/evidence/laptop-demo-1.0.intoto.jsonl", alone.read_bytes(), "text/plain")
    code, report, shown_after = verify(lock, index, db, policy, tmp_path / "page.html")
    assert (code, states(report)) == (1, {SDIST: "failed", WHEEL: "failed"})
    assert all("1 more trusted signer(s) (have 1 of 2)" in f["reasons"][-1] for f in report["files"])

    assert "/evidence/laptop-demo-1.0.intoto.jsonl" in index.requests_for("/evidence/")
    for text in (shown, shown_after, db.read_bytes().decode("utf-8", "replace")):
        assert SECRET not in text
        assert "vouch:" not in text
    # nothing was kept under a name taken from the URL
    assert not [p for p in tmp_path.rglob("*") if p.name in {"laptop-demo-1.0.intoto.jsonl", "vouch.toml"}]


@pytest.mark.parametrize(
    ("policy_path", "evidence_route", "said"),
    [
        ("/evidence/vouch.toml", None, "answered HTTP 404"),
        ("/evidence/vouch.toml", "oversized", "16779310 bytes, more than the 16777216 allowed"),
        ("/evidence/vouch.toml", "endless", "larger than the 16777216 bytes allowed"),
        ("/evidence/missing-vouch.toml", "good", "answered HTTP 404"),
        ("/evidence/bad-key.toml", "good", "not an SSH public key"),
        ("/evidence/no-threshold.toml", "good", "/evidence/no-threshold.toml: threshold must be an integer"),
        ("/evidence/key-file.toml", "good", "a policy read from a URL cannot name key files"),
    ],
)
def test_evidence_a_url_does_not_serve_is_not_checked(
    tmp_path: Path, index: Index, policy_path: str, evidence_route: str | None, said: str
) -> None:
    lock, both, _ = signed_release(tmp_path, index)
    index.server.answer("/evidence/bad-key.toml", b'threshold = 1\n[[signers]]\nname = "x"\nssh-key = "y"\n')
    alice = " ".join((tmp_path / "keys" / "alice.pub").read_text().split()[:2])
    no_threshold = f'[[signers]]\nname = "alice"\nssh-key = "{alice}"\n'
    index.server.answer("/evidence/no-threshold.toml", no_threshold.encode())
    key_file = 'threshold = 1\n[[signers]]\nname = "x"\nopenpgp-fingerprint = "AB"\n'
    key_file += 'openpgp-key-file = "../k.asc"\n'
    index.server.answer("/evidence/key-file.toml", key_file.encode())
    route = "/evidence/laptop-demo-1.0.intoto.jsonl"
    if evidence_route == "good":
        index.server.answer(route, both.read_bytes(), "text/plain")
    elif evidence_route == "oversized":
        index.server.answer(route, both.read_bytes() + b"\n" * (16 << 20), "text/plain")
    elif evidence_route == "endless":
        index.server.routes[route] = endless(b"\n" * 65536)
    policy = verify_policy(tmp_path, url_with_credentials(index, policy_path),
                           url_with_credentials(index, route))  # fmt: skip
    db = tmp_path / "results.sqlite"

    code, report, shown = verify(lock, index, db, policy, tmp_path / "page.html")
    assert (code, states(report)) == (3, {SDIST: "not checked", WHEEL: "not checked"})
    assert all(said in f["reasons"][-1] for f in report["files"]), report["files"][0]["reasons"]
    assert SECRET not in shown + db.read_bytes().decode("utf-8", "replace")


def test_an_evidence_url_that_is_not_https_is_refused(
    tmp_path: Path, index: Index, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the test seam (the command line has none), a plain http URL is a configuration error."""
    lock, _, _ = signed_release(tmp_path, index)
    policy = verify_policy(tmp_path, url_with_credentials(index, "/evidence/vouch.toml"),
                           url_with_credentials(index, "/evidence/e.intoto.jsonl"))  # fmt: skip
    db = f"sqlite:///{tmp_path / 'r.sqlite'}"
    code, out, err = run(["verify", str(lock), "--index", index.url, "--policy", str(policy),
                          "--workers", "1", "--db", db], capsys)  # fmt: skip
    assert code == 2
    assert "is not an https URL" in err
    assert SECRET not in out + err
    assert not index.requests_for("/evidence/")


@pytest.mark.parametrize(
    ("value", "seam", "refused"),
    [
        ("https://user:pw@example.org/e.intoto.jsonl", False, False),
        ("http://127.0.0.1:8080/e.intoto.jsonl", True, False),
        ("http://[::1]:8080/e.intoto.jsonl", True, False),
        ("http://127.0.0.1:8080/e.intoto.jsonl", False, True),
        ("http://example.org/e.intoto.jsonl", True, True),  # the seam is for loopback only
        ("file:///etc/passwd", True, True),
        ("ftp://example.org/e.intoto.jsonl", True, True),
        ("https:///no-host", False, True),
    ],
)
def test_which_evidence_urls_are_accepted(value: str, seam: bool, refused: bool) -> None:
    if refused:
        with pytest.raises(ProjectConfigError) as caught:
            parse_source(value, Path("/policies"), "projects.x: evidence", unsafe_http_loopback=seam)
        assert "pw" not in str(caught.value)
    else:
        source = parse_source(value, Path("/policies"), "projects.x: evidence", unsafe_http_loopback=seam)
        assert (source.url, source.path) == (value, None)
        assert "user:pw" not in source.shown
    assert parse_source("e.intoto.jsonl", Path("/policies"), "w").path == Path("/policies/e.intoto.jsonl")


def test_an_https_url_is_read_through_the_hosts_transport_with_its_credentials_sent_not_shown() -> None:
    import httpx  # noqa: PLC0415

    from vouch.errors import NetworkError  # noqa: PLC0415
    from vouch.host import Host  # noqa: PLC0415
    from vouch.verify.sources import Reader, Source  # noqa: PLC0415

    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/gone.intoto.jsonl":
            return httpx.Response(410, text=f"gone, {SECRET}")
        return httpx.Response(200, content=b'{"line": 1}\n')

    url = f"https://vouch:{SECRET}@evidence.example/django.intoto.jsonl"
    with Reader(Host(transport=httpx.MockTransport(answer)), deadline=5) as reader:
        fetched = reader.read(Source(url=url), "the evidence file")
        assert fetched.data == b'{"line": 1}\n'
        assert fetched.source.shown == "https://evidence.example/django.intoto.jsonl"
        with pytest.raises(NetworkError) as caught:
            reader.read(Source(url=url.replace("django", "gone")), "the evidence file")
    gone = "https://evidence.example/gone.intoto.jsonl"
    assert str(caught.value) == f"the evidence file at {gone} answered HTTP 410"
    assert seen[0].headers["authorization"].startswith("Basic ")  # the request needs them
