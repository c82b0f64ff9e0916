"""What a lock pins: every file (all platforms), by project, version, file name and sha256.

```
pylock.toml         PEP 751: [[packages]] with sdist / wheels (name, url, hashes.sha256) and
                    attestation-identities (the publishers the locker expects)
uv.lock             [[package]] with sdist / wheels ({url, hash = "sha256:..."})
requirements.txt    NAME==VERSION --hash=sha256:HEX ... (pip-compile, uv pip compile
                    --generate-hashes): the file names are not written, each hash must match a
                    file of that release on the index
pypi:NAME==VERSION  one release: all its files as the index lists them
```

A lock is hostile input: it is read bounded (``vouch.untrusted``), every name, version, file name
and sha256 is validated before use, and a file name must be a plain name that declares the
package's own project and version. A requirement without a hash, or not pinned with ``==``, is
refused (exit 2): verification needs the digests the lock trusted. Packages that no index serves
(PEP 751 vcs, directory and archive entries; uv's git, path and editable sources) are listed as
``unchecked`` with the reason, never dropped silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from vouch.dist import dist_name_version, is_plain_filename
from vouch.errors import CheckError, UsageError
from vouch.provenance.published import parse_release
from vouch.provenance.publisher import parse_publisher
from vouch.untrusted import DocumentError, load_toml, read_regular_file

MAX_LOCK_BYTES = 32 << 20
MAX_PINS = 100_000
_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_HASH_OPTION = re.compile(r"(?:^|\s)--hash[=\s]+(\S+)")
_ALLOWED_OPTIONS = ("--index-url", "-i", "--extra-index-url")


@dataclass(frozen=True)
class Pin:
    """One file the lock pins. ``filename`` is None for a requirements.txt hash (the index names
    the file); ``sha256`` is None for ``pypi:NAME==VERSION`` (the index's digest is the pin)."""

    project: str  # canonical name
    version: str  # normalised
    filename: str | None
    sha256: str | None

    @property
    def release(self) -> str:
        return f"{self.project}=={self.version}"


@dataclass(frozen=True)
class Unindexed:
    """A package the lock takes from elsewhere than an index: reported as not checked."""

    project: str
    reason: str


@dataclass(frozen=True)
class Lock:
    source: str
    kind: str  # "pylock.toml", "uv.lock", "requirements.txt", "release"
    pins: tuple[Pin, ...]
    identities: dict[str, tuple[str, ...]] = field(default_factory=dict)  # project -> publisher SPECs
    unindexed: tuple[Unindexed, ...] = ()

    @property
    def projects(self) -> list[str]:
        return sorted({pin.project for pin in self.pins})


def read_lock(spec: str) -> Lock:
    """The lock named on the command line: a file (by its name or content), or ``pypi:NAME==VERSION``."""
    if spec.startswith("pypi:"):
        name, version = parse_release(spec.removeprefix("pypi:"))
        pin = Pin(canonicalize_name(name), str(version), None, None)
        return Lock(spec, "release", (pin,))
    path = Path(spec)
    try:
        data = read_regular_file(path, "the lock file", max_bytes=MAX_LOCK_BYTES)
    except FileNotFoundError:
        raise UsageError(f"{spec} does not exist", hint="give a lock file or pypi:NAME==VERSION") from None
    except DocumentError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise CheckError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        if path.name == "uv.lock":
            return read_uv_lock(load_toml(data, str(path), max_bytes=MAX_LOCK_BYTES), str(path))
        if path.suffix == ".toml":
            return read_pylock(load_toml(data, str(path), max_bytes=MAX_LOCK_BYTES), str(path))
        text = data.decode("utf-8")
    except DocumentError as exc:
        raise UsageError(str(exc)) from None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text") from None
    return read_requirements(text, str(path))


def read_pylock(document: dict[str, Any], source: str) -> Lock:
    """PEP 751 ``pylock.toml``."""
    version = document.get("lock-version")
    if not isinstance(version, str) or not version.startswith("1."):
        raise UsageError(f"{source}: lock-version {version!r} is not a PEP 751 1.x lock")
    pins: list[Pin] = []
    identities: dict[str, tuple[str, ...]] = {}
    unindexed: list[Unindexed] = []
    for number, package in enumerate(_tables(document, "packages", source), 1):
        where = f"{source}: packages[{number}]"
        project, release = _project(package.get("name"), where), _version(package.get("version"), where)
        for key in ("vcs", "directory", "archive"):
            if key in package:
                unindexed.append(Unindexed(project, f"a {key} package in the lock: no index serves it"))
        files = [package["sdist"]] if "sdist" in package else []
        files += _list(package.get("wheels", []), f"{where}.wheels")
        if files and release is None:
            raise UsageError(f"{where}: {project} has files but no version")
        for entry in files:
            if not isinstance(entry, dict):
                raise UsageError(f"{where}: a file entry is not a table")
            hashes = entry.get("hashes")
            if not isinstance(hashes, dict):
                raise UsageError(f"{where}: a file of {project} has no hashes table")
            filename = entry.get("name") or _url_filename(entry.get("url"), where)
            pins.append(_pin(project, release or "", filename, hashes.get("sha256"), where))
        if "attestation-identities" in package:
            found = _list(package["attestation-identities"], f"{where}.attestation-identities")
            identities[project] = tuple(_identity(entry, where) for entry in found)
            if not identities[project]:
                raise UsageError(f"{where}: attestation-identities of {project} is empty")
    return _lock(source, "pylock.toml", pins, identities, unindexed)


def read_uv_lock(document: dict[str, Any], source: str) -> Lock:
    """uv's ``uv.lock``: registry packages' sdist and wheels, each ``{url, hash = "sha256:..."}``."""
    if not isinstance(document.get("version"), int):
        raise UsageError(f"{source} has no integer version: not a uv.lock")
    pins: list[Pin] = []
    unindexed: list[Unindexed] = []
    for number, package in enumerate(_tables(document, "package", source), 1):
        where = f"{source}: package[{number}]"
        project = _project(package.get("name"), where)
        origin = package.get("source", {})
        if not isinstance(origin, dict):
            raise UsageError(f"{where}: source is not a table")
        if "registry" not in origin:
            if not {"editable", "virtual"} & set(origin):  # the project being locked is not installed
                kinds = ", ".join(sorted(str(key) for key in origin)) or "none"
                unindexed.append(Unindexed(project, f"source {kinds} in the lock: no index serves it"))
            continue
        release = _version(package.get("version"), where)
        if release is None:
            raise UsageError(f"{where}: {project} has no version")
        files = [package["sdist"]] if "sdist" in package else []
        files += _list(package.get("wheels", []), f"{where}.wheels")
        for entry in files:
            if not isinstance(entry, dict):
                raise UsageError(f"{where}: a file entry is not a table")
            algorithm, _, digest = str(entry.get("hash", "")).partition(":")
            if algorithm != "sha256":
                raise UsageError(f"{where}: a file of {project} has no sha256 hash")
            pins.append(_pin(project, release, _url_filename(entry.get("url"), where), digest, where))
    return _lock(source, "uv.lock", pins, {}, unindexed)


def read_requirements(text: str, source: str) -> Lock:
    """A requirements file with ``--hash`` on every requirement; anything else is refused."""
    pins: list[Pin] = []
    for number, line in _logical_lines(text):
        where = f"{source}:{number}"
        if line.startswith("-"):
            option = line.split()[0].split("=")[0]
            if option in _ALLOWED_OPTIONS:
                continue  # the index is --index on the command line
            raise UsageError(f"{where}: option {option} is not supported in a verified requirements file")
        hashes = _HASH_OPTION.findall(line)
        requirement_text = _HASH_OPTION.sub(" ", line).strip()
        try:
            requirement = Requirement(requirement_text)
        except (InvalidRequirement, InvalidMarker) as exc:
            raise UsageError(f"{where}: not a requirement: {exc}") from None
        pinned = [spec for spec in requirement.specifier if spec.operator in {"==", "==="}]
        if requirement.url or len(requirement.specifier) != 1 or not pinned or "*" in pinned[0].version:
            raise UsageError(f"{where}: {requirement.name} is not pinned as NAME==VERSION",
                             hint="verify a lock: pip-compile --generate-hashes or uv pip compile "
                             "--generate-hashes")  # fmt: skip
        if not hashes:
            raise UsageError(f"{where}: {requirement.name}=={pinned[0].version} has no --hash",
                             hint="verification needs the digests the lock trusted: generate the file "
                             "with --generate-hashes")  # fmt: skip
        project = _project(requirement.name, where)
        release = _version(pinned[0].version, where) or ""
        for value in hashes:
            algorithm, _, digest = value.partition(":")
            if algorithm != "sha256":
                raise UsageError(f"{where}: hash {algorithm or value!r} is not sha256")
            pins.append(_pin(project, release, None, digest, where))
    return _lock(source, "requirements.txt", pins, {}, [])


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with comments removed and ``\\`` continuations joined, numbered by their first line."""
    lines: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw)
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        joined = (pending + line).strip()
        pending = ""
        if joined:
            lines.append((start, joined))
    if pending.strip():
        lines.append((start, pending.strip()))
    return lines


def _lock(source: str, kind: str, pins: list[Pin], identities: dict[str, tuple[str, ...]],
          unindexed: list[Unindexed]) -> Lock:  # fmt: skip
    if len(pins) > MAX_PINS:
        raise UsageError(f"{source} pins more than {MAX_PINS} files")
    unique = tuple(dict.fromkeys(pins))
    if not unique and not unindexed:
        raise UsageError(f"{source} pins no files")
    return Lock(source, kind, unique, identities, tuple(unindexed))


def _tables(document: dict[str, Any], key: str, source: str) -> list[dict[str, Any]]:
    found = _list(document.get(key, []), f"{source}: {key}")
    if not all(isinstance(entry, dict) for entry in found):
        raise UsageError(f"{source}: every entry of {key} must be a table")
    return found


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise UsageError(f"{where} is not an array")
    return value


def _project(value: object, where: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise UsageError(f"{where}: {value!r} is not a project name")
    return canonicalize_name(value)


def _version(value: object, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise UsageError(f"{where}: version {value!r} is not a string")
    try:
        return str(Version(value))
    except InvalidVersion:
        raise UsageError(f"{where}: {value!r} is not a valid version") from None


def _url_filename(url: object, where: str) -> str:
    if not isinstance(url, str) or not url:
        raise UsageError(f"{where}: a file entry has neither a name nor a url")
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def _pin(project: str, version: str, filename: object, sha256: object, where: str) -> Pin:
    if not isinstance(sha256, str) or not _SHA256.match(sha256.lower()):
        raise UsageError(f"{where}: a sha256 of {project} is not 64 hexadecimal digits")
    if filename is not None:
        if not is_plain_filename(filename):
            raise UsageError(f"{where}: {filename!r} is not a plain file name")
        assert isinstance(filename, str)  # noqa: S101 - is_plain_filename checked it
        parsed = dist_name_version(filename)
        if parsed is None or (parsed[0], str(parsed[1])) != (project, version):
            raise UsageError(f"{where}: {filename} is not an sdist or wheel of {project} {version}")
    return Pin(project, version, filename, sha256.lower())


def _identity(entry: object, where: str) -> str:
    """A PEP 751 attestation identity (a PEP 740 publisher) as a publisher SPEC (checked by parsing)."""
    spec = _spec(entry, where)
    try:
        parse_publisher(spec)
    except UsageError as exc:
        raise UsageError(f"{where}: {exc}") from None
    return spec


def _spec(entry: object, where: str) -> str:
    if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
        raise UsageError(f"{where}: an attestation identity is not a table of strings")
    kind = entry.get("kind")
    env = f"@{entry['environment']}" if entry.get("environment") else ""
    if kind == "GitHub" and {"repository", "workflow"} <= set(entry):
        return f"github:{entry['repository']}/{entry['workflow']}{env}"
    if kind == "GitLab" and {"repository", "workflow_filepath"} <= set(entry):
        path = entry["workflow_filepath"]
        return f"gitlab:{entry['repository']}{'//' if '/' in path else '/'}{path}{env}"
    if kind == "Google" and "email" in entry:
        return f"google:{entry['email']}"
    raise UsageError(f"{where}: attestation identity {kind!r} is not one vouch can check "
                     "(GitHub with repository and workflow, GitLab with repository and "
                     "workflow_filepath, Google with email)")  # fmt: skip
