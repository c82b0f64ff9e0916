"""One Sigstore trust for check, publish and provenance: the same evidence gets the same verdict
from `vouch check` and `vouch publish`, and a root that cannot be used (a corrupt cache, a pinned
file that is not a trusted root) is exit 3 naming the file, never a verdict on the artifacts.

The bundle and attestations are the real Sigstore artifacts the other tests use.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.clirun import run
from tests.pep740_assets import PA, TRUSTED_ROOT
from tests.test_provenance import CASES, verify_args
from tests.test_sign_check import SIGSTORE_BUNDLE, WORKFLOWS
from vouch.trust import PRODUCTION_TUF

pytestmark = [pytest.mark.network, pytest.mark.usefixtures("pep740_assets")]

SDIST = "pypi_attestation_models-0.0.4a2.tar.gz"


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private sigstore cache (XDG), where sigstore keeps its copy of the production root."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "cache"


def cached_root(cache_home: Path) -> Path:
    path = cache_home / "sigstore-python" / "tuf" / quote(PRODUCTION_TUF, safe="") / "trusted_root.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def gate(tmp_path: Path) -> list[str]:
    """An artifact, one real Sigstore bundle as evidence, and a policy trusting its CI identity."""
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / SDIST).write_bytes(b"not the bytes the bundle's statement names")
    (tmp_path / "evidence.jsonl").write_text(json.dumps(json.loads(SIGSTORE_BUNDLE.read_text())) + "\n")
    (tmp_path / "vouch.toml").write_text(
        f'threshold = 1\n[[signers]]\nname = "ci"\nroles = ["ci"]\nsigstore-identity = '
        f'"{WORKFLOWS}release.yml@refs/tags/*"\nsigstore-issuer = "https://token.actions.githubusercontent.com"\n'
    )
    return [str(tmp_path / "dist" / SDIST), "--evidence", str(tmp_path / "evidence.jsonl"),
            "--policy", str(tmp_path / "vouch.toml")]  # fmt: skip


def publish(gate: list[str]) -> list[str]:
    return ["publish", *gate, "--repository", "http://127.0.0.1:9/", "--dry-run"]


def test_check_and_publish_give_sigstore_evidence_the_same_verdict(
    gate: list[str], cache_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["check", *gate, "--json"], capsys)
    checked = json.loads(out)
    assert code == 1  # the bundle verifies as ci's, but a PEP 740 attestation is not a vouch
    (rejected,) = checked["rejected"]
    assert rejected["signer"] == "ci"  # it verified under the trust root, as ci's identity
    assert rejected["reason"].startswith("not a vouch: predicate type https://docs.pypi.org/attestations/")
    code, out, _ = run([*publish(gate), "--json"], capsys)
    assert code == 1
    assert json.loads(out)["check"] == checked


@pytest.mark.parametrize("command", ["check", "publish"])
@pytest.mark.parametrize("damage", ["garbage", "not-a-root", "directory"])
def test_a_corrupt_trust_cache_is_exit_3_naming_the_file(
    command: str, damage: str, gate: list[str], cache_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = cached_root(cache_home)
    if damage == "garbage":
        root.write_bytes(b"\x00{not json")
    elif damage == "not-a-root":
        root.write_text('{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}')
    else:
        root.mkdir()
    args = ["check", *gate] if command == "check" else publish(gate)
    code, out, err = run(args, capsys)
    assert code == 3, out + err
    assert str(root) in err
    assert "Traceback" not in err
    assert "FAILED" not in out  # no verdict on the artifact


def test_provenance_with_a_corrupt_trust_cache_is_exit_3(
    cache_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cached_root(cache_home).write_text("[]")
    case = next(c for c in CASES if c.id == "pa-publish")
    code, out, err = run(verify_args(case, pinned=False)[:-1], capsys)
    assert code == 3
    assert str(cached_root(cache_home)) in err
    assert "VERIFIED" not in out


ROOTS = TRUSTED_ROOT["staging"].parent


@pytest.mark.parametrize("root", [PA / "200170367.pem", Path("/nonexistent/root.json"), ROOTS])
def test_an_unusable_pinned_root_is_exit_3_naming_it(
    root: Path, gate: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    case = next(c for c in CASES if c.id == "pa-publish")
    for args in (verify_args(case, pinned=False)[:-1], ["check", *gate], publish(gate)):
        code, _, err = run([*args, "--trusted-root", str(root)], capsys)
        assert code == 3, err
        assert str(root) in err


def test_a_pinned_root_is_used_by_check(gate: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """The staging root does not vouch for a production bundle: the same line is rejected."""
    code, out, _ = run(["check", *gate, "--trusted-root", str(TRUSTED_ROOT["staging"]), "--json"],
                       capsys)  # fmt: skip
    assert code == 1
    (rejected,) = json.loads(out)["rejected"]
    assert "verifies under no trusted identity" in rejected["reason"]
    code, _, err = run(["check", *gate, "--staging", "--trusted-root", str(ROOTS / "x.json")], capsys)
    assert code == 2
    assert "exclude each other" in err
