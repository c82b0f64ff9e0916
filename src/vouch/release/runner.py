"""Walk a release's checklist, resumably.

Each step in order: an automated step's vouch commands are run (with this interpreter's vouch),
a manual step is confirmed by the releaser. After every step the state file is rewritten
atomically (temp file, fsync, rename), so an interrupted run resumes at the first step not done,
and never repeats one that is. A failing command stops the run. The releaser may confirm that a
failed ordinary step was done another way; a failed verification step can never be passed.

The state file (JSON) carries ``format``/``format-version`` and the sha256 of the plan it belongs
to: resuming with another plan (another version, type, profile or variable) is refused.
"""

from __future__ import annotations

import datetime
import functools
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vouch.atomic import dump_json, write_bytes_atomic
from vouch.errors import CheckError, OutputError, UsageError
from vouch.host import Host
from vouch.release.plan import Plan, PlannedStep
from vouch.untrusted import DocumentError, load_json, read_regular_file

STATE_FORMAT = "vouch-runbook-state"
STATE_VERSION = 1

Execute = Callable[[Sequence[str]], int]
Confirm = Callable[[str], bool]
Say = Callable[[str], None]
Clock = Callable[[], datetime.datetime]


def run_vouch(argv: Sequence[str], *, host: Host | None = None) -> int:
    """Runs ``vouch ARGS...`` with the vouch of this interpreter; its output goes to the terminal."""
    host = host or Host()
    return host.run([sys.executable, "-m", "vouch", *argv[1:]], capture=False).returncode


def default_state_path(plan: Plan) -> Path:
    return Path(f"vouch-runbook-{plan.runbook.name}-{plan.release.version}-{plan.release.type}.state.json")


@dataclass
class State:
    path: Path
    plan_sha256: str
    document: dict[str, Any]

    @property
    def steps(self) -> dict[str, dict[str, Any]]:
        steps: dict[str, dict[str, Any]] = self.document["steps"]
        return steps

    def done(self, step_id: str) -> bool:
        return self.steps.get(step_id, {}).get("status") == "done"

    def record(self, step_id: str, entry: dict[str, Any]) -> None:
        self.steps[step_id] = entry
        try:
            write_bytes_atomic(self.path, dump_json(self.document).encode("utf-8"))
        except OSError as exc:
            raise OutputError(f"cannot write the state file {self.path}: {exc.strerror}") from exc


def open_state(path: Path, plan: Plan) -> State:
    """The state of an earlier run of this plan, or a new one (written at the first step)."""
    if not path.exists():
        document = {
            "format": STATE_FORMAT, "format-version": STATE_VERSION, "plan-sha256": plan.sha256,
            "profile": plan.runbook.name, "release": plan.release.to_json(), "steps": {},
        }  # fmt: skip
        return State(path, plan.sha256, document)
    try:
        document = load_json(read_regular_file(path, "the state file"), f"the state file {path}")
    except DocumentError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise CheckError(f"cannot read the state file {path}: {exc.strerror}") from exc
    if not isinstance(document, dict) or document.get("format") != STATE_FORMAT:
        raise UsageError(f"{path} is not a vouch runbook state file")
    if document.get("format-version") != STATE_VERSION:
        raise UsageError(
            f"{path} has state format {document.get('format-version')!r}; this vouch reads {STATE_VERSION}"
        )
    if document.get("plan-sha256") != plan.sha256:
        raise UsageError(
            f"{path} belongs to another plan (another version, type, profile, date, CVE or variable)",
            hint="run with the same arguments as before, or pass another --state FILE",
        )
    steps = document.get("steps")
    if not isinstance(steps, dict) or not all(isinstance(v, dict) for v in steps.values()):
        raise UsageError(f"{path}: steps must map step ids to records")
    return State(path, plan.sha256, document)


@dataclass
class RunResult:
    completed: bool
    state_path: Path
    stopped_at: str | None = None
    reason: str | None = None
    ran: list[str] = field(default_factory=list)  # done in this run
    skipped: list[str] = field(default_factory=list)  # done before


def _run_commands(step: PlannedStep, execute: Execute, say: Say) -> tuple[int, str]:
    say("  vouch runs:")
    for command in step.commands:
        say(f"    {command}")
    for command, argv in zip(step.commands, step.argvs, strict=True):
        say(f"$ {command}")
        code = execute(argv)
        if code != 0:
            return code, command
    return 0, ""


def run_plan(
    plan: Plan,
    state_path: Path,
    *,
    confirm: Confirm,
    execute: Execute | None = None,
    say: Say = print,
    clock: Clock | None = None,
    host: Host | None = None,
) -> RunResult:
    """Walk ``plan`` from where its state file says it stopped (see the module docstring).
    ``execute`` runs a step's vouch command (default: :func:`run_vouch` on ``host``); ``clock``
    dates each step (default: the host's)."""
    host = host or Host()
    execute = execute or functools.partial(run_vouch, host=host)
    clock = clock or host.clock
    unset = sorted({name for step in plan.steps if step.automated for name in step.missing})
    if unset:
        raise UsageError(
            f"automated steps need {', '.join(unset)}", hint=" ".join(f"--set {name}=..." for name in unset)
        )
    state = open_state(state_path, plan)
    result = RunResult(completed=False, state_path=state_path)
    total = len(plan.steps)
    for number, step in enumerate(plan.steps, 1):
        if state.done(step.id):
            result.skipped.append(step.id)
            continue
        say(f"[{number}/{total}] {step.title} ({step.id})")
        for line in textwrap.wrap(step.description, width=96):  # the checklist itself
            say(f"  {line}")
        now = clock().isoformat(timespec="seconds")
        if not step.automated:
            if step.commands:
                say("  the commands, for you to run:")
            for command in step.commands:
                say(f"    {command}")
            if not confirm(f"{step.title}: done?"):
                result.stopped_at, result.reason = step.id, "not confirmed"
                return result
            state.record(step.id, {"status": "done", "how": "confirmed", "at": now})
            result.ran.append(step.id)
            continue
        code, command = _run_commands(step, execute, say)
        if code == 0:
            state.record(step.id, {"status": "done", "how": "ran", "at": now})
            result.ran.append(step.id)
            continue
        failure = f"`{command}` failed (exit {code})"
        if not step.verify and confirm(f"{failure}. Did you complete '{step.title}' another way?"):
            state.record(step.id, {"status": "done", "how": "confirmed after a failure", "at": now,
                                   "exit-code": code, "command": command})  # fmt: skip
            result.ran.append(step.id)
            continue
        state.record(step.id, {"status": "failed", "at": now, "exit-code": code, "command": command})
        result.stopped_at = step.id
        result.reason = failure + (": a verification step cannot be passed" if step.verify else "")
        return result
    result.completed = True
    return result
