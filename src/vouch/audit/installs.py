"""``vouch/unhashed-install``: what a job that holds an OIDC token or a secret installs, and from where.

Such a job must install only packages pinned by sha256 and run only images pinned by digest:
otherwise whoever controls a name on the index (or a tag on a registry) runs code next to the
token. Flagged, in a job with ``id-token: write`` or a ``${{ secrets.* }}`` reference:

- ``pip install`` / ``python -m pip install`` / ``uv pip install`` of anything named on the command
  line (a name, ``name==version``, a path or URL: none can carry a hash there), and ``-r FILE``
  unless ``--require-hashes`` is given or the file, read from the repository, pins every line with
  ``--hash`` (pip then checks hashes by itself);
- ``uv tool install``, ``pipx install`` and ``pipx run``, which cannot check hashes at all;
- ``container:``, ``services.*.image`` and ``uses: docker://`` images without ``@sha256:``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vouch.audit.findings import Finding, Location
from vouch.audit.rules import holds_id_token
from vouch.audit.workflow import Route, Workflow, steps

RULE = "vouch/unhashed-install"
FIX = (
    "install from a requirements file with every package pinned by sha256 (uv pip compile "
    "--generate-hashes) with pip install --require-hashes --no-deps -r FILE"
)
_INSTALL = re.compile(
    r"(?P<tool>\buv\s+pip\s+install|\b(?:python[\d.]*\s+-m\s+)?pip3?\s+install|\buv\s+tool\s+install"
    r"|\bpipx\s+(?:install|run))\b(?P<args>[^\n;&|]*)"
)
_SECRET = re.compile(r"\$\{\{\s*secrets\.\w+")
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_VALUE_OPTIONS = {
    "-c", "--constraint", "-i", "--index-url", "--extra-index-url", "--python", "-p", "--target",
    "-t", "--prefix", "--root", "--find-links", "-f", "--platform", "--python-version",
    "--implementation", "--abi", "--src", "--upgrade-strategy", "--cache-dir", "--log",
    "--progress-bar", "--report", "--config-settings", "-C", "--global-option", "--trusted-host",
}  # fmt: skip
_MAX_REQUIREMENTS = 1024 * 1024


@dataclass(frozen=True)
class Unhashed:
    command: str
    reason: str


def _requirements_hashed(base: Path | None, name: str) -> bool:
    """Whether every requirement line of the repository's file ``name`` carries ``--hash`` (False
    when it is unreadable, or outside the repository)."""
    if base is None or not name:
        return False
    path = (base / name).resolve()
    if not path.is_relative_to(base.resolve()):
        return False
    try:
        if path.stat().st_size > _MAX_REQUIREMENTS:
            return False
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    joined = re.sub(r"\\\n", " ", text)
    lines = [line.split(" #", 1)[0].strip() for line in joined.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    return bool(lines) and all("--hash=" in line for line in lines)


def unhashed_installs(run: str, base: Path | None) -> list[Unhashed]:
    """The install commands of a ``run`` script that do not pin every package by sha256.
    ``base``: the repository root, to read ``-r`` files; None reads nothing."""
    found = []
    for match in _INSTALL.finditer(run):
        tool = " ".join(match.group("tool").split())
        command = f"{tool}{match.group('args').rstrip()}"
        if tool.startswith(("uv tool", "pipx")):
            found.append(Unhashed(command, f"`{tool}` cannot check hashes"))
            continue
        try:
            words = shlex.split(match.group("args"))
        except ValueError:
            words = match.group("args").split()
        named, files, require_hashes, skip = [], [], False, False
        for index, word in enumerate(words):
            if skip:
                skip = False
                continue
            option = word.split("=", 1)[0]
            if option in {"-r", "--requirement"}:
                inline = word.split("=", 1)[1] if "=" in word else None
                files.append(inline if inline is not None else " ".join(words[index + 1 : index + 2]))
                skip = "=" not in word
            elif word == "--require-hashes":
                require_hashes = True
            elif option in _VALUE_OPTIONS:
                skip = "=" not in word
            elif option in {"-e", "--editable"} or not word.startswith("-"):
                named.append(word)
        if named:
            found.append(Unhashed(command, f"{' '.join(named)} named on the command line, without a hash"))
        elif not files:
            continue
        elif not require_hashes and not all(_requirements_hashed(base, f) for f in files):
            reason = "a requirements file without --require-hashes or a hash on every line"
            found.append(Unhashed(command, reason))
    return found


def _images(job: dict[str, Any]) -> Iterator[tuple[Route, str]]:
    container = job.get("container")
    if isinstance(container, str):
        yield ("container",), container
    elif isinstance(container, dict) and isinstance(container.get("image"), str):
        yield ("container", "image"), container["image"]
    services = job.get("services")
    if isinstance(services, dict):
        for name, service in services.items():
            if isinstance(service, dict) and isinstance(service.get("image"), str):
                yield ("services", name, "image"), service["image"]
    for index, step in steps(job):
        uses = step.get("uses")
        if isinstance(uses, str) and uses.startswith("docker://"):
            yield ("steps", index, "uses"), uses.removeprefix("docker://")


def _holds(workflow: Workflow, job: dict[str, Any]) -> str | None:
    if holds_id_token(workflow, job):
        return "an OIDC token (id-token: write)"
    if _SECRET.search(repr(job)) or _SECRET.search(repr(workflow.document.get("env"))):
        return "a secret"
    return None


def unhashed_install(workflow: Workflow, base: Path | None = None) -> Iterator[Finding]:
    for name, job in workflow.jobs():
        holds = _holds(workflow, job)
        if holds is None:
            continue
        for index, step in steps(job):
            run = step.get("run")
            if not isinstance(run, str):
                continue
            for item in unhashed_installs(run, base):
                yield Finding(
                    RULE,
                    "high",
                    Location(workflow.path, workflow.line(("jobs", name, "steps", index))),
                    f"job {name!r} holds {holds} and runs `{item.command.strip()}`: {item.reason}; "
                    "whoever controls that name on the index runs code next to it",
                    FIX,
                )
        for route, image in _images(job):
            if not DIGEST.search(image):
                yield Finding(
                    RULE,
                    "high",
                    Location(workflow.path, workflow.line(("jobs", name, *route))),
                    f"job {name!r} holds {holds} and runs the image {image!r}, not pinned by digest",
                    "pin the image as NAME:TAG@sha256:DIGEST",
                )
