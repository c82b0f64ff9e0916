"""The baseline a release machine is held to: ``[baseline]`` of the policy, else the defaults.

```toml
[baseline]
os = { debian = "12", ubuntu = "22.04", fedora = "40", macos = "14", windows = "10" }  # minimum versions
key-expiry-days = 90        # a signing key must stay valid this long
min-rsa-bits = 3072
ssh-hardware-key = true     # the SSH signing key must be an sk- (FIDO) key
max-screen-lock-seconds = 900
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vouch.errors import ProjectConfigError

DEFAULT_OS = {
    "debian": "12",
    "ubuntu": "22.04",
    "fedora": "40",
    "rhel": "9",
    "arch": "0",
    "macos": "14",
    "windows": "10",
}
_KEYS = {"os", "key-expiry-days", "min-rsa-bits", "ssh-hardware-key", "max-screen-lock-seconds"}


@dataclass(frozen=True)
class Baseline:
    os: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_OS))
    key_expiry_days: int = 90
    min_rsa_bits: int = 3072
    ssh_hardware_key: bool = True
    max_screen_lock_seconds: int = 900

    def to_json(self) -> dict[str, Any]:
        return {
            "os": self.os,
            "key-expiry-days": self.key_expiry_days,
            "min-rsa-bits": self.min_rsa_bits,
            "ssh-hardware-key": self.ssh_hardware_key,
            "max-screen-lock-seconds": self.max_screen_lock_seconds,
        }


def _int(table: dict[str, Any], key: str, default: int) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProjectConfigError(f"[baseline] {key} must be a non-negative integer")
    return value


def parse_baseline(table: Any) -> Baseline:
    if table is None:
        return Baseline()
    if not isinstance(table, dict):
        raise ProjectConfigError("[baseline] must be a table")
    unknown = set(table) - _KEYS
    if unknown:
        raise ProjectConfigError(f"[baseline]: unknown keys {sorted(unknown)}")
    os_table = table.get("os", DEFAULT_OS)
    if not isinstance(os_table, dict) or not all(isinstance(v, str) for v in os_table.values()):
        raise ProjectConfigError('[baseline] os must map system names to minimum versions ("12")')
    hardware = table.get("ssh-hardware-key", True)
    if not isinstance(hardware, bool):
        raise ProjectConfigError("[baseline] ssh-hardware-key must be true or false")
    return Baseline(
        os={str(k).lower(): v for k, v in os_table.items()},
        key_expiry_days=_int(table, "key-expiry-days", 90),
        min_rsa_bits=_int(table, "min-rsa-bits", 3072),
        ssh_hardware_key=hardware,
        max_screen_lock_seconds=_int(table, "max-screen-lock-seconds", 900),
    )
