"""`vouch report` end to end: a release built, signed (two SSH keys, one gpg key) and rebuilt here,
its page opened in a real headless Chromium, read back as a person would see it."""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests import intree
from tests.clirun import run
from tests.gitrepo import git, make_repo
from tests.keys import GpgKey, gpg_key, ssh_key
from tests.reproduce import second_machine_clone
from vouch.doctor.baseline import Baseline
from vouch.doctor.report import DoctorReport, write_signed
from vouch.doctor.result import CheckResult
from vouch.sign.ssh import SSHSigner

HOSTILE = "<img src=x onerror=document.title='pwned'>"
SDIST = "demo_intree-1.0.tar.gz"
WHEEL = "demo_intree-1.0-py3-none-any.whl"
RED = (0xCF, 0x22, 0x2E)
GREEN = (0x1A, 0x7F, 0x37)


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI") != "true":
            pytest.skip("chromium is not installed (CI installs it: .ci/run)")
        pytest.fail("chromium is missing in CI: .ci/run must install it")
    return found


def browse(page: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
        page.resolve().as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


class Visible(HTMLParser):
    """The text a person sees, line by line (a block element starts a line); every element's tag."""

    BLOCKS = frozenset(
        {
            "p",
            "li",
            "tr",
            "td",
            "th",
            "h1",
            "h2",
            "h3",
            "section",
            "div",
            "summary",
            "ul",
            "table",
            "header",
            "footer",
            "pre",
            "details",
            "br",
        }
    )

    def __init__(self) -> None:
        super().__init__()
        self.raw: list[str] = []
        self.tags: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._skip += tag in ("style", "script", "head")
        self._in_title = tag == "title" and "head" in self.tags and "body" not in self.tags
        self.raw.append("\n" if tag in self.BLOCKS else "")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style", "script", "head")
        self._in_title = False
        self.raw.append("\n" if tag in self.BLOCKS else "")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if not self._skip:
            self.raw.append(data)

    @property
    def text(self) -> list[str]:
        return [" ".join(line.split()) for line in "".join(self.raw).split("\n") if line.strip()]


def dom_of(page: Path, tmp: Path) -> tuple[str, Visible]:
    dom = browse(page, tmp, "--dump-dom").stdout
    visible = Visible()
    visible.feed(dom)
    return dom, visible


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """A minimal PNG decoder (8-bit RGB or RGBA, non-interlaced): width, height, rows of RGB."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, idat, header = 8, b"", b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        idat += body if kind == b"IDAT" else b""
        header = body if kind == b"IHDR" else header
        offset += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, interlace) == (8, 0)
    assert colour in (2, 6)
    channels = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        previous = line
        rows.append(bytes(b for i, b in enumerate(line) if i % channels < 3))
    return width, height, rows


def screenshot(page: Path, tmp: Path) -> tuple[set[tuple[int, int, int]], tuple[int, int, int]]:
    """The colours of a 1280x2000 screenshot, and the colour at the top of the page (the banner)."""
    out = tmp / f"{page.stem}.png"
    browse(page, tmp, f"--screenshot={out}", "--window-size=1280,2000", "--hide-scrollbars")
    width, height, rows = png_pixels(out.read_bytes())
    assert (width, height) == (1280, 2000)
    colours = {tuple(row[i : i + 3]) for row in rows[::7] for i in range(0, len(row), 21)}
    top = rows[6][600:603]
    return {(c[0], c[1], c[2]) for c in colours}, (top[0], top[1], top[2])


@dataclass
class Release:
    root: Path
    origin: Path
    dist: Path
    record: Path
    commit: str
    alice: Path
    carol: Path
    bob: GpgKey

    def policy(self) -> Path:
        def pub(key: Path) -> str:
            return " ".join(key.with_name(key.name + ".pub").read_text().split()[:2])

        path = self.root / "vouch.toml"
        path.write_text(f"""threshold = 2
[require]
ci = 1
[[signers]]
name = "alice"
roles = ["releaser"]
ssh-key = "{pub(self.alice)}"
[[signers]]
name = "bob"
roles = ["releaser"]
openpgp-fingerprint = "{self.bob.fingerprint}"
openpgp-key-file = "keys/bob.asc"
[[signers]]
name = "carol"
roles = ["ci"]
ssh-key = "{pub(self.carol)}"
""")
        return path


@pytest.fixture
def release(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Release]:
    origin = tmp_path / "origin"
    commit = make_repo(origin, {**intree.files(), HOSTILE: "the same on every machine\n"}, tag="1.0")
    assert run(["build", str(origin), "--out", str(tmp_path / "dist")], capsys)[0] == 0
    keys = tmp_path / "keys"
    with gpg_key("bob", keys) as bob:
        monkeypatch.setenv("GNUPGHOME", str(bob.home))
        yield Release(
            tmp_path,
            origin,
            tmp_path / "dist",
            tmp_path / "dist" / "demo_intree-1.0.buildinfo.json",
            commit,
            ssh_key(keys, "alice"),
            ssh_key(keys, "carol"),
            bob,
        )


def sign(dist: Path, record: Path, key: str, role: str, capsys: pytest.CaptureFixture[str]) -> Path:
    evidence = dist / "demo_intree-1.0.intoto.jsonl"
    code, _, err = run(
        ["sign", str(record), "--key", key, "--role", role, "--evidence", str(evidence)], capsys
    )
    assert code == 0, err
    return evidence


def rebuild_json(release: Release, record: Path, against: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    clone = release.root / f"rebuilder-{against.name}"
    second_machine_clone(release.origin, clone)
    code, out, err = run(
        ["rebuild", str(record), "--source", str(clone), "--against", str(against), "--json"], capsys
    )
    assert code in (0, 1), err
    path = release.root / f"{against.name}.rebuild.json"
    path.write_text(out)
    return path


def doctor_statement(release: Release, status: str) -> Path:
    checks = [
        CheckResult("os", "pass", "Debian 12"),
        CheckResult("disk-encryption", status, "/ is on dm-crypt", "encrypt the disk"),
    ]
    report = DoctorReport(checks, Baseline(), datetime.datetime.now(datetime.UTC))
    path = release.root / "vouch-doctor.intoto.jsonl"
    write_signed(report, SSHSigner(release.alice), path)
    return path


def report(
    release: Release, artifacts: list[Path], capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, dict[str, Any], Path]:
    out = release.root / "report.html"
    code, text, err = run(
        [
            "report",
            *map(str, artifacts),
            "--policy",
            str(release.policy()),
            "--out",
            str(out),
            "--json",
            *extra,
        ],
        capsys,
    )
    assert out.is_file(), err
    return code, json.loads(text), out


def test_a_release_that_passed_shows_every_signer_and_digest_in_chromium(
    release: Release, capsys: pytest.CaptureFixture[str]
) -> None:
    dist = release.dist
    sign(dist, release.record, f"ssh:{release.alice}", "releaser", capsys)
    sign(dist, release.record, f"gpg:{release.bob.fingerprint}", "releaser", capsys)
    evidence = sign(dist, release.record, f"ssh:{release.carol}", "ci", capsys)
    rebuilt = rebuild_json(release, release.record, dist, capsys)
    artifacts = [dist / SDIST, dist / WHEEL]
    code, _, err = run(
        [
            "checksums",
            *map(str, artifacts),
            "--commit",
            release.commit,
            "--repo",
            str(release.origin),
            "--sign",
            f"gpg:{release.bob.fingerprint}",
        ],
        capsys,
    )
    assert code == 0, err
    checksums = dist / "demo_intree-1.0.checksum.txt"
    code, data, page = report(
        release,
        artifacts,
        capsys,
        "--evidence",
        str(evidence),
        "--rebuild-json",
        str(rebuilt),
        "--checksums",
        str(checksums),
        "--doctor-evidence",
        str(doctor_statement(release, "pass")),
    )
    assert code == 0, data["outcome"]
    assert data["passed"] is True
    assert [v["signer"] for v in data["quorum"]["vouchers"]] == ["alice", "bob", "carol"]
    assert data["release"]["commits"][0] == [release.commit, "the accepted statements"]
    assert data["release"]["tag"] == "1.0"
    assert data["checksums"]["signer"] == "bob"

    dom, visible = dom_of(page, release.root)
    words = " ".join(visible.text)
    assert visible.text[0] == "PASSED", visible.text[:3]
    for section in (
        "Release",
        "Artifacts",
        "Quorum of signers",
        "Rebuilds",
        "Checksum file",
        "Releaser's machine",
    ):
        assert any(line.startswith(f"PASSED {section}: ") for line in visible.text[:10]), section
    assert "NOT CHECKED Provenance: no provenance report given" in words
    sha = {a["filename"]: a["sha256"] for a in data["artifacts"]["artifacts"]}
    for name in (SDIST, WHEEL):
        assert sha[name] in words
        assert name in words
    for signer in ("alice", "bob", "carol"):
        assert re.search(rf"\b{signer}\b (releaser|ci)", words), signer
    assert f"openpgp {release.bob.fingerprint}" in words
    assert f"{evidence}:1" in words
    assert f"{evidence}:3" in words
    assert release.commit in words
    assert "bit-identical" in words
    assert visible.title == "PASSED: demo-intree 1.0 (vouch report)"
    assert "<img" not in dom
    assert "img" not in visible.tags
    assert "script" not in visible.tags

    colours, top = screenshot(page, release.root)
    assert len(colours) > 20  # text, tables, the banner: not a blank page
    assert top == GREEN


def test_a_release_that_failed_shows_the_failure_first_and_a_hostile_name_as_text(
    release: Release, capsys: pytest.CaptureFixture[str]
) -> None:
    """A laptop built from a changed tree (the hostile file's content) but recorded the honest
    commit; only alice signed it. The page says FAILED first, and why."""
    laptop = release.root / "laptop"
    second_machine_clone(release.origin, laptop)
    (laptop / HOSTILE).write_text("changed on the laptop\n")
    git(
        laptop,
        "commit",
        "--quiet",
        "--amend",
        "-am",
        "release",
        env={
            "GIT_AUTHOR_DATE": "2025-06-01T12:00:00+00:00",
            "GIT_COMMITTER_DATE": "2025-06-01T12:00:00+00:00",
        },
    )
    dist = release.root / "laptop-dist"
    assert run(["build", str(laptop), "--out", str(dist)], capsys)[0] == 0
    record = dist / "demo_intree-1.0.buildinfo.json"
    document = json.loads(record.read_text())
    source = document["predicate"]["buildDefinition"]["externalParameters"]["source"]
    source["commit"], source["repository"] = release.commit, str(release.origin)
    record.write_text(json.dumps(document))
    evidence = sign(dist, record, f"ssh:{release.alice}", "releaser", capsys)
    rebuilt = rebuild_json(release, record, dist, capsys)
    artifacts = [dist / SDIST, dist / WHEEL]
    code, data, page = report(
        release,
        artifacts,
        capsys,
        "--evidence",
        str(evidence),
        "--rebuild-json",
        str(rebuilt),
        "--doctor-evidence",
        str(doctor_statement(release, "fail")),
    )
    assert code == 1
    assert data["passed"] is False
    statuses = {name: data[name]["outcome"]["status"] for name in ("quorum", "rebuilds", "baseline")}
    assert statuses == {"quorum": "failed", "rebuilds": "failed", "baseline": "failed"}
    assert data["quorum"]["silent"] == ["bob", "carol"]
    members = [
        d["member"] for run_ in data["rebuilds"]["runs"] for a in run_["artifacts"] for d in a["differences"]
    ]
    assert f"demo_intree-1.0/{HOSTILE}" in members

    dom, visible = dom_of(page, release.root)
    assert visible.text[0] == "FAILED", visible.text[:3]
    assert visible.text[2] == "3 failed, 2 not checked, 2 passed of 7 sections"
    headline = " ".join(visible.text[3:5])  # the first two lines after it: the failed sections
    assert "Quorum of signers: " in headline
    assert "missing 1 more trusted signer(s) (have 1 of 2)" in headline
    assert "role ci: 1 more (have 0 of 1)" in headline
    assert "Rebuilds: " in headline
    assert "different" in headline
    words = " ".join(visible.text)
    first_failure = words.index("FAILED Quorum of signers")
    assert first_failure < words.index("PASSED") if "PASSED" in words else True
    assert "Trusted signers who did not vouch: bob, carol" in words
    # the hostile member name: text on the page, in the DOM as escaped text, never an element
    assert f"demo_intree-1.0/{HOSTILE}" in words
    assert "&lt;img src=x onerror=document.title='pwned'&gt;" in dom
    assert "img" not in visible.tags
    assert visible.title == "FAILED: demo-intree 1.0 (vouch report)"
    assert "pwned" not in visible.title
    # the content diff of the hostile file, as a diff
    assert "-changed on the laptop" in words
    assert "+the same on every machine" in words
    assert "1 check(s) failed: disk-encryption" in words

    colours, top = screenshot(page, release.root)
    assert len(colours) > 20
    assert top == RED
