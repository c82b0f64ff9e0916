"""The hash-pinned requirements file that a generated release workflow installs vouch from.

``vouch ci`` writes ``vouch-requirements.txt`` next to the workflow, and every job installs it with
``pip install --require-hashes --no-deps -r``: vouch and each of its dependencies, at one version,
with the sha256 of every file pip may pick. Nothing is installed by a bare name, so an index (or the
owner of a name on it) cannot substitute code in the jobs that hold an OIDC token.

Where vouch itself comes from, by its own PyPI name ``vouch-release``:

- by default ``vouch-release==VERSION`` from PyPI, with the hashes of its published files. This
  resolves once that version is published;
- ``--vouch-wheel WHEEL``: a wheel of vouch that you built with ``vouch build`` from vouch's
  release tag (reproducible: anyone can rebuild it and compare its sha256). It is copied next to the
  workflow and pinned as a local file with its sha256. A git URL is never used: pip cannot check a
  hash of a VCS checkout, so it would not be pinned at all.

The dependencies are resolved by ``uv pip compile --universal --generate-hashes`` for the
workflow's Python (network: PyPI). Regenerate with ``vouch ci github|gitlab --lock-only`` (same
options). An existing file can be passed in instead (``--requirements FILE``): it is checked, not
resolved, which is also the offline path.
"""

from __future__ import annotations

import functools
import hashlib
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from vouch.builder.env import find_uv, uv_environment
from vouch.errors import ToolError, UsageError
from vouch.host import Host

DISTRIBUTION = "vouch-release"
FILENAME = "vouch-requirements.txt"
INDEX_URL = "https://pypi.org/simple"
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")
_MAX_TEXT = 1024 * 1024

# (command, stdin) -> stdout; raises ToolError. Tests inject one; the default runs uv (run_uv).
Resolver = Callable[[Sequence[str], str], str]


@dataclass(frozen=True)
class Pin:
    """One logical line: a requirement (``name==version[; marker]``) or a wheel path, and its hashes."""

    spec: str
    hashes: tuple[str, ...]
    name: str
    version: str


def _logical_lines(text: str) -> list[tuple[int, str]]:
    lines, pending, start = [], "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        pending += line
        if pending.strip():
            lines.append((start, pending.strip()))
        pending = ""
    if pending.strip():
        lines.append((start, pending.strip()))
    return lines


def _pin(number: int, line: str, origin: str) -> Pin:
    hashes = tuple(_HASH.findall(line))
    spec = _HASH.sub("", line).strip()
    if not hashes or "--" in spec or spec.startswith("-"):
        raise UsageError(
            f"{origin}, line {number}: every line must be one package with --hash=sha256:..., got {line!r}",
            hint="regenerate it with vouch ci --lock-only",
        )
    if spec.startswith("./") and spec.endswith(".whl") and ";" not in spec:
        try:
            name, version, _, _ = parse_wheel_filename(spec.rsplit("/", 1)[1])
        except InvalidWheelFilename as exc:
            raise UsageError(f"{origin}, line {number}: {exc}") from exc
        if len(hashes) != 1:
            raise UsageError(f"{origin}, line {number}: a local wheel has exactly one sha256")
        return Pin(spec, hashes, name, str(version))
    try:
        requirement = Requirement(spec)
    except InvalidRequirement as exc:
        raise UsageError(f"{origin}, line {number}: {exc}") from exc
    pinned = [s for s in requirement.specifier if s.operator == "=="]
    if requirement.url or len(pinned) != 1 or len(requirement.specifier) != 1 or "*" in pinned[0].version:
        raise UsageError(f"{origin}, line {number}: {spec!r} is not pinned to one version with ==")
    return Pin(spec, hashes, canonicalize_name(requirement.name), pinned[0].version)


