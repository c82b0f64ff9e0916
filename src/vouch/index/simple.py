"""A small client for the PEP 691 JSON simple API, with downloads checked against sha256.

pip and uv do not expose their index clients as libraries, and vouch needs to know exactly which
file (name and sha256) it installs, so the client is here: httpx with an injectable transport
(``transport=``, else the ``host``'s: see ``vouch.host``).

An index is hostile input. A page is read up to ``MAX_PAGE_BYTES``, a download up to the size the
index declares (PEP 700 ``size``) or else ``max_download_bytes``, each request within an overall
deadline, redirects only on the same host (``vouch.index.http``). A file's ``sha256`` must be 64
lowercase hex digits and its name a plain file name before either is used, so the download cache
path (``CACHE/SHA256/FILENAME``) is built only from validated values; a page that breaks these
rules, or is not the JSON it claims to be, is a NetworkError (exit 3) with one line. A download cut
short or refused leaves nothing behind. ``VOUCH_INDEX_DEADLINE`` (seconds, default 600) and
``VOUCH_MAX_DOWNLOAD_BYTES`` (default 1 GiB) set the deadline and the download cap.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
from packaging.utils import canonicalize_name
from packaging.version import Version

from vouch.digests import file_sha256
from vouch.dist import dist_name_version, is_plain_filename
from vouch.errors import NetworkError, UsageError, VerificationError
from vouch.host import Host, Progress
from vouch.index import PYPI_SIMPLE
from vouch.index.http import BoundedClient
from vouch.index.urls import parse_url, redact

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
INTEGRITY_JSON = "application/vnd.pypi.integrity.v1+json"
MAX_PROVENANCE_BYTES = 16 << 20  # PyPI's provenance objects are a few KiB
MAX_PAGE_BYTES = 20 << 20  # PyPI's largest project pages are a few MiB
MAX_DOWNLOAD_BYTES = 1 << 30  # when the index declares no size
DEADLINE = 600.0  # seconds for one request, body included
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_MAX_JSON_DEPTH = 32


def valid_sha256(value: str) -> bool:
    return bool(_SHA256.match(value))


@dataclass(frozen=True)
class IndexFile:
    """One file of a project as the index lists it."""

    filename: str
    url: str
    sha256: str  # 64 lowercase hex digits, or "" when the index lists none
    yanked: bool = False
    upload_time: str | None = None
    provenance: str | None = None  # PEP 740: the URL of the file's provenance object, if listed
    size: int | None = None  # PEP 700: the size the index declares, if any


class SimpleIndex:
    """Read project pages from a PEP 691 index and download files into a content-addressed cache."""

    def __init__(
        self,
        url: str = PYPI_SIMPLE,
        *,
        cache_dir: Path,
        transport: httpx.BaseTransport | None = None,
        host: Host | None = None,
        timeout: float = 60.0,
        deadline: float | None = None,
        max_download_bytes: int | None = None,
    ) -> None:
        parse_url(url, "the index URL")
        self.url = url if url.endswith("/") else url + "/"
        self.cache_dir = cache_dir
        if deadline is None:
            deadline = _setting("VOUCH_INDEX_DEADLINE", DEADLINE)
        self.max_download_bytes = (
            max_download_bytes
            if max_download_bytes is not None
            else int(_setting("VOUCH_MAX_DOWNLOAD_BYTES", MAX_DOWNLOAD_BYTES))
        )
        if transport is None and host is not None:
            transport = host.transport
        self._http = BoundedClient(transport=transport, timeout=timeout, deadline=deadline)

    @property
    def shown_url(self) -> str:
        """The index URL without credentials: the form to print or record."""
        return redact(self.url)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SimpleIndex:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def project_files(self, name: str, *, missing_ok: bool = False) -> list[IndexFile]:
        """The project's files: PEP 691 JSON, or a PEP 503 HTML page where the index serves
        only that (pypiserver, devpi). ``missing_ok``: a project the index does not know (404)
        has no files, rather than being an error."""
        url = f"{self.url}{canonicalize_name(name)}/"
        shown = redact(url)
        accept = {"Accept": f"{SIMPLE_JSON}, text/html;q=0.1"}
        with self._http.stream(url, accept, doing="reading the index page") as response:
            if response.status_code == 404 and missing_ok:
                return []
            if response.status_code != 200:
                raise NetworkError(f"the index answered {response.status_code} for {shown}")
            body = self._http.read(response, MAX_PAGE_BYTES, f"the index page {shown}")
            base = response.url
            html = response.headers.get("content-type", "").startswith("text/html")
        if html:
            return _html_files(body.decode("utf-8", errors="replace"), base, shown)
        return _json_files(body, base, shown)

    def provenance_url(self, file: IndexFile, project: str, version: str) -> str:
        """PEP 740: the file's ``provenance`` URL, else PyPI's Integrity API on the index's host."""
        if file.provenance:
            return file.provenance
        path = f"/integrity/{canonicalize_name(project)}/{version}/{file.filename}/provenance"
        return str(httpx.URL(self.url).copy_with(path=path, query=None, fragment=None))

    def fetch_provenance(self, url: str) -> bytes | None:
        """The provenance object at ``url`` (unparsed); None when the index has none (HTTP 404)."""
        with self._http.stream(url, {"Accept": INTEGRITY_JSON}) as response:
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise NetworkError(f"the index answered {response.status_code} for {redact(url)}")
            return self._http.read(response, MAX_PROVENANCE_BYTES, redact(url))

    def cached(self, sha256: str, filename: str) -> Path | None:
        """The cached copy of a file, if its content still has the expected sha256."""
        if not valid_sha256(sha256) or not is_plain_filename(filename):
            return None
        path = self.cache_dir / sha256 / filename
        if path.is_file() and file_sha256(path) == sha256:
            return path
        return None

    def download(self, file: IndexFile, progress: Progress | None = None) -> Path:
        """Download ``file`` into the cache (once), refusing content whose sha256 differs, or that is
        larger than the index declared (or than ``max_download_bytes``). ``progress`` hears
        "downloading NAME (1.2 of 11.3 MB)" at most every quarter second."""
        if not valid_sha256(file.sha256):
            raise VerificationError(f"the index lists no valid sha256 for {file.filename!r}; not downloaded")
        if not is_plain_filename(file.filename):
            raise NetworkError(f"the index lists a file named {file.filename!r}, which is not a plain name")
        if (hit := self.cached(file.sha256, file.filename)) is not None:
            return hit
        target = self.cache_dir / file.sha256 / file.filename
        limit = file.size if file.size is not None else self.max_download_bytes
        shown = redact(file.url)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out, self._http.stream(file.url, doing="downloading") as response:
                if response.status_code != 200:
                    raise NetworkError(f"downloading {shown} gave HTTP {response.status_code}")
                meter = ByteMeter(f"downloading {file.filename}", file.size, progress)
                for chunk in self._http.iter_body(response, limit, f"{file.filename} from {shown}"):
                    digest.update(chunk)
                    out.write(chunk)
                    meter.add(len(chunk))
                meter.done()
            if digest.hexdigest() != file.sha256:
                raise VerificationError(
                    f"{file.filename} from {shown} has sha256 {digest.hexdigest()}, "
                    f"but the index lists {file.sha256}"
                )
            Path(tmp_name).replace(target)
        finally:
            Path(tmp_name).unlink(missing_ok=True)
        return target


