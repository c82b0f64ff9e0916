"""A GitHub Actions workflow parsed with the line of every key, for locating findings.

PyYAML composes the node tree (which keeps marks); this module turns it into plain dicts, lists
and strings (scalars stay as written: ``on`` stays ``"on"``, ``false`` stays ``"false"``) and a
map from each route (``("jobs", "build", "steps", 0)``) to its 1-based line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vouch.errors import UsageError

Route = tuple[str | int, ...]


@dataclass(frozen=True)
class Workflow:
    path: str  # as reported: relative to the audited root, with forward slashes
    document: dict[str, Any]
    lines: dict[Route, int] = field(repr=False)

    def line(self, route: Route) -> int:
        """The line of ``route``, else of its nearest ancestor that has one."""
        while route:
            if route in self.lines:
                return self.lines[route]
            route = route[:-1]
        return 1

    @property
    def triggers(self) -> dict[str, Any]:
        """``on:`` as a mapping of event name to its filter (None when it has none)."""
        on = self.document.get("on")
        if isinstance(on, str):
            return {on: None}
        if isinstance(on, list):
            return {str(event): None for event in on}
        return dict(on) if isinstance(on, dict) else {}

    def jobs(self) -> Iterator[tuple[str, dict[str, Any]]]:
        jobs = self.document.get("jobs")
        if isinstance(jobs, dict):
            for name, job in jobs.items():
                if isinstance(job, dict):
                    yield str(name), job


def steps(job: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    raw = job.get("steps")
    if isinstance(raw, list):
        for index, step in enumerate(raw):
            if isinstance(step, dict):
                yield index, step


def _plain(node: yaml.Node, route: Route, lines: dict[Route, int]) -> Any:
    lines.setdefault(route, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
            lines[(*route, key)] = key_node.start_mark.line + 1
            result[key] = _plain(value_node, (*route, key), lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, (*route, n), lines) for n, item in enumerate(node.value)]
    return str(node.value) if node.tag != "tag:yaml.org,2002:null" else None


def parse_workflow(text: str, path: str) -> Workflow:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "unreadable"
        raise UsageError(
            f"{path} is not valid YAML{where}: {problem}", hint="fix the YAML and audit again"
        ) from exc
    lines: dict[Route, int] = {}
    document = _plain(node, (), lines) if node is not None else {}
    if not isinstance(document, dict):
        raise UsageError(f"{path} is not a workflow: its top level is not a mapping")
    return Workflow(path, document, lines)


def collect(root: Path) -> tuple[Path, list[Path]]:
    """The base directory for reported paths, and the workflow files under ``root``: ``root``
    itself if it is a file, else ``.github/workflows/*.y(a)ml`` under it, else its own ``*.y(a)ml``;
    and its ``.gitlab-ci.yml``."""
    if root.is_file():
        return root.parent, [root]
    if not root.is_dir():
        raise UsageError(f"{root} does not exist")
    folder = root / ".github" / "workflows"
    search = folder if folder.is_dir() else root
    files = sorted(p for p in search.iterdir() if p.suffix in {".yml", ".yaml"} and p.is_file())
    gitlab = root / ".gitlab-ci.yml"
    if gitlab.is_file() and gitlab not in files:
        files.append(gitlab)
    return root, files


def load(base: Path, files: list[Path]) -> list[Workflow]:
    workflows = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {file}: {exc}") from exc
        workflows.append(parse_workflow(text, file.relative_to(base).as_posix()))
    return workflows
