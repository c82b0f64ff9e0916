"""One release's checklist: a runbook definition, a version, its release type, its variables.

The type is inferred from the version when not given: ``X.Y`` or ``X.Y.0`` is a feature release,
``X.Y.Z`` a bugfix release, ``aN``/``bN``/``rcN`` a pre-release (phase alpha, beta or rc). A
security release is never inferred: ``--type security`` with its CVE IDs. A type that
contradicts the version is refused, except security on a bugfix version.

Steps of other types drop out; a step's dependencies on dropped steps are replaced by theirs, so
the order stays what the definition says. Each command naming ``{cve}`` is repeated for each CVE,
each naming ``{branch}`` for each affected branch, and each naming both for every pair.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from packaging.version import InvalidVersion, Version

from vouch.errors import UsageError
from vouch.release.runbook import (
    BUILTINS,
    FORMAT_VERSION,
    RELEASE_TYPES,
    Runbook,
    substitute,
    template_fields,
)

_CVE = re.compile(r"CVE-\d{4}-\d{4,}")
_BRANCH = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,199}")
_PHASES = {"a": "alpha", "b": "beta", "rc": "rc"}


@dataclass(frozen=True)
class Release:
    version: str
    type: str
    phase: str | None  # alpha, beta or rc for a pre-release
    cves: tuple[str, ...] = ()
    date: datetime.date | None = None
    branches: tuple[str, ...] = ()  # a security release: the branches it patches

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "type": self.type, "phase": self.phase, "cves": list(self.cves),
                "date": self.date.isoformat() if self.date else None,
                "branches": list(self.branches)}  # fmt: skip


def inferred_type(version: Version) -> str | None:
    if version.pre is not None:
        return "prerelease"
    if version.dev is not None or version.post is not None or version.local or version.epoch:
        return None
    if len(version.release) == 2 or (len(version.release) == 3 and version.release[2] == 0):
        return "feature"
    return "bugfix" if len(version.release) == 3 else None


def release(
    version: str,
    requested: str | None = None,
    cves: Sequence[str] = (),
    date: datetime.date | None = None,
    branches: Sequence[str] = (),
) -> Release:
    try:
        parsed = Version(version)
    except InvalidVersion as exc:
        raise UsageError(f"{version!r} is not a version (PEP 440)") from exc
    if requested is not None and requested not in RELEASE_TYPES:
        raise UsageError(f"unknown release type {requested!r}: {', '.join(RELEASE_TYPES)}")
    inferred = inferred_type(parsed)
    chosen = requested or inferred
    if chosen is None:
        raise UsageError(f"cannot tell which kind of release {version} is", hint="pass --type")
    if requested == "security":
        if inferred not in ("bugfix", None):
            raise UsageError(
                f"{version} is a {inferred} version: a security release is a bugfix release X.Y.Z"
            )
        if not cves:
            raise UsageError("a security release names its CVE IDs", hint="--cve CVE-YYYY-NNNN (repeatable)")
    elif requested is not None and inferred is not None and requested != inferred:
        raise UsageError(f"{version} is a {inferred} release version; --type {requested} does not fit it")
    if cves and chosen != "security":
        raise UsageError("--cve goes with --type security")
    normalized = [cve.upper() for cve in cves]
    for cve in normalized:
        if not _CVE.fullmatch(cve):
            raise UsageError(f"{cve!r} is not a CVE ID (CVE-YYYY-NNNN)")
    if len(set(normalized)) != len(normalized):
        raise UsageError("a CVE ID is given twice")
    _check_branches(branches, chosen)
    phase = _PHASES[parsed.pre[0]] if chosen == "prerelease" and parsed.pre else None
    return Release(version, chosen, phase, tuple(normalized), date, tuple(branches))


def _check_branches(branches: Sequence[str], release_type: str) -> None:
    if branches and release_type != "security":
        raise UsageError("--branch goes with --type security (the branches a security release patches)")
    for branch in branches:
        if not _BRANCH.fullmatch(branch) or ".." in branch or branch.endswith((".lock", "/")):
            raise UsageError(f"{branch!r} is not a branch name")
    if len(set(branches)) != len(branches):
        raise UsageError("a branch is given twice")


def affected_branches(runbook: Runbook, release: Release) -> tuple[str, ...]:
    """A security release's branches: as given, else the profile's supported series on the release
    date. None known (no ``[security]`` table, or no date) leaves ``<branch>`` to fill in."""
    if release.type != "security" or release.branches:
        return release.branches
    if runbook.security is None or release.date is None:
        return ()
    return runbook.security.branches(release.date)


def builtin_values(release: Release) -> dict[str, str | None]:
    parsed = Version(release.version)
    parts = [*parsed.release, 0, 0]
    week_before = release.date - datetime.timedelta(days=7) if release.date else None
    return {
        "version": release.version,
        "series": f"{parts[0]}.{parts[1]}",
        "major": str(parts[0]),
        "minor": str(parts[1]),
        "micro": str(parts[2]),
        "pre": "".join(map(str, parsed.pre)) if parsed.pre else "",
        "type": release.type,
        "phase": release.phase,
        "date": release.date.isoformat() if release.date else None,
        "week_before": week_before.isoformat() if week_before else None,
        "cves": ", ".join(release.cves) or None,
        "cve": None,
        "branches": " ".join(release.branches) or None,
        "branch": None,
        "branch_label": None,
    }


@dataclass(frozen=True)
class Variables:
    """Values by name. A value the releaser did not give is None (shown as ``<name>``); a
    variable built from missing ones keeps their placeholders and remembers their names."""

    values: Mapping[str, str | None]
    needs: Mapping[str, tuple[str, ...]]

    def fill(self, template: str, **extra: str) -> tuple[str, list[str]]:
        """(the text, the names of the missing values it needs)."""
        text, missing = substitute(template, {**self.values, **extra})
        for name in template_fields(template, "template"):
            missing += self.needs.get(name, ())
        return text, list(dict.fromkeys(missing))


def resolve_variables(runbook: Runbook, release: Release, given: Mapping[str, str]) -> Variables:
    """Built-ins, the definition's inputs, then its variables (each overridable with --set)."""
    for name in given:
        if name in BUILTINS:
            raise UsageError(f"--set {name}: built in (it comes from the version, --type, --date or --cve)")
        if name not in runbook.variables and name not in runbook.inputs:
            names = ", ".join(sorted({*runbook.variables, *runbook.inputs}))
            raise UsageError(f"--set {name}: {runbook.name} has no such variable", hint=f"it has: {names}")
    values = builtin_values(release)
    for name in runbook.inputs:
        values[name] = given.get(name)
    needs: dict[str, tuple[str, ...]] = {}
    for name, template in runbook.variables.items():
        if name in given:
            values[name] = given[name]
            continue
        values[name], missing = Variables(values, needs).fill(template)
        if missing:
            needs[name] = tuple(missing)
    return Variables(values, needs)