def megabytes(count: int) -> str:
    return f"{count / 1e6:.1f} MB"


class ByteMeter:
    """Progress of one transfer, in bytes, told to ``progress`` at most every ``every`` seconds
    (and once at the start and the end), so that a fast stream costs nothing."""

    def __init__(self, what: str, total: int | None, progress: Progress | None, every: float = 0.25) -> None:
        self.what, self.total, self.progress, self.every = what, total, progress, every
        self.count = 0
        self.last = time.monotonic()
        self._tell()

    def _tell(self) -> None:
        if self.progress is None:
            return
        done = f"{self.count / 1e6:.1f}"
        self.progress(
            f"{self.what} ({done} of {megabytes(self.total)})" if self.total else f"{self.what} ({done} MB)"
        )

    def add(self, count: int) -> None:
        self.count += count
        if self.progress is not None and (now := time.monotonic()) - self.last >= self.every:
            self.last = now
            self._tell()

    def done(self) -> None:
        self._tell()


def _setting(name: str, default: float) -> float:
    """A positive number from the environment (``VOUCH_INDEX_DEADLINE`` seconds,
    ``VOUCH_MAX_DOWNLOAD_BYTES``), else ``default``."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        number = 0
    if not 0 < number < float("inf"):
        raise UsageError(f"{name}={value!r} is not a positive number")
    return number


def _json_files(body: bytes, base: httpx.URL, shown: str) -> list[IndexFile]:
    """PEP 691: ``{"files": [{"filename", "url", "hashes": {"sha256"}, ...}]}``, every field checked."""
    try:
        page = json.loads(body)
        if _depth(page) > _MAX_JSON_DEPTH:
            raise ValueError("nested too deeply")
        if not isinstance(page, dict) or not isinstance(page.get("files"), list):
            raise ValueError("no list of files")
        return [_index_file(entry, base) for entry in page["files"]]
    except (ValueError, RecursionError, httpx.InvalidURL) as exc:
        raise NetworkError(f"the index page {shown} is not PEP 691 JSON: {_first_line(exc)}") from exc


def _depth(value: object) -> int:
    """How deeply ``value`` nests (iteratively: a hostile page must not exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > _MAX_JSON_DEPTH:
            return deepest
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, level + 1) for child in children)
    return deepest


