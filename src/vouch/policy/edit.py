"""Adding a trusted signer to a policy file without losing its comments or layout (tomlkit)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT, Table

from vouch.atomic import write_bytes_atomic
from vouch.errors import OutputError, ProjectConfigError
from vouch.policy.model import parse_policy, policy_table


def add_signer(path: Path, entry: dict[str, Any]) -> None:
    """Append ``entry`` to ``[[signers]]`` (of ``[tool.vouch]`` in a pyproject.toml); the
    result must still be a valid policy, else nothing is written."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    document = tomlkit.parse(text)
    table: Any = document
    if path.name == "pyproject.toml":
        table = document.setdefault("tool", tomlkit.table()).setdefault("vouch", tomlkit.table())
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
    new_text = tomlkit.dumps(document)
    probe = path.with_name(f".{path.name}.probe")
    try:
        probe.write_text(new_text, encoding="utf-8")
        parsed, _ = policy_table(probe)
        parse_policy(parsed, path, "")
    finally:
        probe.unlink(missing_ok=True)
    try:
        write_bytes_atomic(path, new_text.encode("utf-8"))
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}") from exc
