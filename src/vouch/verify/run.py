"""``vouch verify INPUT``: every file a lock pins, checked, stored, judged.

1. read the lock (``locks``) and the verify policy (``evidence``);
2. for each pinned file and each release's history, take the settled result from the database
   (``store``) unless ``refresh``; the rest are tasks (``tasks``), run in-process or on Dask
   (``fanout``), each result stored as it arrives;
3. the evidence of projects the policy gives evidence for, checked k-of-n per release;
4. each file judged (``continuity``): one state, with the reasons and identities compared; a
   verified publisher is recorded for the project when none was (trust on first use).
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.version import Version

from vouch.errors import CheckError, NetworkError, UsageError
from vouch.host import Host, default_cache_dir
from vouch.index import PYPI_SIMPLE
from vouch.index.simple import SimpleIndex, files_of_release
from vouch.index.urls import redact
from vouch.verify.continuity import judge
from vouch.verify.evidence import (
    Evidence,
    VerifyPolicy,
    check_release_evidence,
    load_verify_policy,
    read_project_evidence,
    with_evidence,
)
from vouch.verify.fanout import Call, run_calls
from vouch.verify.locks import Lock, Pin, read_lock
from vouch.verify.model import (
    SETTLED,
    FileOutcome,
    FileTask,
    History,
    HistoryTask,
    Outcome,
    State,
    TrustSpec,
    Verdict,
    stored_size,
)
from vouch.verify.rebuilds import (
    COMPILED,
    NOT_CHECKED,
    NOT_REBUILT,
    RebuildTask,
    Rebuilt,
    ReleaseRebuild,
    fold,
    is_pure,
    rebuild_release,
)
from vouch.verify.sources import Reader
from vouch.verify.store import Store
from vouch.verify.tasks import check_file, release_history

Progress = Callable[[int, int, int], None]  # (done, total, of which cached)
DEFAULT_DEADLINE = 300.0


@dataclass(frozen=True)
class VerifyOptions:
    input: str
    index_url: str = PYPI_SIMPLE
    policy: Path | None = None
    history: int = 5
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    scheduler: str | None = None
    db: str | None = None
    refresh: bool = False
    rebuild: bool = False  # rebuild pure-Python wheels from the release's sdist (``rebuilds``)
    trust: TrustSpec = field(default_factory=TrustSpec)
    deadline: float = DEFAULT_DEADLINE
    cache_dir: Path = field(default_factory=default_cache_dir)
    host: Host = field(default_factory=Host)  # evidence URLs are fetched on its transport
    unsafe_http_loopback: bool = False  # the tests' seam: evidence URLs may be http to loopback


@dataclass(frozen=True)
class VerifyReport:
    source: str
    kind: str
    index: str
    trust_root: str
    database: str
    verdicts: tuple[Verdict, ...]
    checked: int  # tasks run now
    cached: int  # results read from the database

    @property
    def exit_code(self) -> int:
        """0 all verified or accepted; 1 any file found wanting; else 3 when one was not checked."""
        wanting = [v for v in self.verdicts if not v.ok]
        if any(v.state is not State.UNCHECKED for v in wanting):
            return 1
        return 3 if wanting or not self.verdicts else 0

    def count(self, state: State) -> int:
        return sum(v.state is state for v in self.verdicts)

    def to_json(self) -> dict[str, Any]:
        return {"version": 1, "ok": self.exit_code == 0, "input": self.source, "kind": self.kind,
                "index": self.index, "trust_root": self.trust_root, "database": self.database,
                "checked": self.checked, "cached": self.cached,
                "counts": {str(s): self.count(s) for s in State},
                "files": [v.to_json() for v in self.verdicts]}  # fmt: skip


def verify(options: VerifyOptions, progress: Progress = lambda *_: None) -> VerifyReport:
    if options.history < 0:
        raise UsageError("--history must be 0 or more")
    if options.workers < 1:
        raise UsageError("--workers must be at least 1")
    if not options.deadline > 0:
        raise UsageError("--deadline must be a positive number of seconds")
    lock = read_lock(options.input)
    policy = load_verify_policy(options.policy, unsafe_http_loopback=options.unsafe_http_loopback)
    shown_index = redact(options.index_url)
    trust_name = options.trust.name
    with Store(options.db) as store:
        if lock.kind == "release":
            lock = _expand_release(lock, options)
        run = _Run(options, lock, store, trust_name=trust_name, shown_index=shown_index, progress=progress)
        run.check()
        if options.rebuild:
            run.check_rebuilds()
        run.check_evidence(policy)
        verdicts = run.judge(policy)
        return VerifyReport(lock.source, lock.kind, shown_index, trust_name, store.shown,
                            tuple(verdicts), run.ran, run.cached)  # fmt: skip


def _expand_release(lock: Lock, options: VerifyOptions) -> Lock:
    """``pypi:NAME==VERSION``: every file of the release that the index lists, at its digest."""
    (pin,) = lock.pins
    with SimpleIndex(options.index_url, cache_dir=options.cache_dir / "dists") as index:
        files = files_of_release(index.project_files(pin.project), pin.project, Version(pin.version))
    if not files:
        shown = redact(options.index_url)
        raise CheckError(f"{shown} lists no sdist or wheel of {pin.project} {pin.version}")
    unhashed = [f.filename for f in files if not f.sha256]
    if unhashed:
        raise CheckError(f"the index lists no sha256 for {', '.join(unhashed)}")
    pins = tuple(Pin(pin.project, pin.version, f.filename, f.sha256) for f in files)
    return Lock(lock.source, lock.kind, pins)


class _Run:
    """The state of one verification: what was found for each file and release."""

    def __init__(self, options: VerifyOptions, lock: Lock, store: Store, *, trust_name: str,
                 shown_index: str, progress: Progress) -> None:  # fmt: skip
        self.options, self.lock, self.store, self.progress = options, lock, store, progress
        self.trust_name, self.shown_index = trust_name, shown_index
        self.files: dict[Pin, FileOutcome] = {}
        self.from_store: set[Pin] = set()
        self.histories: dict[str, History] = {}
        self.evidence: dict[tuple[str, str], Outcome] = {}  # (release, sha256) -> outcome
        self.rebuilds: dict[Pin, Rebuilt] = {}
        self.ran = self.cached = self.done = 0
        self.total = len(lock.pins) + len(self._history_releases())

    @functools.cached_property
    def run_id(self) -> str:
        """This run's name, so that a worker reads each project's index page once per run."""
        return uuid.uuid4().hex

    def _history_releases(self) -> list[str]:
        return sorted({p.release for p in self.lock.pins if p.project not in self.lock.identities})

    def _file_task(self, pin: Pin) -> FileTask:
        assert pin.sha256 is not None  # noqa: S101 - a release's pins are expanded first
        return FileTask(self.options.index_url, pin.project, pin.version, pin.filename, pin.sha256,
                        self.lock.identities.get(pin.project, ()), self.options.trust,
                        self.options.deadline, self.run_id)  # fmt: skip

    def _tick(self, *, cached: bool) -> None:
        self.done += 1
        self.cached += cached
        self.ran += not cached
        self.progress(self.done, self.total, self.cached)

    def check(self) -> None:
        calls: list[Call] = []
        handlers: dict[str, Callable[[Any, str | None], None]] = {}
        for number, pin in enumerate(self.lock.pins):
            task = self._file_task(pin)
            stored = None if self.options.refresh else self._stored_file(task)
            if stored is not None:
                self.files[pin] = stored
                self.from_store.add(pin)
                self._tick(cached=True)
                continue
            key = f"file-{number}"
            calls.append(Call(key, check_file, task, self.options.deadline))
            handlers[key] = self._file_handler(pin, task)
        for release in self._history_releases():
            project, version = release.split("==")
            history_task = HistoryTask(self.options.index_url, project, version, self.options.history,
                                       self.options.trust, self.options.deadline)  # fmt: skip
            inputs = history_task.inputs(self.trust_name, self.shown_index)
            found = None if self.options.refresh else self.store.get(release, "history", inputs)
            if found is not None and found.state == "settled":
                self.histories[release] = History.from_json(found.result)
                self._tick(cached=True)
                continue
            key = f"history-{release}"
            calls.append(Call(key, release_history, history_task, self.options.deadline))
            handlers[key] = self._history_handler(release, inputs)

        self._fan_out(calls, handlers)

    def _stored_file(self, task: FileTask) -> FileOutcome | None:
        inputs = task.inputs(self.trust_name, self.shown_index)
        index = self.store.get(task.sha256, "index", inputs)
        provenance = self.store.get(task.sha256, "provenance", inputs)
        if index is None or provenance is None:
            return None
        listed, checked = Outcome.from_json(index.result["outcome"]), Outcome.from_json(provenance.result)
        found = FileOutcome(index.result["filename"], task.sha256, listed, checked,
                            stored_size(index.result.get("size")))  # fmt: skip
        return found if found.settled else None

    def _file_handler(self, pin: Pin, task: FileTask) -> Callable[[Any, str | None], None]:
        def handle(result: Any, problem: str | None) -> None:
            if result is None:
                shown = pin.filename or f"{pin.project}-{pin.version}"
                outcome = Outcome(State.UNCHECKED, problem)
                result = FileOutcome(shown, task.sha256, outcome, outcome)
            assert isinstance(result, FileOutcome)  # noqa: S101 - what check_file returns
            inputs = task.inputs(self.trust_name, self.shown_index)
            self.store.put(task.sha256, "index", inputs, str(result.index.state),
                           {"filename": result.filename, "outcome": result.index.to_json(),
                            "size": result.size})  # fmt: skip
            self.store.put(task.sha256, "provenance", inputs, str(result.provenance.state),
                           result.provenance.to_json())  # fmt: skip
            self.files[pin] = result
            self._tick(cached=False)

        return handle

    def _history_handler(self, release: str, inputs: dict[str, Any]) -> Callable[[Any, str | None], None]:
        def handle(result: Any, problem: str | None) -> None:
            history = result if isinstance(result, History) else History(problem=problem)
            state = "settled" if history.settled else "not checked"
            self.store.put(release, "history", inputs, state, history.to_json())
            self.histories[release] = history
            self._tick(cached=False)

        return handle

    def check_rebuilds(self) -> None:
        """Rebuild each release's pure-Python wheels from its sdist, unless the database has them."""
        calls: list[Call] = []
        handlers: dict[str, Callable[[Any, str | None], None]] = {}
        for release in sorted({p.release for p in self.lock.pins}):
            pins = [p for p in self.lock.pins if p.release == release]
            wheels = [p for p in pins if self.files[p].filename.endswith(".whl")]
            sdists = [p for p in pins if self.files[p].filename.endswith(".tar.gz")]
            pure = []
            for pin in wheels:
                if not is_pure(self.files[pin].filename):
                    self.rebuilds[pin] = Rebuilt(NOT_REBUILT, COMPILED)
                elif self.files[pin].index.state is not State.VERIFIED:
                    self.rebuilds[pin] = Rebuilt(NOT_REBUILT, "not rebuilt: the index check did not pass")
                elif not sdists or self.files[sdists[0]].index.state is not State.VERIFIED:
                    # --rebuild was asked for and cannot run: not checked, never passed over
                    why = "the input pins no sdist of it that the index serves as locked to rebuild from"
                    self.rebuilds[pin] = Rebuilt(NOT_CHECKED, why)
                else:
                    pure.append(pin)
            if not pure:
                continue
            project, version = release.split("==")
            task = RebuildTask(self.options.index_url, project, version, self.options.deadline)
            inputs = task.inputs(self.shown_index, self.files[sdists[0]].sha256)
            stored = {}
            for pin in [] if self.options.refresh else pure:
                found = self.store.get(self.files[pin].sha256, "rebuild", inputs)
                if found is not None and (rebuilt := Rebuilt.from_json(found.result)).settled:
                    stored[pin] = rebuilt
            self.total += 1
            if len(stored) == len(pure):
                self.rebuilds.update(stored)
                self._tick(cached=True)
                continue
            key = f"rebuild-{release}"
            size = self.files[sdists[0]].size or 0  # the largest sdists first: the shortest tail
            calls.append(Call(key, rebuild_release, task, self.options.deadline, priority=size))
            handlers[key] = self._rebuild_handler(pure, inputs)

        self._fan_out(calls, handlers)

    def _fan_out(self, calls: list[Call], handlers: dict[str, Callable[[Any, str | None], None]]) -> None:
        """Run ``calls`` on this run's workers; each result goes to the handler of its key."""

        def done(key: str, result: Any, problem: str | None) -> None:
            handlers[key](result, problem)

        run_calls(calls, done, workers=self.options.workers, scheduler=self.options.scheduler)

    def _rebuild_handler(self, pins: list[Pin], inputs: dict[str, Any]) -> Callable[[Any, str | None], None]:
        def handle(result: Any, problem: str | None) -> None:
            outcome = result if isinstance(result, ReleaseRebuild) else ReleaseRebuild(problem=problem)
            for pin in pins:
                rebuilt = outcome.of(self.files[pin].sha256)
                state = "settled" if rebuilt.settled else "not checked"
                self.store.put(self.files[pin].sha256, "rebuild", inputs, state, rebuilt.to_json())
                self.rebuilds[pin] = rebuilt
            self._tick(cached=False)

        return handle

    def check_evidence(self, policy: VerifyPolicy) -> None:
        """The k-of-n check of each release whose project has evidence in the verify policy. The
        policy and evidence are read (from disk or URLs) for each project once; a result is stored
        under their digests, so evidence changed at the same URL is checked again."""
        trust = self.options.trust.trust()
        releases = sorted({p.release for p in self.lock.pins if policy.project(p.project).evidence})
        read: dict[str, Evidence | str] = {}  # project -> its evidence, or why it could not be read
        with Reader(self.options.host, deadline=self.options.deadline) as reader:
            for project in sorted({release.split("==")[0] for release in releases}):
                try:
                    read[project] = read_project_evidence(policy.project(project), reader)
                except NetworkError as exc:
                    read[project] = f"evidence not checked: {exc}"
        for release in releases:
            project, version = release.split("==")
            pins = [p for p in self.lock.pins if p.release == release and p.sha256]
            evidence = read[project]
            if isinstance(evidence, str):  # nothing read, nothing to key a result by: not stored
                for pin in pins:
                    self.evidence[(release, pin.sha256 or "")] = Outcome(State.UNCHECKED, evidence)
                continue
            inputs = {**evidence.inputs(), "index": self.shown_index, "release": release,
                      "trust": self.trust_name}  # fmt: skip
            stored = {}
            for pin in [] if self.options.refresh else pins:
                if pin.sha256 and (found := self.store.get(pin.sha256, "evidence", inputs)) is not None:
                    stored[pin.sha256] = found
            if all(p.sha256 in stored and stored[p.sha256].state in SETTLED for p in pins):
                for sha256, found in stored.items():
                    self.evidence[(release, sha256)] = Outcome.from_json(found.result)
                continue
            with SimpleIndex(self.options.index_url, cache_dir=self.options.cache_dir / "dists",
                             host=self.options.host, deadline=self.options.deadline) as index:  # fmt: skip
                try:
                    outcomes = check_release_evidence(index, project, version, evidence, trust)
                except CheckError as exc:
                    outcomes = {p.sha256 or "": Outcome(State.UNCHECKED, str(exc)) for p in pins}
            for sha256, outcome in outcomes.items():
                self.store.put(sha256, "evidence", inputs, str(outcome.state), outcome.to_json())
                self.evidence[(release, sha256)] = outcome

    def judge(self, policy: VerifyPolicy) -> list[Verdict]:
        recorded = {project: self.store.recorded_identity(project) for project in self.lock.projects}
        verdicts = []
        to_record: dict[str, tuple[str, str]] = {}
        for pin in self.lock.pins:
            settings = policy.project(pin.project)
            found = self.files[pin]
            from_lock = pin.project in self.lock.identities
            judgement = judge(found, self.histories.get(pin.release), recorded[pin.project],
                              from_lock=from_lock, accepted_identities=settings.identities)  # fmt: skip
            if settings.evidence:
                default = Outcome(State.FAILED, "the index does not serve this file in the release")
                judgement = with_evidence(judgement, self.evidence.get((pin.release, found.sha256), default))
            rebuilt = self.rebuilds.get(pin)
            if rebuilt is not None:
                judgement = fold(judgement, rebuilt, accept_equivalent=settings.accept_equivalent)
            if (judgement.state is State.VERIFIED and judgement.identity and not from_lock
                    and judgement.identity != recorded[pin.project]):  # fmt: skip
                to_record[pin.project] = (judgement.identity, pin.version)
            verdicts.append(Verdict(
                pin.project, pin.version, found.filename, found.sha256, judgement.state,
                tuple(r for r in judgement.reasons if r), judgement.identity, judgement.earlier,
                accepted=judgement.state in settings.accept, cached=pin in self.from_store,
                checks={"index": str(found.index.state), "provenance": str(found.provenance.state)},
                rebuild=None if rebuilt is None else rebuilt.to_json(),
            ))  # fmt: skip
        for project, (identity, version) in sorted(to_record.items()):
            self.store.record_identity(project, identity, version)
        for missing in self.lock.unindexed:
            accepted = State.UNCHECKED in policy.project(missing.project).accept
            verdicts.append(Verdict(missing.project, "", "-", "", State.UNCHECKED, (missing.reason,),
                                    accepted=accepted))  # fmt: skip
        return verdicts
