"""Editing a policy file without losing its comments or layout (tomlkit): ``init``, adding,
removing and rotating signers, the threshold and role minimums.

Every edit is checked as a policy in memory, then written through the atomic writer: no
temporary file with a predictable name, and never through a symlink that leaves the project
(a policy file that is such a link is refused). A policy that ``vouch check`` can use is never
made unusable (a threshold above the signers, a role minimum nobody holds): such an edit is
refused and nothing is written. A new policy (``init``) is a draft until it trusts enough
signers; ``vouch check`` refuses a draft. A key file that is not what it claims to be is
refused without quoting it (it may be a private key given by mistake).

Rotating a key keeps the old key as an entry of the same signer with ``valid-before`` set to
the time of the rotation, and ``kept-evidence``: the sha256 of each evidence line that the old
key had signed (in the evidence files given). No signature carries a time that vouch can trust
(SSH signatures carry none; OpenPGP's is the signer's own claim), so "signed before the
rotation" is decided by those digests: the lines kept count as before, and anything the old
key signs later (or signed, but was not kept) does not.
"""

from __future__ import annotations

import datetime
import hashlib
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Table

from vouch.atomic import write_bytes_atomic
from vouch.errors import CheckError, OutputError, ProjectConfigError, UsageError
from vouch.host import utcnow
from vouch.policy.check import signed_by
from vouch.policy.model import (
    MAX_POLICY_BYTES,
    Policy,
    inside_folder,
    parse_policy,
    parse_table,
    read_bounded,
    regular_file,
)
from vouch.sign.evidence import read_evidence
from vouch.sign.ssh import SSHKey

INIT_HEADER = """\
# vouch trust policy: who must vouch for a release before it counts.
# Edit it with `vouch policy add-signer`, `set-threshold`, `require`, `remove-signer`, `rotate-key`.
"""

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
    if b"PRIVATE KEY-----" in data[:200]:
        public = path.with_name(path.name + ".pub")
        hint = f"pass {public}" if public.is_file() else f"make it with ssh-keygen -y -f {path} > {public}"
        raise UsageError(
            f"{path} is not an SSH public key: it is a private key (the policy needs the public one)",
            hint=hint,
        )
    if len(data) > _MAX_PUBLIC_KEY or len(text.strip().splitlines()) != 1:
        raise UsageError(f"{path} is not an SSH public key", hint="give the .pub file (ssh-keygen -y -f KEY)")
    try:
        SSHKey.from_line(text)
    except UsageError as exc:
        raise UsageError(f"{path} is {exc}", hint="give the .pub file (ssh-keygen -y -f KEY)") from None
    return " ".join(text.split()[:3])


def openpgp_fingerprint(text: str) -> str:
    """A full OpenPGP fingerprint, as the policy writes it: upper-case hex without spaces."""
    compact = "".join(text.split()).upper().removeprefix("0X")
    if len(compact) not in (40, 64) or any(c not in "0123456789ABCDEF" for c in compact):
        raise UsageError(
            f"{text[:80]!r} is not a full OpenPGP fingerprint",
            hint="gpg --list-keys --with-colons shows it (the fpr line, 40 hex digits)",
        )
    return compact


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


def _read(path: Path, target: Path) -> bytes | None:
    if not target.exists():
        return None
    return read_bounded(target, MAX_POLICY_BYTES, shown=path)


def _parse(data: bytes, path: Path) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(data.decode("utf-8"))
    except (UnicodeDecodeError, TOMLKitError, RecursionError):
        raise ProjectConfigError(f"{path} is not valid TOML") from None


def _vouch_table(document: tomlkit.TOMLDocument, path: Path) -> Any:
    """The policy table: the document itself, or ``[tool.vouch]`` of a pyproject.toml."""
    if path.name != "pyproject.toml":
        return document
    tool = document.get("tool")
    table = tool.get("vouch") if isinstance(tool, dict) else None
    if not isinstance(table, dict):
        raise UsageError(
            f"{path} has no [tool.vouch] table", hint=f"create it: vouch policy init --policy {path}"
        )
    return table


def _usable(data: bytes, path: Path) -> bool:
    """Whether ``data`` is a policy that ``vouch check`` accepts (then every edit must keep it so)."""
    try:
        return not parse_policy(parse_table(data, path), path, "", draft=True).incomplete
    except UsageError:
        return False


def _write(path: Path, target: Path, document: tomlkit.TOMLDocument, *, was_usable: bool, what: str,
           hint: str | None = None) -> Policy:  # fmt: skip
    """Check the edited ``document`` as a policy, then write it atomically; returns it parsed."""
    new_text = tomlkit.dumps(document).encode("utf-8")
    policy = parse_policy(parse_table(new_text, path), path, hashlib.sha256(new_text).hexdigest(), draft=True)
    if was_usable and policy.incomplete:
        reason = policy.incomplete[0].removeprefix(f"{path}: ")
        raise UsageError(f"refused to {what}: {reason}; {path} is unchanged", hint=hint)
    try:
        write_bytes_atomic(target, new_text)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}") from exc
    return policy


