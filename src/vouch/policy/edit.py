"""Adding a trusted signer to a policy file without losing its comments or layout (tomlkit).

The new text is checked as a policy in memory, then written through the atomic writer: no
temporary file with a predictable name, and never through a symlink that leaves the project
(a policy file that is such a link is refused). A key file that is not what it claims to be is
refused without quoting it (it may be a private key given by mistake).
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Table

from vouch.atomic import write_bytes_atomic
from vouch.errors import CheckError, OutputError, ProjectConfigError, UsageError
from vouch.policy.model import MAX_POLICY_BYTES, inside_folder, parse_policy, parse_table, regular_file
from vouch.sign.ssh import SSHKey

_MAX_PUBLIC_KEY = 16384


def ssh_key_line(path: Path) -> str:
    """The ``TYPE BASE64 COMMENT`` line of an SSH public key file, checked to be one."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise UsageError(f"{path} is not a regular file")
        with path.open("rb") as stream:
            data = stream.read(_MAX_PUBLIC_KEY + 1)
    except FileNotFoundError:
        raise UsageError(f"SSH public key file {path} does not exist") from None
    except OSError as exc:
        raise CheckError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if len(data) > _MAX_PUBLIC_KEY or len(text.strip().splitlines()) != 1:
        raise UsageError(f"{path} is not an SSH public key", hint="give the .pub file (ssh-keygen -y -f KEY)")
    try:
        SSHKey.from_line(text)
    except UsageError as exc:
        raise UsageError(f"{path} is {exc}", hint="give the .pub file (ssh-keygen -y -f KEY)") from None
    return " ".join(text.split()[:3])


def _target(path: Path) -> Path:
    """The file to write: ``path``, or where it links to inside its own folder."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise CheckError(f"cannot read {path}: {exc.strerror}") from exc
    if stat.S_ISLNK(mode):
        target = inside_folder(path, path.absolute().parent, "the policy file")
        regular_file(target, "policy file")
        return target
    if not stat.S_ISREG(mode):
        raise UsageError(f"policy file {path} is not a regular file")
    return path


def add_signer(path: Path, entry: dict[str, Any]) -> None:
    """Append ``entry`` to ``[[signers]]`` (of ``[tool.vouch]`` in a pyproject.toml); the
    result must still be a valid policy, else nothing is written."""
    target = _target(path)
    data = b""
    if target.exists():
        try:
            with target.open("rb") as stream:
                data = stream.read(MAX_POLICY_BYTES + 1)
        except OSError as exc:
            raise CheckError(f"cannot read {path}: {exc.strerror}") from exc
        if len(data) > MAX_POLICY_BYTES:
            raise ProjectConfigError(f"{path} is larger than {MAX_POLICY_BYTES} bytes")
    try:
        document = tomlkit.parse(data.decode("utf-8"))
    except (UnicodeDecodeError, TOMLKitError, RecursionError):
        raise ProjectConfigError(f"{path} is not valid TOML") from None
    table: Any = document
    if path.name == "pyproject.toml":
        tool = document.setdefault("tool", tomlkit.table())
        if not isinstance(tool, dict):
            raise ProjectConfigError(f"{path}: tool is not a table")
        table = tool.setdefault("vouch", tomlkit.table())
    signers = table.get("signers")
    if signers is None:
        signers = tomlkit.aot()
        table["signers"] = signers
    if not isinstance(signers, AoT):
        raise ProjectConfigError(f"{path}: signers is not an array of tables")
    if any(s.get("name") == entry["name"] for s in signers):
        raise ProjectConfigError(f"{path}: a signer named {entry['name']} exists already")
    item: Table = tomlkit.table()
    for key, value in entry.items():
        item[key] = value
    signers.append(item)
    if "threshold" not in table:
        table["threshold"] = 1
    new_text = tomlkit.dumps(document).encode("utf-8")
    parse_policy(parse_table(new_text, path), path, "")
    try:
        write_bytes_atomic(target, new_text)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}") from exc