@dataclass(frozen=True)
class PlannedStep:
    id: str
    title: str
    description: str
    commands: tuple[str, ...]
    automated: bool
    verify: bool
    after: tuple[str, ...]
    missing: tuple[str, ...]  # variables without a value, shown as <name>
    # what the runner executes: each command split first, then filled in word by word, so a
    # value with spaces or quotes stays one argument
    argvs: tuple[tuple[str, ...], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "description": self.description,
                "commands": list(self.commands), "automated": self.automated, "verify": self.verify,
                "after": list(self.after), "missing": list(self.missing)}  # fmt: skip


@dataclass(frozen=True)
class Plan:
    runbook: Runbook
    release: Release
    title: str  # the definition's title, filled in ("Django", or the project's name)
    variables: Mapping[str, str | None]
    steps: tuple[PlannedStep, ...]

    @property
    def missing(self) -> list[str]:
        return sorted({name for step in self.steps for name in step.missing})

    def to_json(self) -> dict[str, Any]:
        return {
            "runbook-format": FORMAT_VERSION,
            "profile": {"name": self.runbook.name, "title": self.title,
                        "source": self.runbook.source, "sha256": self.runbook.sha256},
            "release": self.release.to_json(),
            "variables": {k: v for k, v in self.variables.items() if k != "cve"},
            "missing": self.missing,
            "steps": [step.to_json() for step in self.steps],
        }  # fmt: skip

    @property
    def sha256(self) -> str:
        """Identifies the plan: a state file is only resumed with the plan it was written for."""
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode("utf-8")).hexdigest()


def _expand(
    template: str, variables: Variables, release: Release, *, split: bool
) -> list[tuple[str, list[str], tuple[str, ...]]]:
    """(command, missing values, argv if ``split``) once, or once per CVE, per affected branch, or
    per pair of both, as the command names ``{cve}`` and ``{branch}``/``{branch_label}``."""
    fields = set(template_fields(template, "command"))
    per_cve: list[dict[str, str]] = [{"cve": cve} for cve in release.cves] if "cve" in fields else []
    per_branch: list[dict[str, str]] = (
        [{"branch": b, "branch_label": b.rsplit("/", 1)[-1]} for b in release.branches]
        if fields & {"branch", "branch_label"}
        else []
    )
    each = [a | b for a in per_cve or [{}] for b in per_branch or [{}]]
    expanded = []
    for extra in each:
        text, missing = variables.fill(template, **extra)
        argv = tuple(variables.fill(word, **extra)[0] for word in shlex.split(template)) if split else ()
        expanded.append((text, missing, argv))
    return expanded


def make_plan(runbook: Runbook, release: Release, given: Mapping[str, str] | None = None) -> Plan:
    release = replace(release, branches=affected_branches(runbook, release))
    variables = resolve_variables(runbook, release, given or {})
    chosen = [step for step in runbook.steps if step.applies_to(release.type, release.phase)]
    kept = {step.id for step in chosen}
    by_id = {step.id: step for step in runbook.steps}
    effective: dict[str, tuple[str, ...]] = {}

    def after(step_id: str) -> tuple[str, ...]:
        if step_id not in effective:  # dropped dependencies are replaced by theirs (no cycles: checked)
            found: dict[str, None] = {}
            for dependency in by_id[step_id].after:
                for item in (dependency,) if dependency in kept else after(dependency):
                    found[item] = None
            effective[step_id] = tuple(found)
        return effective[step_id]

    planned = []
    for step in chosen:
        title, missing_title = variables.fill(step.title)
        description, missing_text = variables.fill(step.description)
        missing = [*missing_title, *missing_text]
        commands, argvs = [], []
        for template in step.commands:
            for command, missing_command, argv in _expand(
                template, variables, release, split=step.automated
            ):
                commands.append(command)
                argvs.append(argv)
                missing += missing_command
        planned.append(PlannedStep(step.id, title, description.strip(), tuple(commands), step.automated,
                                   step.verify, after(step.id), tuple(dict.fromkeys(missing)),
                                   tuple(argvs) if step.automated else ()))  # fmt: skip
    title = variables.fill(runbook.title)[0]
    return Plan(runbook, release, title, variables.values, tuple(planned))