def parse_requirements(text: str, origin: str = FILENAME) -> list[Pin]:
    """Every line one package pinned by ``==`` (or a local wheel) with sha256 hashes; vouch among them."""
    if len(text) > _MAX_TEXT:
        raise UsageError(f"{origin} is larger than {_MAX_TEXT} bytes")
    pins = [_pin(number, line, origin) for number, line in _logical_lines(text)]
    if not any(pin.name == DISTRIBUTION for pin in pins):
        raise UsageError(
            f"{origin} does not pin {DISTRIBUTION} (vouch)",
            hint="regenerate it with vouch ci --lock-only",
        )
    return pins


def wheel_requirements(wheel: Path) -> tuple[str, list[str]]:
    """The version and the ``Requires-Dist`` of a vouch wheel (no extras)."""
    try:
        name, version, _, _ = parse_wheel_filename(wheel.name)
        with zipfile.ZipFile(wheel) as archive:
            metadata_name = f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info/METADATA"
            metadata = HeaderParser().parsestr(archive.read(metadata_name).decode("utf-8"))
    except (OSError, KeyError, zipfile.BadZipFile, UnicodeDecodeError, InvalidWheelFilename) as exc:
        raise UsageError(f"{wheel} is not a readable wheel: {exc}") from exc
    if name != DISTRIBUTION:
        raise UsageError(f"{wheel.name} is a wheel of {name}, not of {DISTRIBUTION} (vouch)")
    requires = [r for r in metadata.get_all("Requires-Dist") or [] if "extra ==" not in r]
    return str(version), requires


def run_uv(command: Sequence[str], stdin: str, *, host: Host | None = None) -> str:
    """The default :data:`Resolver`: uv's output, run on ``host`` without the user's uv settings."""
    result = (host or Host()).run(command, stdin=stdin.encode("utf-8"), env=uv_environment())
    if not result.ok:
        tail = " ".join(result.err.strip().splitlines()[-3:])
        hint = "resolving needs PyPI; offline, pass an existing file with --requirements FILE"
        if f"{DISTRIBUTION} was not found" in tail or f"no version of {DISTRIBUTION}" in tail:
            hint = (
                f"this version of {DISTRIBUTION} is not on PyPI: build vouch's wheel with `vouch build` "
                "from its release tag and pass --vouch-wheel WHEEL"
            )
        raise ToolError(f"resolving vouch's requirements failed: {tail}", hint=hint)
    return result.out


def compile_requirements(
    python: str,
    *,
    version: str,
    wheel: Path | None = None,
    wheel_path: str | None = None,
    resolver: Resolver | None = None,
    host: Host | None = None,
) -> str:
    """The requirements file: vouch's dependencies resolved by uv for ``python``, all hash-pinned,
    and vouch itself from PyPI, or the ``wheel`` that will sit at ``wheel_path`` in the repository."""
    if not re.fullmatch(r"3\.\d{1,2}", python):
        raise UsageError(f"--python {python!r}: give a Python minor version such as 3.11")
    if wheel is not None:
        version, requires = wheel_requirements(wheel)
        source = "\n".join(requires) + "\n"
    else:
        source = f"{DISTRIBUTION}=={version}\n"
    command = [
        find_uv(), "pip", "compile", "-", "--universal", "--generate-hashes", "--python-version", python,
        "--no-header", "--no-annotate", "--quiet", "--no-config", "--index-url", INDEX_URL,
    ]  # fmt: skip
    resolved = (resolver or functools.partial(run_uv, host=host))(command, source)
    lines = [
        f"# vouch {version} and every package it needs, each pinned by sha256, for Python {python}.",
        "# Installed by the release workflow with: python -m pip install --require-hashes --no-deps -r FILE",
        "# Regenerate with the same `vouch ci ...` command plus --lock-only (resolves with uv on PyPI).",
        resolved.strip(),
    ]
    if wheel is not None:
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        lines += [
            f"# vouch itself: its wheel, made by `vouch build` from vouch's tag {version} (rebuild to check)",
            f"{wheel_path or './' + wheel.name} \\\n    --hash=sha256:{digest}",
        ]
    text = "\n".join(lines) + "\n"
    parse_requirements(text, "the resolved requirements")
    return text
