"""Real keys for tests: ssh-keygen keys, a real ssh-agent, gpg keys in a temporary GNUPGHOME."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def ssh_key(directory: Path, name: str) -> Path:
    """An ed25519 key pair ``directory/name`` and ``.pub``; returns the private key's path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{name}@example.org", "-f", str(path)],
        check=True,
    )
    return path


@contextmanager
def ssh_agent_holding(private_key: Path) -> Iterator[dict[str, str]]:
    """A real ssh-agent holding ``private_key``; yields its environment variables."""
    started = subprocess.run(["ssh-agent", "-s"], capture_output=True, text=True, check=True).stdout
    env = dict(re.findall(r"(SSH_AUTH_SOCK|SSH_AGENT_PID)=([^;]+);", started))
    try:
        subprocess.run(
            ["ssh-add", "-q", str(private_key)], env=os.environ | env, check=True, capture_output=True
        )
        yield env
    finally:
        subprocess.run(["kill", env["SSH_AGENT_PID"]], check=False)


@dataclass(frozen=True)
class GpgKey:
    home: Path
    fingerprint: str
    armored: Path


@contextmanager
def gpg_key(name: str, export_dir: Path) -> Iterator[GpgKey]:
    """An ed25519 signing key in a new GNUPGHOME (short path: gpg-agent's socket), exported."""
    home = Path(tempfile.mkdtemp(prefix="vg"))
    home.chmod(0o700)
    env = os.environ | {"GNUPGHOME": str(home)}
    try:
        subprocess.run(
            ["gpg", "--batch", "--quiet", "--passphrase", "", "--quick-gen-key",
             f"{name} <{name}@example.org>", "ed25519", "sign", "never"],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        listing = subprocess.run(
            ["gpg", "--batch", "--with-colons", "--list-keys"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr"))
        armored = export_dir / f"{name}.asc"
        export_dir.mkdir(parents=True, exist_ok=True)
        exported = subprocess.run(
            ["gpg", "--batch", "--armor", "--export", fingerprint], env=env, check=True, capture_output=True
        ).stdout
        armored.write_bytes(exported)
        yield GpgKey(home, fingerprint, armored)
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
