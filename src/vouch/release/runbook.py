"""Runbook definitions: a release process as data (TOML), loaded and checked once.

A definition (``runbooks/generic.toml``, ``runbooks/django.toml``, or a project's own file)::

    format-version = 1                      # required; this vouch reads format 1
    name = "django"
    title = "Django"
    description = "..."
    [variables]                             # defaults; templates over built-ins and earlier ones
    branch = "stable/{series}.x"
    [inputs]                                # values only the releaser has: --set NAME=VALUE
    fingerprint = "your OpenPGP key's fingerprint"
    [security]                              # optional: which branches a security release patches
    main-branch = "main"                    # always patched
    stable-branch = "stable/{series}.x"     # the branch of a supported series
    [security.supported]                    # series = when its stable branch was made, and
    "5.2" = {from = 2025-01-15, until = 2028-04-30}  # the last day of its security support
    [[steps]]
    id = "reserve-cve"                      # [a-z0-9-]
    title = "Reserve a CVE ID per issue"
    types = ["security"]                    # security, bugfix, feature, prerelease,
                                            # prerelease:alpha|beta|rc
    after = ["..."]                         # ids of the steps that come first
    description = "..."
    commands = ["..."]                      # shown; run by `vouch runbook run` if automated
    automated = false                       # its commands are vouch commands, run by the runner
    verify = false                          # a verification: a failure can never be passed

Templates use ``{name}``; ``{{`` and ``}}`` are literal braces. A command naming ``{cve}`` is
repeated for each CVE, one naming ``{branch}`` (or ``{branch_label}``, its last path component,
for file names) for each affected branch, and one naming both for each pair: two CVEs on three
branches give six commands. The affected branches are ``--branch`` (repeatable), else the main
branch and the stable branch of every series whose security support lasts until the release
date, from ``[security]``. ``{cve}`` and ``{branch}`` belong in commands only (titles and
descriptions use ``{cves}`` and ``{branches}``). Loading refuses, with the
reason: an unknown or missing format version, unknown keys, an unknown variable in a template,
a duplicate step id, an unknown dependency, a dependency cycle (named), an unknown release
type, a ``verify`` step that is not automated, an automated command that is not ``vouch ...``.
"""

from __future__ import annotations

import datetime
import hashlib
import heapq
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from vouch.errors import UsageError
from vouch.untrusted import DocumentError, load_toml

FORMAT_VERSION = 1
BUILTIN_PROFILES = ("generic", "django")
RELEASE_TYPES = ("security", "bugfix", "feature", "prerelease")
PHASES = ("alpha", "beta", "rc")
SELECTORS = frozenset(RELEASE_TYPES) | {f"prerelease:{phase}" for phase in PHASES}
# filled from the version and the command line; `cve` is each CVE ID in turn
BUILTINS = ("version", "series", "major", "minor", "micro", "pre", "type", "phase", "date",
            "week_before", "cves", "cve", "branches", "branch", "branch_label")  # fmt: skip
# built-ins that take one value per CVE or per affected branch: commands only
REPEATED = ("cve", "branch", "branch_label")
_TOP_KEYS = {"format-version", "name", "title", "description", "variables", "inputs", "steps", "security"}
_SECURITY_KEYS = {"main-branch", "stable-branch", "supported"}
_SERIES = re.compile(r"\d+\.\d+")
_STEP_KEYS = {"id", "title", "description", "commands", "types", "after", "automated", "verify"}
_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def template_fields(template: str, where: str) -> list[str]:
    """The variable names a template uses; malformed braces are refused."""
    fields = []
    for match in _TOKEN.finditer(template):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None or not _NAME.fullmatch(name):
            raise UsageError(
                f"{where}: {token!r} in {template!r} is not a {{variable}} (write {{{{ for a brace)"
            )
        fields.append(name)
    return fields


def substitute(template: str, values: Mapping[str, str | None]) -> tuple[str, list[str]]:
    """(the text, the names without a value): a missing value shows as ``<name>``."""
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = match.group(1)
        value = values.get(name)
        if value is None:
            missing.append(name)
            return f"<{name}>"
        return value

    return _TOKEN.sub(replace, template), missing


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    description: str
    commands: tuple[str, ...]
    types: frozenset[str]
    after: tuple[str, ...]
    automated: bool
    verify: bool

    def applies_to(self, release_type: str, phase: str | None) -> bool:
        return release_type in self.types or (phase is not None and f"{release_type}:{phase}" in self.types)


@dataclass(frozen=True)
class SecuritySupport:
    """Which branches a security release patches: the main branch and each supported series'."""

    main_branch: str
    stable_branch: str  # a template over {series}
    supported: Mapping[str, tuple[datetime.date, datetime.date]]  # series -> (branched, last day)

    def branches(self, on: datetime.date) -> tuple[str, ...]:
        """The main branch, then the stable branches of the series supported on ``on``, newest first."""
        series = sorted(
            (s for s, (start, until) in self.supported.items() if start <= on <= until),
            key=lambda s: tuple(int(part) for part in s.split(".")),
            reverse=True,
        )
        return (self.main_branch, *(substitute(self.stable_branch, {"series": s})[0] for s in series))


