"""Operating system checks: supported version, pending security updates, disk encryption,
screen lock, firewall. Each reads only what an unprivileged user may read."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from vouch.doctor.baseline import Baseline
from vouch.doctor.machine import Machine
from vouch.doctor.result import CheckResult, failed, passed, unknown


def os_release(text: str) -> dict[str, str]:
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            try:
                fields[key.strip()] = " ".join(shlex.split(value))
            except ValueError:
                fields[key.strip()] = value.strip().strip("\"'")
    return fields


def _identify(machine: Machine) -> tuple[str, str] | None:
    if machine.system == "Linux":
        text = machine.read(Path("/etc/os-release")) or machine.read(Path("/usr/lib/os-release"))
        fields = os_release(text or "")
        return (fields["ID"], fields.get("VERSION_ID", "")) if "ID" in fields else None
    if machine.system == "Darwin":
        version = machine.output("sw_vers", "-productVersion")
        return ("macos", version.strip()) if version else None
    if machine.system == "Windows":
        version = machine.output("cmd", "/c", "ver")
        match = re.search(r"Version (\d+)\.\d+\.(\d+)", version or "")
        if match:  # Windows 11 still reports 10.0, with build >= 22000
            return "windows", "11" if int(match.group(2)) >= 22000 else match.group(1)
    return None


def check_os(machine: Machine, baseline: Baseline) -> CheckResult:
    check = "os-supported"
    found = _identify(machine)
    if found is None:
        return unknown(check, f"cannot identify the operating system ({machine.system})")
    name, version = found
    if name not in baseline.os:
        return failed(
            check,
            f"{name} {version} is not in the baseline ({', '.join(sorted(baseline.os))})",
            "release from a supported system, or add it to [baseline] os",
        )
    try:
        ok = Version(version or "0") >= Version(baseline.os[name])
    except InvalidVersion:
        return unknown(check, f"cannot compare {name} version {version!r} with {baseline.os[name]!r}")
    if not ok:
        return failed(check, f"{name} {version} is older than {baseline.os[name]}", f"upgrade {name}")
    return passed(check, f"{name} {version} (baseline: {baseline.os[name]} or later)")


def check_updates(machine: Machine, baseline: Baseline) -> CheckResult:
    check = "security-updates"
    if machine.system != "Linux":
        return unknown(check, f"pending updates are only checked on Debian and Ubuntu, not {machine.system}")
    simulated = machine.output("apt-get", "--simulate", "--quiet", "upgrade")
    if simulated is None:
        return unknown(check, "apt-get --simulate upgrade did not run (not a Debian-like system?)")
    pending = [
        line.split()[1]
        for line in simulated.splitlines()
        if line.startswith("Inst ") and re.search(r"[-/]security\b|Debian-Security", line)
    ]
    if pending:
        shown = ", ".join(pending[:8]) + (" ..." if len(pending) > 8 else "")
        return failed(
            check,
            f"{len(pending)} security update(s) pending: {shown}",
            "sudo apt-get update && sudo apt-get upgrade",
        )
    return passed(check, "no security update pending (as of the last apt-get update)")


def _chain(devices: list[dict[str, Any]], mountpoint: str) -> list[dict[str, Any]] | None:
    """The device path from a disk down to the device mounted at ``mountpoint``."""
    for device in devices:
        mounts = device.get("mountpoints") or ([device.get("mountpoint")] if device.get("mountpoint") else [])
        if mountpoint in mounts:
            return [device]
        below = _chain(device.get("children") or [], mountpoint)
        if below is not None:
            return [device, *below]
    return None


def _linux_encryption(machine: Machine) -> CheckResult:
    check = "disk-encryption"
    listing = machine.output("lsblk", "--json", "--output", "NAME,TYPE,FSTYPE,MOUNTPOINTS")
    if listing is None:
        return unknown(check, "lsblk did not run")
    try:
        devices = json.loads(listing)["blockdevices"]
    except (ValueError, KeyError, TypeError):
        return unknown(check, "lsblk printed something unexpected")
    verdicts = []
    for mountpoint in ("/", "/home"):
        chain = _chain(devices, mountpoint)
        if chain is None:
            if mountpoint == "/home":
                continue  # /home is on the root filesystem
            return unknown(check, "the root filesystem is not on a block device lsblk lists (a container?)")
        crypt = any(d.get("type") == "crypt" or d.get("fstype") == "crypto_LUKS" for d in chain)
        verdicts.append((mountpoint, crypt, " > ".join(str(d.get("name")) for d in chain)))
    plain = [f"{m} ({path})" for m, crypt, path in verdicts if not crypt]
    if plain:
        return failed(
            check,
            f"not encrypted: {', '.join(plain)}",
            "reinstall with LUKS full-disk encryption (dm-crypt) for the root and home filesystems",
        )
    return passed(check, "dm-crypt: " + ", ".join(f"{m} ({path})" for m, _, path in verdicts))


def _mac_encryption(machine: Machine) -> CheckResult:
    check = "disk-encryption"
    status = machine.output("fdesetup", "status")
    if status is None:
        return unknown(check, "fdesetup status did not run")
    if "FileVault is On." in status:
        return passed(check, "FileVault is on")
    if "FileVault is Off." in status:
        return failed(check, "FileVault is off", "turn on FileVault (System Settings > Privacy & Security)")
    return unknown(check, f"fdesetup said: {status.strip()[:100]}")


def _windows_encryption(machine: Machine) -> CheckResult:
    check = "disk-encryption"
    status = machine.output("manage-bde", "-status", "C:")
    if status is None:
        return unknown(check, "manage-bde -status did not run (it needs an administrator prompt)")
    if re.search(r"Protection Status:\s+Protection On", status):
        return passed(check, "BitLocker protection is on for C:")
    if re.search(r"Protection Status:\s+Protection Off", status):
        return failed(check, "BitLocker protection is off for C:", "turn on BitLocker for the system drive")
    return unknown(check, "manage-bde printed no protection status")


def check_encryption(machine: Machine, baseline: Baseline) -> CheckResult:
    by_system = {"Linux": _linux_encryption, "Darwin": _mac_encryption, "Windows": _windows_encryption}
    if machine.system in by_system:
        return by_system[machine.system](machine)
    return unknown("disk-encryption", f"disk encryption is not checked on {machine.system}")


def _gnome_lock(machine: Machine) -> tuple[bool, int] | CheckResult:
    """(lock enabled, idle delay in seconds) from GNOME's settings, else why they cannot be read."""
    check = "screen-lock"
    if machine.system != "Linux":
        return unknown(check, f"the screen lock is only checked on GNOME, not {machine.system}")
    if not any(machine.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_CURRENT_DESKTOP")):
        return unknown(check, "no graphical session here (DISPLAY, WAYLAND_DISPLAY unset): nothing to lock")
    enabled = machine.output("gsettings", "get", "org.gnome.desktop.screensaver", "lock-enabled")
    delay = machine.output("gsettings", "get", "org.gnome.desktop.session", "idle-delay")
    if enabled is None or delay is None:
        return unknown(check, "no GNOME settings to read (gsettings missing or no desktop session)")
    match = re.search(r"(\d+)\s*$", delay.strip())
    if match is None:
        return unknown(check, f"cannot read the idle delay {delay.strip()!r}")
    return enabled.strip() == "true", int(match.group(1))


def check_screen_lock(machine: Machine, baseline: Baseline) -> CheckResult:
    check = "screen-lock"
    limit = baseline.max_screen_lock_seconds
    found = _gnome_lock(machine)
    if isinstance(found, CheckResult):
        return found
    enabled, seconds = found
    if not enabled:
        return failed(
            check,
            "the GNOME screen lock is disabled",
            "gsettings set org.gnome.desktop.screensaver lock-enabled true",
        )
    if seconds == 0 or seconds > limit:
        when = "never locks" if seconds == 0 else f"locks only after {seconds}s idle"
        return failed(
            check,
            f"the screen {when} (baseline: {limit}s)",
            f"gsettings set org.gnome.desktop.session idle-delay {min(limit, 300)}",
        )
    return passed(check, f"the screen locks after {seconds}s idle (baseline: {limit}s)")


def _mac_firewall(machine: Machine) -> CheckResult:
    state = machine.output("/usr/libexec/ApplicationFirewall/socketfilterfw", "--getglobalstate")
    if state is None:
        return unknown("firewall", "socketfilterfw did not run")
    if "enabled" in state:
        return passed("firewall", state.strip())
    return failed(
        "firewall",
        state.strip() or "the application firewall is off",
        "turn on the firewall (System Settings > Network > Firewall)",
    )


def _windows_firewall(machine: Machine) -> CheckResult:
    state = machine.output("netsh", "advfirewall", "show", "allprofiles", "state")
    if state is None:
        return unknown("firewall", "netsh advfirewall did not run")
    off = re.findall(r"State\s+OFF", state)
    if off:
        return failed(
            "firewall", f"{len(off)} firewall profile(s) off", "netsh advfirewall set allprofiles state on"
        )
    return passed("firewall", "every Windows firewall profile is on")


def _linux_firewall(machine: Machine) -> CheckResult:
    check = "firewall"
    firewalld = machine.command(["firewall-cmd", "--state"])
    state = firewalld.out.strip() if firewalld is not None else None
    if state == "running":
        return passed(check, "firewalld is running")
    ufw = machine.read(Path("/etc/ufw/ufw.conf"))
    if ufw is not None:
        if re.search(r"^ENABLED=yes", ufw, re.MULTILINE):
            return passed(check, "ufw is enabled (/etc/ufw/ufw.conf)")
        return failed(check, "ufw is installed but disabled", "sudo ufw enable")
    if state == "not running":
        return failed(check, "firewalld is not running", "sudo systemctl enable --now firewalld")
    return unknown(check, "neither firewalld nor ufw is here; nftables rules cannot be read without root")


def check_firewall(machine: Machine, baseline: Baseline) -> CheckResult:
    by_system = {"Linux": _linux_firewall, "Darwin": _mac_firewall, "Windows": _windows_firewall}
    if machine.system in by_system:
        return by_system[machine.system](machine)
    return unknown("firewall", f"the firewall is not checked on {machine.system}")
