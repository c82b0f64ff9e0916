"""The publisher SPEC, its default from the policy, and the usage errors of `vouch provenance` (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.clirun import run
from tests.pep740_assets import PA, TRUSTED_ROOT
from tests.test_provenance import CASES, GITHUB_PA, PA_SDIST, verify_args
from vouch.errors import UsageError
from vouch.provenance.publisher import parse_publisher

pytestmark = pytest.mark.usefixtures("sigstore_cache")


@pytest.mark.parametrize(
    ("spec", "fields"),
    [
        (
            "github:pypa/sampleproject/release.yml",
            {"repository": "pypa/sampleproject", "workflow": "release.yml"},
        ),
        (
            "github:o/r/publish.yaml@pypi",
            {"repository": "o/r", "workflow": "publish.yaml", "environment": "pypi"},
        ),
        (
            "gitlab:group/sub/project/.gitlab-ci.yml",
            {"repository": "group/sub/project", "workflow_filepath": ".gitlab-ci.yml"},
        ),
        (
            "gitlab:group/project//ci/release.yml@prod",
            {"repository": "group/project", "workflow_filepath": "ci/release.yml", "environment": "prod"},
        ),
        ("google:sa@project.iam.gserviceaccount.com", {"email": "sa@project.iam.gserviceaccount.com"}),
    ],
)
def test_publisher_spec(spec: str, fields: dict[str, str]) -> None:
    expected = parse_publisher(spec)
    identity = expected.identity
    for key, value in fields.items():
        assert getattr(identity, key) == value
    assert expected.environment == fields.get("environment")


@pytest.mark.parametrize(
    "spec",
    [
        "github:pypa/release.yml",
        "github:a/b/c/release.yml",
        "github:a/b/release.txt",
        "github:a/b/release.yml@",
        "gitlab:a/b//../x.yml",
        "google:not-an-email",
        "email:a@b.org",
        "email:a@b.org,http://insecure",
        "bitbucket:a/b/c.yml",
        "pypa/sampleproject",
    ],
)
def test_bad_publisher_spec(spec: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError):
        parse_publisher(spec)
    case = CASES[0]
    args = verify_args(case, pinned=False)
    args[args.index(case.publisher)] = spec
    code, _, err = run(args, capsys)
    assert code == 2
    assert f"publisher {spec!r}" in err


def test_publisher_from_the_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    case = next(c for c in CASES if c.id == "pa-publish")
    args = [a for a in verify_args(case, pinned=False) if a not in {"--publisher", case.publisher}]
    code, _, err = run(args, capsys)
    assert code == 2
    assert "pass --publisher SPEC, or set [provenance] publisher" in err
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.vouch]\n[tool.vouch.provenance]\npublisher = "{GITHUB_PA}"\n'
    )
    assert run(args, capsys)[0] == 0
    (tmp_path / "vouch.toml").write_text('[provenance]\npublisher = "github:other/repo/release.yml"\n')
    code, out, _ = run(args, capsys)
    assert code == 1
    assert json.loads(out)["publisher"]["spec"] == "github:other/repo/release.yml"
    (tmp_path / "vouch.toml").write_text('[provenance]\npublisher = "github:nope"\n')
    assert run(args, capsys)[0] == 2
    (tmp_path / "vouch.toml").write_text(f'[provenance]\npublisher = "{GITHUB_PA}"\nstrict = true\n')
    code, _, err = run(args, capsys)
    assert code == 2
    assert "unknown keys in [provenance]" in err
    (tmp_path / "vouch.toml").write_text("threshold = 1\n")
    code, _, err = run(args, capsys)
    assert code == 2
    assert "has none" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--provenance", str(PA / f"{PA_SDIST}.provenance")],
            "--attestation FILE (one or more) or",
        ),
        (["--staging", "--trusted-root", str(TRUSTED_ROOT["staging"])], "exclude each other"),
        (["--index", "https://example.org/simple/"], "--index applies to NAME==VERSION"),
    ],
)
@pytest.mark.network
@pytest.mark.usefixtures("pep740_assets")
def test_verify_usage_errors(extra: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    case = next(c for c in CASES if c.id == "pa-publish")
    code, _, err = run([*verify_args(case, pinned=False), *extra], capsys)
    assert code == 2
    assert message in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify", "--filename", PA_SDIST, "--attestation", "x"], "--filename and --sha256 go together"),
        (["verify", "--filename", PA_SDIST, "--sha256", "abc", "--attestation", "x"], "64 hexadecimal"),
        (
            ["verify", "--filename", "notadist.txt", "--sha256", "0" * 64, "--attestation", "x"],
            "not an sdist",
        ),
        (["verify", "--attestation", "x"], "takes one DIST"),
        (["verify", "/nonexistent/demo-1.0.tar.gz", "--attestation", "x"], "cannot read"),
        (
            ["verify", "--filename", PA_SDIST, "--sha256", "0" * 64, "--attestation", "/nonexistent"],
            "cannot read",
        ),
        (["demo==1.0", "--attestation", "x"], "--attestation applies to `vouch provenance verify`"),
        (["demo>=1.0"], "is not NAME==VERSION"),
        (["demo==1.0", "other==2.0"], "unrecognized arguments: other==2.0"),  # argparse, under its usage
    ],
)
def test_usage_errors(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["provenance", *args, "--publisher", GITHUB_PA], capsys)
    assert code == 2
    assert message in err
