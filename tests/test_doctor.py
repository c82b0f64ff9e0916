"""`vouch doctor`: each check against outputs captured from real systems, then the real machine."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.recording import Recorder
from vouch.cli import main
from vouch.doctor.baseline import Baseline, parse_baseline
from vouch.doctor.keys import check_git_signs_tags, check_gpg_keys, check_ssh_signing_key, parse_secret_keys
from vouch.doctor.machine import Machine
from vouch.doctor.report import DOCTOR_PREDICATE, load_baseline, run_doctor, statement_payload
from vouch.doctor.result import STATUSES
from vouch.doctor.system import check_encryption, check_firewall, check_os, check_screen_lock, check_updates
from vouch.errors import ProjectConfigError, ToolError
from vouch.host import Completed

FIXTURES = Path(__file__).parent / "fixtures" / "doctor"
NOW = datetime.datetime(2025, 6, 1, tzinfo=datetime.UTC)


def fake(
    commands: Mapping[str, str | None],
    files: Mapping[str, str] | None = None,
    system: str = "Linux",
    environ: Mapping[str, str] | None = None,
) -> Machine:
    """A machine whose commands print the captured ``commands`` (keyed by the joined argv; None:
    the command fails) and whose files are ``files``; anything else is missing."""
    seen: list[str] = []

    def run(argv: Sequence[str], **_: Any) -> Completed:
        key = " ".join(argv)
        seen.append(key)
        if key not in commands:
            raise ToolError(f"{argv[0]} is not installed (or not on PATH)")
        output = commands[key]
        return Completed(tuple(argv), 1 if output is None else 0, (output or "").encode())

    def read(path: Path) -> str | None:
        return (files or {}).get(path.as_posix())

    return Machine(run=run, read=read, system=system, home=Path("/home/alice"), environ=environ or {})


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


LSBLK = "lsblk --json --output NAME,TYPE,FSTYPE,MOUNTPOINTS"


@pytest.mark.parametrize(
    ("listing", "status", "detail"),
    [
        ("lsblk-debian-luks.json", "pass", "/ (nvme0n1 > nvme0n1p3 > nvme0n1p3_crypt > laptop--vg-root)"),
        ("lsblk-debian-plain-home.json", "fail", "not encrypted: /home (sda > sda2)"),
        ("lsblk-container.json", "unknown", "not on a block device"),
    ],
)
def test_linux_disk_encryption_from_lsblk(listing: str, status: str, detail: str) -> None:
    result = check_encryption(fake({LSBLK: fixture(listing)}), Baseline())
    assert (result.id, result.status) == ("disk-encryption", status)
    assert detail in result.detail
    assert bool(result.fix) == (status == "fail")


@pytest.mark.parametrize(("output", "status"), [("fdesetup-on.txt", "pass"), ("fdesetup-off.txt", "fail")])
def test_macos_filevault(output: str, status: str) -> None:
    assert (
        check_encryption(fake({"fdesetup status": fixture(output)}, system="Darwin"), Baseline()).status
        == status
    )
    assert check_encryption(fake({}, system="Darwin"), Baseline()).status == "unknown"


def test_os_against_the_baseline() -> None:
    debian = fake({}, {"/etc/os-release": fixture("os-release-debian12")})
    assert check_os(debian, Baseline()).status == "pass"
    ubuntu = fake({}, {"/etc/os-release": fixture("os-release-ubuntu2004")})
    old = check_os(ubuntu, Baseline())
    assert (old.status, old.detail) == ("fail", "ubuntu 20.04 is older than 22.04")
    assert check_os(ubuntu, Baseline(os={"debian": "12"})).detail.startswith(
        "ubuntu 20.04 is not in the baseline"
    )
    assert check_os(fake({"sw_vers -productVersion": "14.5\n"}, system="Darwin"), Baseline()).status == "pass"
    assert check_os(fake({}), Baseline()).status == "unknown"


def test_pending_security_updates_from_apt_simulation() -> None:
    apt = "apt-get --simulate --quiet upgrade"
    result = check_updates(fake({apt: fixture("apt-simulate-security.txt")}), Baseline())
    assert (result.status, result.detail) == ("fail", "2 security update(s) pending: libssl3, openssl")
    assert check_updates(fake({apt: "Reading package lists...\n0 upgraded\n"}), Baseline()).status == "pass"
    assert check_updates(fake({}), Baseline()).status == "unknown"


def test_gpg_colon_listing_with_card_stub_and_expired_keys() -> None:
    keys = parse_secret_keys(fixture("gpg-secret-keys.txt"))
    assert [(k.algorithm, k.bits, k.where) for k in keys] == [
        ("EdDSA", 255, "on smartcard D2760001240100000006123456780000"),
        ("RSA", 4096, "offline (stub)"),
        ("RSA", 2048, "on this disk"),
    ]
    gnupg = "/home/alice/.gnupg/openpgp-revocs.d"
    machine = fake(
        {"gpg --batch --with-colons --fixed-list-mode --list-secret-keys": fixture("gpg-secret-keys.txt")},
        {f"{gnupg}/0A1B2C3D4E5F60718293A4B56C8F2A1B3D4E5F60.rev": "-----BEGIN PGP PUBLIC KEY BLOCK-----"},
    )
    results = {
        r.id.split(":")[0] + ":" + r.id[-4:]: r.status for r in check_gpg_keys(machine, Baseline(), NOW)
    }
    assert results == {
        "gpg-key-algorithm:5F60": "pass",
        "gpg-key-expiry:5F60": "pass",
        "gpg-primary-offline:5F60": "pass",
        "gpg-revocation-cert:5F60": "pass",
        "gpg-key-algorithm:7788": "pass",
        "gpg-key-expiry:7788": "pass",
        "gpg-primary-offline:7788": "pass",
        "gpg-revocation-cert:7788": "unknown",
        "gpg-key-algorithm:AABB": "fail",
        "gpg-key-expiry:AABB": "fail",
        "gpg-primary-offline:AABB": "fail",
        "gpg-revocation-cert:AABB": "unknown",
    }
    soon = NOW.replace(year=2029, month=11)  # the card key expires on 2030-01-01
    expiry = next(
        r for r in check_gpg_keys(machine, Baseline(), soon) if r.id.startswith("gpg-key-expiry:0A1B")
    )
    assert (expiry.status, "within 90 days" in expiry.detail) == ("fail", True)
    assert check_gpg_keys(fake({}), Baseline(), NOW)[0].status == "unknown"


def test_ssh_signing_key_type() -> None:
    def git(kind: str, pub: str) -> Machine:
        return fake(
            {"git config --get gpg.format": "ssh\n", "git config --get user.signingkey": "~/.ssh/id.pub\n"},
            {"/home/alice/.ssh/id.pub": f"{kind} {pub} alice@example.org\n"},
        )

    sk = git("sk-ssh-ed25519@openssh.com", "AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t")
    assert check_ssh_signing_key(sk, Baseline()).status == "pass"
    plain = git("ssh-ed25519", "AAAAC3NzaC1lZDI1NTE5AAAAIA")
    assert check_ssh_signing_key(plain, Baseline()).status == "fail"
    assert check_ssh_signing_key(plain, Baseline(ssh_hardware_key=False)).status == "pass"
    assert check_ssh_signing_key(fake({}), Baseline()).status == "unknown"


def test_git_signs_tags() -> None:
    on = fake({"git --version": "git version 2.39.5\n", "git config --get tag.gpgSign": "true\n"})
    assert check_git_signs_tags(on, Baseline()).status == "pass"
    off = fake({"git --version": "git version 2.39.5\n"})
    assert check_git_signs_tags(off, Baseline()).fix == "git config --global tag.gpgSign true"


def test_screen_lock_and_firewall() -> None:
    gnome = {
        "gsettings get org.gnome.desktop.screensaver lock-enabled": "true\n",
        "gsettings get org.gnome.desktop.session idle-delay": "uint32 1800\n",
    }
    desktop = {"XDG_CURRENT_DESKTOP": "GNOME"}
    assert check_screen_lock(fake(gnome, environ=desktop), Baseline()).status == "fail"
    assert (
        check_screen_lock(fake(gnome, environ=desktop), Baseline(max_screen_lock_seconds=3600)).status
        == "pass"
    )
    assert check_screen_lock(fake(gnome), Baseline()).status == "unknown"
    assert check_firewall(fake({}, {"/etc/ufw/ufw.conf": "ENABLED=yes\n"}), Baseline()).status == "pass"
    assert check_firewall(fake({}, {"/etc/ufw/ufw.conf": "ENABLED=no\n"}), Baseline()).status == "fail"
    assert check_firewall(fake({"firewall-cmd --state": "running\n"}), Baseline()).status == "pass"
    assert check_firewall(fake({}), Baseline()).status == "unknown"


def test_baseline_from_the_policy_without_signers(tmp_path: Path) -> None:
    policy = tmp_path / "vouch.toml"
    policy.write_text('[baseline]\nkey-expiry-days = 30\nos = { debian = "13" }\n')
    baseline = load_baseline(policy)
    assert (baseline.key_expiry_days, baseline.os) == (30, {"debian": "13"})
    assert load_baseline(None, tmp_path / "nowhere") == Baseline()
    with pytest.raises(ProjectConfigError, match="unknown keys"):
        parse_baseline({"disk": True})


def test_the_statement_covers_the_report() -> None:
    report = run_doctor(fake({}), Baseline(), NOW)
    document = json.loads(statement_payload(report))
    assert document["predicateType"] == DOCTOR_PREDICATE
    assert document["predicate"]["checks"] == report.to_json()["checks"]
    assert document["predicate"]["time"] == NOW.isoformat()


def test_on_this_machine_every_check_is_definite_or_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["doctor", "--json", "--policy", str(FIXTURES / "nowhere.toml")])
    assert code == 2  # a policy that does not exist is refused
    capsys.readouterr()
    code = main(["doctor", "--json"])
    checks = json.loads(capsys.readouterr().out)["checks"]
    assert code == (1 if any(c["status"] == "fail" for c in checks) else 0)
    ids = {c["id"].split(":")[0] for c in checks}
    assert {
        "os-supported",
        "security-updates",
        "disk-encryption",
        "screen-lock",
        "firewall",
        "ssh-signing-key",
        "git-sign-tags",
    } <= ids
    for check in checks:
        assert check["status"] in STATUSES
        assert check["detail"], check
        if check["status"] == "fail":
            assert check["fix"], check


def test_sign_appends_a_verifiable_statement(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import base64  # noqa: PLC0415

    from tests.keys import ssh_key  # noqa: PLC0415
    from vouch.sign.envelope import parse_envelope  # noqa: PLC0415

    key = ssh_key(tmp_path / "keys", "releaser")
    evidence = tmp_path / "doctor.intoto.jsonl"
    code = main(["doctor", "--json", "--sign", f"ssh:{key}", "--evidence", str(evidence)])
    checks = json.loads(capsys.readouterr().out)["checks"]
    assert code in {0, 1}
    (line,) = evidence.read_text().splitlines()
    envelope = json.loads(line)
    parse_envelope(envelope)
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["predicateType"] == DOCTOR_PREDICATE
    assert statement["predicate"]["checks"] == checks
    assert main(["doctor", "--sign", "sigstore"]) == 2


def test_commands_run_on_the_injected_runner_in_the_c_locale_with_a_timeout() -> None:
    runner = Recorder(lambda argv: Completed(argv, 0, b"Zustand: aktiv\n"))
    machine = Machine(run=runner, environ={"LANG": "de_DE.UTF-8", "PATH": "/usr/bin"})
    assert machine.output("firewall-cmd", "--state") == "Zustand: aktiv\n"
    (call,) = runner.calls
    assert call.argv == ("firewall-cmd", "--state")
    assert call.env == {"LANG": "C", "LC_ALL": "C", "PATH": "/usr/bin"}
    assert call.timeout == 60


def test_a_command_that_cannot_run_is_unknown_not_an_error() -> None:
    def missing(argv: tuple[str, ...]) -> Completed:
        raise ToolError(f"{argv[0]} is not installed (or not on PATH)")

    machine = Machine(run=Recorder(missing), environ={})
    assert machine.command(["lsblk"]) is None
    assert machine.output("lsblk") is None
