"""A small client for the PEP 691 JSON simple API, with downloads checked against sha256.

pip and uv do not expose their index clients as libraries, and vouch needs to know exactly which
file (name and sha256) it installs, so the client is here: httpx with an injectable transport.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
from packaging.utils import canonicalize_name

from vouch import __version__
from vouch.digests import file_sha256
from vouch.errors import NetworkError, VerificationError

PYPI_SIMPLE = "https://pypi.org/simple/"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
INTEGRITY_JSON = "application/vnd.pypi.integrity.v1+json"
MAX_PROVENANCE_BYTES = 16 << 20  # PyPI's provenance objects are a few KiB


@dataclass(frozen=True)
class IndexFile:
    """One file of a project as the index lists it."""

    filename: str
    url: str
    sha256: str
    yanked: bool = False
    upload_time: str | None = None
    provenance: str | None = None  # PEP 740: the URL of the file's provenance object, if listed


class SimpleIndex:
    """Read project pages from a PEP 691 index and download files into a content-addressed cache."""

    def __init__(
        self,
        url: str = PYPI_SIMPLE,
        *,
        cache_dir: Path,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.cache_dir = cache_dir
        self._client = httpx.Client(
            transport=transport,
            timeout=timeout,
            follow_redirects=True,
            headers={"User-Agent": f"vouch/{__version__}"},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> SimpleIndex:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def project_files(self, name: str, *, missing_ok: bool = False) -> list[IndexFile]:
        """The project's files: PEP 691 JSON, or a PEP 503 HTML page where the index serves
        only that (pypiserver, devpi). ``missing_ok``: a project the index does not know (404)
        has no files, rather than being an error."""
        url = f"{self.url}{canonicalize_name(name)}/"
        try:
            response = self._client.get(url, headers={"Accept": f"{SIMPLE_JSON}, text/html;q=0.1"})
        except httpx.HTTPError as exc:
            raise NetworkError(f"cannot reach the index at {url}: {exc}") from exc
        if response.status_code == 404 and missing_ok:
            return []
        if response.status_code != 200:
            raise NetworkError(f"the index answered {response.status_code} for {url}")
        if response.headers.get("content-type", "").startswith("text/html"):
            return _html_files(response.text, response.url)
        try:
            page: dict[str, Any] = response.json()
            return [_index_file(entry, response.url) for entry in page["files"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise NetworkError(f"the index page {url} is not PEP 691 JSON: {exc}") from exc

    def provenance_url(self, file: IndexFile, project: str, version: str) -> str:
        """PEP 740: the file's ``provenance`` URL, else PyPI's Integrity API on the index's host."""
        if file.provenance:
            return file.provenance
        path = f"/integrity/{canonicalize_name(project)}/{version}/{file.filename}/provenance"
        return str(httpx.URL(self.url).copy_with(path=path, query=None, fragment=None))

    def fetch_provenance(self, url: str) -> bytes | None:
        """The provenance object at ``url`` (unparsed); None when the index has none (HTTP 404)."""
        body = bytearray()
        try:
            with self._client.stream("GET", url, headers={"Accept": INTEGRITY_JSON}) as response:
                if response.status_code == 404:
                    return None
                if response.status_code != 200:
                    raise NetworkError(f"the index answered {response.status_code} for {url}")
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_PROVENANCE_BYTES:
                        raise NetworkError(f"{url} is larger than {MAX_PROVENANCE_BYTES} bytes")
        except httpx.HTTPError as exc:
            raise NetworkError(f"fetching {url} failed: {exc}") from exc
        return bytes(body)

    def cached(self, sha256: str, filename: str) -> Path | None:
        """The cached copy of a file, if its content still has the expected sha256."""
        path = self.cache_dir / sha256 / filename
        if path.is_file() and file_sha256(path) == sha256:
            return path
        return None

    def download(self, file: IndexFile) -> Path:
        """Download ``file`` into the cache (once), refusing content whose sha256 differs."""
        if (hit := self.cached(file.sha256, file.filename)) is not None:
            return hit
        target = self.cache_dir / file.sha256 / file.filename
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out, self._client.stream("GET", file.url) as response:
                if response.status_code != 200:
                    raise NetworkError(f"downloading {file.url} gave HTTP {response.status_code}")
                for chunk in response.iter_bytes():
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != file.sha256:
                raise VerificationError(
                    f"{file.filename} from {file.url} has sha256 {digest.hexdigest()}, "
                    f"but the index lists {file.sha256}"
                )
            Path(tmp_name).replace(target)
        except httpx.HTTPError as exc:
            raise NetworkError(f"downloading {file.url} failed: {exc}") from exc
        finally:
            Path(tmp_name).unlink(missing_ok=True)
        return target


def _index_file(entry: dict[str, Any], base: httpx.URL) -> IndexFile:
    hashes = entry.get("hashes") or {}
    return IndexFile(
        filename=str(entry["filename"]),
        url=str(base.join(str(entry["url"]))),
        sha256=str(hashes.get("sha256", "")).lower(),
        yanked=bool(entry.get("yanked", False)),
        upload_time=str(entry["upload-time"]) if entry.get("upload-time") else None,
        provenance=str(base.join(str(entry["provenance"]))) if entry.get("provenance") else None,
    )


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href, self._text = dict(attrs).get("href") or "", ""

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, self._text.strip()))
            self._href = None


def _html_files(text: str, base: httpx.URL) -> list[IndexFile]:
    """PEP 503: one anchor per file, named by its text, with ``#sha256=`` on its URL."""
    parser = _Links()
    parser.feed(text)
    files = []
    for href, filename in parser.links:
        url = base.join(href)
        _, _, digest = (url.fragment or "").partition("sha256=")
        files.append(
            IndexFile(filename=filename, url=str(url.copy_with(fragment=None)), sha256=digest.lower())
        )
    return files