@dataclass(frozen=True)
class Runbook:
    name: str
    title: str
    description: str
    variables: Mapping[str, str]
    inputs: Mapping[str, str]
    steps: tuple[Step, ...]  # dependencies first; otherwise in the file's order
    source: str
    sha256: str
    security: SecuritySupport | None = None


def load_runbook(profile: str) -> Runbook:
    """A built-in profile by name, or a definition file by path."""
    if profile in BUILTIN_PROFILES:
        data = resources.files("vouch.release").joinpath("runbooks", f"{profile}.toml").read_bytes()
        return parse_runbook(data, f"{profile} (built in)")
    path = Path(profile)
    if not path.is_file():
        raise UsageError(
            f"no runbook profile {profile!r}", hint="use generic, django, or a runbook .toml file"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    return parse_runbook(data, str(path))


def _str(table: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = table.get(key, None if required else "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise UsageError(f"{where}: {key} must be a{' non-empty' if required else ''} string")
    return value


def _strings(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise UsageError(f"{where}: {key} must be a list of strings")
    return tuple(value)


def _bool(table: Mapping[str, Any], key: str, where: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise UsageError(f"{where}: {key} must be true or false")
    return value


def _names(table: Any, key: str, source: str) -> dict[str, str]:
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise UsageError(f"{source}: [{key}] must map names to strings")
    for name in table:
        if not _NAME.fullmatch(name) or name in BUILTINS:
            raise UsageError(f"{source}: [{key}] {name!r} is not a free variable name ([a-z][a-z0-9_]*)")
    return dict(table)


def _step(entry: Any, source: str, known: set[str]) -> Step:
    if not isinstance(entry, dict):
        raise UsageError(f"{source}: each [[steps]] entry must be a table")
    step_id = entry.get("id")
    if not isinstance(step_id, str) or not _ID.fullmatch(step_id):
        raise UsageError(f"{source}: step id {step_id!r} must match [a-z0-9][a-z0-9-]*")
    where = f"{source}: step {step_id}"
    unknown = set(entry) - _STEP_KEYS
    if unknown:
        raise UsageError(f"{where}: unknown keys {sorted(unknown)}", hint=f"known: {sorted(_STEP_KEYS)}")
    types = _strings(entry, "types", where)
    if not types or not set(types) <= SELECTORS:
        raise UsageError(f"{where}: types {list(types)} must be a non-empty list of {sorted(SELECTORS)}")
    step = Step(
        id=step_id,
        title=_str(entry, "title", where),
        description=_str(entry, "description", where, required=False),
        commands=_strings(entry, "commands", where),
        types=frozenset(types),
        after=_strings(entry, "after", where),
        automated=_bool(entry, "automated", where),
        verify=_bool(entry, "verify", where),
    )
    for text in (step.title, step.description, *step.commands):
        unknown_fields = set(template_fields(text, where)) - known
        if unknown_fields:
            raise UsageError(
                f"{where}: unknown variable {sorted(unknown_fields)[0]!r}", hint=f"known: {sorted(known)}"
            )
    repeated = set(template_fields(step.title + step.description, where)) & set(REPEATED)
    if repeated:
        name = sorted(repeated)[0]
        plural = "cves" if name == "cve" else "branches"
        raise UsageError(
            f"{where}: {{{name}}} repeats a command per {name.split('_')[0]}; "
            f"in a title or description use {{{plural}}}"
        )
    if step.verify and not step.automated:
        raise UsageError(f"{where}: a verify step must be automated (a vouch command decides, not a person)")
    if step.automated and not step.commands:
        raise UsageError(f"{where}: an automated step needs commands")
    for command in step.commands if step.automated else ():
        try:
            words = shlex.split(command)
        except ValueError as exc:
            raise UsageError(f"{where}: cannot split {command!r}: {exc}") from exc
        if not words or words[0] != "vouch":
            raise UsageError(f"{where}: automated commands are vouch commands, not {command!r}")
    return step


def _ordered(steps: Sequence[Step], source: str) -> tuple[Step, ...]:
    """Dependencies first, the file's order otherwise; unknown dependencies and cycles refused."""
    index = {step.id: i for i, step in enumerate(steps)}
    for step in steps:
        for dependency in step.after:
            if dependency not in index:
                raise UsageError(f"{source}: step {step.id} depends on unknown step {dependency!r}")
    _refuse_cycles(steps, source)
    waiting = {step.id: len(set(step.after)) for step in steps}
    dependents: dict[str, list[str]] = {step.id: [] for step in steps}
    for step in steps:
        for dependency in set(step.after):
            dependents[dependency].append(step.id)
    ready = [index[step.id] for step in steps if waiting[step.id] == 0]
    heapq.heapify(ready)
    ordered: list[Step] = []
    while ready:
        step = steps[heapq.heappop(ready)]
        ordered.append(step)
        for dependent in dependents[step.id]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                heapq.heappush(ready, index[dependent])
    return tuple(ordered)


def _refuse_cycles(steps: Sequence[Step], source: str) -> None:
    after = {step.id: step.after for step in steps}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(step_id: str, path: list[str]) -> None:
        if state.get(step_id) == 2:
            return
        if state.get(step_id) == 1:
            cycle = [*path[path.index(step_id) :], step_id]
            raise UsageError(f"{source}: the steps depend on each other in a cycle: {' -> '.join(cycle)}")
        state[step_id] = 1
        for dependency in after[step_id]:
            visit(dependency, [*path, step_id])
        state[step_id] = 2

    for step in steps:
        visit(step.id, [])


def parse_runbook(data: bytes, source: str) -> Runbook:
    try:
        document = load_toml(data, source)
    except DocumentError as exc:
        raise UsageError(str(exc)) from None
    version = document.get("format-version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise UsageError(
            f"{source}: format-version is {version!r}; this vouch reads runbook format {FORMAT_VERSION}",
            hint=f"add format-version = {FORMAT_VERSION} at the top" if version is None else None,
        )
    unknown = set(document) - _TOP_KEYS
    if unknown:
        raise UsageError(f"{source}: unknown keys {sorted(unknown)}", hint=f"known: {sorted(_TOP_KEYS)}")
    variables = _names(document.get("variables", {}), "variables", source)
    inputs = _names(document.get("inputs", {}), "inputs", source)
    if set(variables) & set(inputs):
        raise UsageError(f"{source}: {sorted(set(variables) & set(inputs))} both a variable and an input")
    known = set(BUILTINS) | set(inputs)
    for name, template in variables.items():  # a variable may use the built-ins, inputs and earlier ones
        used = set(template_fields(template, f"{source}: variable {name}"))
        if used & set(REPEATED):
            raise UsageError(f"{source}: variable {name} uses {{{sorted(used & set(REPEATED))[0]}}}, "
                             "which has one value per CVE or branch: use it in commands only")  # fmt: skip
        unknown_fields = used - known
        if unknown_fields:
            raise UsageError(f"{source}: variable {name} uses unknown {sorted(unknown_fields)[0]!r}")
        known.add(name)
    title = _str(document, "title", source)
    unknown_fields = set(template_fields(title, f"{source}: title")) - known
    if unknown_fields:
        raise UsageError(f"{source}: the title uses unknown {sorted(unknown_fields)[0]!r}")
    entries = document.get("steps")
    if not isinstance(entries, list) or not entries:
        raise UsageError(f"{source}: no [[steps]]")
    steps = [_step(entry, source, known) for entry in entries]
    seen: set[str] = set()
    for step in steps:
        if step.id in seen:
            raise UsageError(f"{source}: two steps have the id {step.id!r}")
        seen.add(step.id)
    return Runbook(
        name=_str(document, "name", source), title=title,
        description=_str(document, "description", source, required=False), variables=variables,
        inputs=inputs, steps=_ordered(steps, source), source=source, sha256=hashlib.sha256(data).hexdigest(),
        security=_security(document.get("security"), source),
    )  # fmt: skip


def _security(table: Any, source: str) -> SecuritySupport | None:
    if table is None:
        return None
    where = f"{source}: [security]"
    if not isinstance(table, dict):
        raise UsageError(f"{where} must be a table")
    unknown = set(table) - _SECURITY_KEYS
    if unknown:
        raise UsageError(f"{where}: unknown keys {sorted(unknown)}", hint=f"known: {sorted(_SECURITY_KEYS)}")
    stable = _str(table, "stable-branch", where)
    if set(template_fields(stable, where)) - {"series"}:
        raise UsageError(f"{where}: stable-branch may use {{series}} only")
    supported = table.get("supported", {})
    if not isinstance(supported, dict) or not supported:
        raise UsageError(f"{where}: supported must map each series (\"X.Y\") to its dates")
    periods: dict[str, tuple[datetime.date, datetime.date]] = {}
    for series, dates in supported.items():
        start = dates.get("from") if isinstance(dates, dict) else None
        until = dates.get("until") if isinstance(dates, dict) else None
        if (
            not _SERIES.fullmatch(series)
            or not isinstance(dates, dict)
            or set(dates) != {"from", "until"}
            or type(start) is not datetime.date
            or type(until) is not datetime.date
            or start > until
        ):
            raise UsageError(
                f"{where}: supported.{series} must be \"X.Y\" = {{from = YYYY-MM-DD, until = YYYY-MM-DD}}"
            )
        periods[series] = (start, until)
    return SecuritySupport(_str(table, "main-branch", where), stable, periods)
