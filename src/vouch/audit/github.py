"""The GitHub REST API responses a repository audit needs, fetched live or read from an export.

An export is JSON: ``{"version": 1, "repository": "OWNER/REPO", "responses": {PATH: {"status":
N, "body": ...}}}``, PATH being the API path (``repos/OWNER/REPO/environments``). Lists are
stored with every page merged. The token (``GITHUB_TOKEN``, read-only) is sent only to the API
host and never stored or printed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from vouch.atomic import dump_json, write_bytes_atomic
from vouch.errors import NetworkError, OutputError, UsageError
from vouch.host import Host

EXPORT_VERSION = 1
API = "https://api.github.com"
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
# (API path under repos/OWNER/REPO, paginated list?)
ENDPOINTS = (
    ("", False),
    ("collaborators?affiliation=all", True),
    ("teams", True),
    ("keys", True),
    ("rulesets?includes_parents=true", True),
    ("environments", False),
    ("actions/permissions/workflow", False),
    ("immutable-releases", False),
)


@dataclass(frozen=True)
class Response:
    status: int
    body: Any


@dataclass(frozen=True)
class RepositoryExport:
    repository: str
    responses: dict[str, Response]

    def get(self, endpoint: str) -> Response:
        path = f"repos/{self.repository}/{endpoint}".rstrip("/")
        return self.responses.get(path, Response(0, None))

    def to_json(self) -> dict[str, Any]:
        return {
            "version": EXPORT_VERSION,
            "repository": self.repository,
            "responses": {p: {"status": r.status, "body": r.body} for p, r in self.responses.items()},
        }


def check_repository(name: str) -> str:
    if not _REPO.match(name):
        raise UsageError(f"--github {name!r}: expected OWNER/REPO")
    return name


def read_export(path: Path) -> RepositoryExport:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the GitHub export {path}: {exc}") from exc
    if not isinstance(document, dict) or document.get("version") != EXPORT_VERSION:
        raise UsageError(f"{path} is not a vouch GitHub export (version {EXPORT_VERSION})")
    repository, responses = document.get("repository"), document.get("responses")
    if not isinstance(repository, str) or not isinstance(responses, dict):
        raise UsageError(f"{path}: an export needs `repository` and `responses`")
    parsed = {}
    for key, value in responses.items():
        if not isinstance(value, dict) or not isinstance(value.get("status"), int):
            raise UsageError(f"{path}: response {key!r} has no status")
        parsed[str(key)] = Response(value["status"], value.get("body"))
    return RepositoryExport(check_repository(repository), parsed)


def write_export(export: RepositoryExport, path: Path) -> None:
    try:
        write_bytes_atomic(path, dump_json(export.to_json()).encode("utf-8"))
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}") from exc


def _get_all(client: httpx.Client, path: str, paginated: bool) -> Response:
    url: str | None = f"{API}/{path}" + (
        (("&" if "?" in path else "?") + "per_page=100") if paginated else ""
    )
    pages: list[Any] = []
    while url is not None:
        try:
            response = client.get(url)
        except httpx.HTTPError as exc:
            raise NetworkError(f"cannot reach the GitHub API: {type(exc).__name__}") from exc
        try:
            body = response.json() if response.content else None
        except ValueError as exc:
            raise NetworkError(f"GitHub answered {path} with something that is not JSON") from exc
        if response.status_code != 200 or not paginated:
            return Response(response.status_code, body)
        if not isinstance(body, list):
            raise NetworkError(f"GitHub answered {path} with {type(body).__name__}, not a list")
        pages.extend(body)
        next_link = response.links.get("next", {}).get("url")
        url = next_link if next_link and next_link.startswith(API + "/") else None
    return Response(200, pages)


def fetch_export(repository: str, token: str | None, *, host: Host | None = None) -> RepositoryExport:
    """Every response the audit reads; rulesets are fetched one by one for their bypass actors."""
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    responses: dict[str, Response] = {}
    base = f"repos/{check_repository(repository)}"
    with (host or Host()).http_client(timeout=30, headers=headers) as client:
        for endpoint, paginated in ENDPOINTS:
            path = f"{base}/{endpoint}".rstrip("/")
            responses[path] = _get_all(client, path, paginated)
        rulesets = responses[f"{base}/rulesets?includes_parents=true"]
        if rulesets.status == 200 and isinstance(rulesets.body, list):
            for summary in rulesets.body:
                if isinstance(summary, dict) and isinstance(summary.get("id"), int):
                    path = f"{base}/rulesets/{summary['id']}"
                    responses[path] = _get_all(client, path, False)
    return RepositoryExport(repository, responses)