class _Edit:
    """An open policy file: its tomlkit document and policy table, and whether it is usable now."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.target = _target(path)
        data = _read(path, self.target)
        if data is None:
            raise UsageError(
                f"no policy at {path}", hint=f"create one: vouch policy init --policy {path} --threshold N"
            )
        self.was_usable = _usable(data, path)
        self.document = _parse(data, path)
        self.table = _vouch_table(self.document, path)

    def signers(self) -> AoT:
        signers = self.table.get("signers")
        if signers is None:
            signers = tomlkit.aot()
            self.table["signers"] = signers
        if not isinstance(signers, AoT):
            raise ProjectConfigError(f"{self.path}: signers is not an array of tables")
        return signers

    def entries_of(self, name: str) -> list[int]:
        found = [i for i, entry in enumerate(self.signers()) if entry.get("name") == name]
        if not found:
            known = ", ".join(dict.fromkeys(str(s.get("name")) for s in self.signers())) or "none"
            raise UsageError(f"{self.path} has no signer named {name} (signers: {known})")
        return found

    def save(self, what: str, hint: str | None = None) -> Policy:
        return _write(self.path, self.target, self.document, was_usable=self.was_usable, what=what, hint=hint)


def init_policy(path: Path, threshold: int) -> Policy:
    """A new policy at ``path`` (a vouch.toml, or ``[tool.vouch]`` added to a pyproject.toml) with
    ``threshold`` and no signers yet: a draft until ``add-signer`` has added enough."""
    if threshold < 1:
        raise UsageError(
            "the threshold must be at least 1", hint="it is how many distinct signers must vouch"
        )
    target = _target(path)
    data = _read(path, target)
    if path.name == "pyproject.toml":
        if data is None:
            raise UsageError(
                f"{path} does not exist", hint="run it in the project, or use --policy vouch.toml"
            )
        document = _parse(data, path)
        tool = document.setdefault("tool", tomlkit.table(is_super_table=True))
        if not isinstance(tool, dict):
            raise ProjectConfigError(f"{path}: tool is not a table")
        if "vouch" in tool:
            raise UsageError(
                f"{path} has a [tool.vouch] policy already", hint="edit it with vouch policy ..."
            )
        table = tomlkit.table()
        table.add(tomlkit.comment("vouch trust policy: edit it with `vouch policy ...`"))
        table["threshold"] = threshold
        tool["vouch"] = table
    else:
        if data is not None:
            raise UsageError(
                f"{path} exists already", hint="edit it with vouch policy set-threshold, add-signer, ..."
            )
        document = _parse(INIT_HEADER.encode() + f"threshold = {threshold}\n".encode(), path)
    return _write(path, target, document, was_usable=False, what="create the policy")


def add_signer(path: Path, entry: dict[str, Any]) -> Policy:
    """Append ``entry`` to ``[[signers]]`` (of ``[tool.vouch]`` in a pyproject.toml); the
    result must still be a valid policy, else nothing is written."""
    edit = _Edit(path)
    signers = edit.signers()
    if any(s.get("name") == entry["name"] for s in signers):
        raise ProjectConfigError(
            f"{path}: a signer named {entry['name']} exists already",
            hint=f"to give them a new key: vouch policy rotate-key {entry['name']} ...",
        )
    item: Table = tomlkit.table()
    for key, value in entry.items():
        item[key] = value
    signers.append(item)
    return edit.save(f"add {entry['name']}")


def set_threshold(path: Path, threshold: int) -> Policy:
    edit = _Edit(path)
    edit.table["threshold"] = threshold
    return edit.save(f"set the threshold to {threshold}", hint="add signers first (vouch policy add-signer)")


def require_role(path: Path, role: str, count: int) -> Policy:
    """At least ``count`` signers with ``role`` (``[require]``); 0 removes the minimum."""
    if count < 0 or not role.strip():
        raise UsageError("usage: vouch policy require ROLE N, with N >= 0 (0 removes the minimum)")
    edit = _Edit(path)
    require = edit.table.get("require")
    if require is not None and not isinstance(require, dict):
        raise ProjectConfigError(f"{path}: [require] must map roles to counts")
    if count == 0:
        if require is None or role not in require:
            raise UsageError(f"{path} has no minimum for role {role}")
        del require[role]
        if not require:
            del edit.table["require"]
    else:
        if require is None:
            require = tomlkit.table()
            edit.table["require"] = require
        require[role] = count
    hint = f"give the role to more signers first (vouch policy add-signer --role {role})"
    return edit.save(f"require {count} {role}", hint=hint)


def remove_signer(path: Path, name: str) -> Policy:
    """Remove ``name`` and every key they had (rotated keys too)."""
    edit = _Edit(path)
    signers = edit.signers()
    for index in reversed(edit.entries_of(name)):
        del signers[index]
    return edit.save(f"remove {name}", hint="lower the threshold first (vouch policy set-threshold N)")


def rotate_key(
    path: Path,
    name: str,
    key: dict[str, Any],
    evidence: Sequence[Path] = (),
    *,
    clock: Callable[[], datetime.datetime] = utcnow,
) -> Policy:
    """Give ``name`` the new ``key``: their current entry stays, retired with ``valid-before`` =
    now and ``kept-evidence`` (the lines of ``evidence`` its key signed); a new entry with the
    same name and roles holds ``key``, right after it."""
    now = clock().astimezone(datetime.UTC).replace(microsecond=0)
    edit = _Edit(path)
    current = parse_policy(parse_table(tomlkit.dumps(edit.document).encode(), path), path, "", draft=True)
    signers = edit.signers()
    active = [i for i in edit.entries_of(name) if current.signers[i].valid_at(now)]
    if len(active) != 1:
        raise UsageError(
            f"{name} has no current key to rotate (every key of theirs has valid-before in the past)",
            hint=f"give them a key with vouch policy remove-signer {name} and add-signer",
        )
    (index,) = active
    old, signer = signers[index], current.signers[index]
    kept = [
        line.sha256
        for line in read_evidence(evidence)
        if line.text is not None and signed_by(signer, line.text)
    ]
    old["valid-before"] = now
    if kept:
        old["kept-evidence"] = sorted(set(kept) | set(signer.kept_evidence))
    item: Table = tomlkit.table()
    item["name"] = name
    item["roles"] = list(signer.roles)
    for field, value in key.items():
        item[field] = value
    signers.insert(index + 1, item)
    return edit.save(f"rotate {name}'s key")