def _string(entry: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = entry.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key!r} of a file is {type(value).__name__}, not a string")
    return value


def _index_file(entry: object, base: httpx.URL) -> IndexFile:
    if not isinstance(entry, dict):
        raise ValueError(f"a file entry is {type(entry).__name__}, not an object")
    filename = _string(entry, "filename") or ""
    if not is_plain_filename(filename):
        raise ValueError(f"file name {filename!r} is not a plain file name")
    hashes = entry.get("hashes", {})
    if not isinstance(hashes, dict):
        raise ValueError(f"'hashes' of {filename} is not an object")
    sha256 = _string(hashes, "sha256", required=False) or ""
    if sha256 and not valid_sha256(sha256):
        raise ValueError(f"the sha256 of {filename} is not 64 lowercase hex digits")
    yanked = entry.get("yanked", False)
    if not isinstance(yanked, bool | str):
        raise ValueError(f"'yanked' of {filename} is neither a boolean nor a reason")
    size = entry.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise ValueError(f"'size' of {filename} is not a non-negative integer")
    provenance = _string(entry, "provenance", required=False)
    return IndexFile(
        filename=filename,
        url=str(base.join(_string(entry, "url") or "")),
        sha256=sha256,
        yanked=bool(yanked),
        upload_time=_string(entry, "upload-time", required=False),
        provenance=str(base.join(provenance)) if provenance else None,
        size=size,
    )


def _first_line(exc: BaseException) -> str:
    text = redact(str(exc).strip())
    return text.splitlines()[0] if text else type(exc).__name__


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


def _html_files(text: str, base: httpx.URL, shown: str) -> list[IndexFile]:
    """PEP 503: one anchor per file, named by its text, with ``#sha256=`` on its URL."""
    parser = _Links()
    files = []
    try:
        parser.feed(text)
        for href, filename in parser.links:
            url = base.join(href)
            _, _, digest = (url.fragment or "").partition("sha256=")
            if not is_plain_filename(filename):
                raise ValueError(f"file name {filename!r} is not a plain file name")
            if digest and not valid_sha256(digest):
                raise ValueError(f"the sha256 of {filename} is not 64 lowercase hex digits")
            files.append(IndexFile(filename=filename, url=str(url.copy_with(fragment=None)), sha256=digest))
    except (ValueError, httpx.InvalidURL) as exc:
        raise NetworkError(f"the index page {shown} is not a PEP 503 page: {_first_line(exc)}") from exc
    return files


def files_of_release(files: list[IndexFile], name: str, version: Version) -> list[IndexFile]:
    """The sdists and wheels of ``name`` ``version`` among a project's files (yanked ones included),
    by their file names parsed as packaging parses them."""
    wanted = (canonicalize_name(name), version)
    return [file for file in files if dist_name_version(file.filename) == wanted]


def nearby_versions(files: list[IndexFile], name: str, version: Version, count: int = 5) -> list[str]:
    """Up to ``count`` versions of ``name`` that the index does list, the nearest to ``version``
    first in order (for "that release does not exist; these do")."""
    project = canonicalize_name(name)
    listed = sorted(
        {found[1] for f in files if (found := dist_name_version(f.filename)) and found[0] == project}
    )
    at = sum(v < version for v in listed)  # where version would stand among them
    ranked = sorted(range(len(listed)), key=lambda i: at - 1 - i if i < at else i - at)
    nearest = sorted(listed[i] for i in ranked[:count])
    return [str(v) for v in nearest]


def missing_release(index_url: str, files: list[IndexFile], name: str, version: Version) -> tuple[str, str]:
    """(message, hint) for a release the index does not list, naming the versions it does."""
    near = nearby_versions(files, name, version)
    listed = f"; it lists {', '.join(near)}" if near else "; it lists no release of that project"
    hint = (
        f"pick a version it lists, e.g. {name}=={near[-1]}" if near else "check the project name and --index"
    )
    return f"{redact(index_url)} lists no sdist or wheel of {name} {version}{listed}", hint
