"""Checksum files in Django's layout (or plain ``sha256sum``): made from artifacts, and checked.

Django's layout, as its release script writes it and ``scripts/verify_release.sh`` reads it::

    prose: what the file is, the release date, the signing key's ID, how to import the key,
    ``gpg --verify NAME``, then how to check the packages

    Release packages       one URL per package
    MD5 checksums          <hash>  <filename>   (two spaces: ``md5sum --check`` reads them,
    SHA1 checksums         <hash>  <filename>    and ``sha256sum --check`` skips the lines of
    SHA256 checksums       <hash>  <filename>    other lengths)
    Git tag                The TAG tag points to commit SHA.

Each section title is underlined with ``=``. The same inputs give the same bytes: packages
are ordered (sdists, then wheels, by name), the date is an input (the CLI defaults it to the
commit date, never silently to today), the month name is English whatever the locale, and
nothing else varies. A clearsignature (``clearsign``) carries gpg's signing time; the text it
signs does not change.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from vouch.errors import UsageError, VerificationError

ALGORITHMS = ("md5", "sha1", "sha256")
TITLES = {"md5": "MD5 checksums", "sha1": "SHA1 checksums", "sha256": "SHA256 checksums"}
HEX_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64}
KEYSERVER = "hkps://keys.openpgp.org"
_MONTHS = ("January", "February", "March", "April", "May", "June", "July",
           "August", "September", "October", "November", "December")  # fmt: skip
_ENTRY = re.compile(r"(?P<digest>[0-9A-Fa-f]+) [ *](?P<filename>.+)")
_TAG_LINE = re.compile(r"The (?P<tag>\S+) tag points to commit (?P<commit>[0-9a-f]{40}|[0-9a-f]{64})\.")


def file_digests(path: Path) -> dict[str, str]:
    """MD5, SHA1 and SHA256 of a file in one streamed pass (MD5 and SHA1 as Django lists them,
    not as a security measure: only SHA256 is required when checking)."""
    hashers = {
        "md5": hashlib.md5(usedforsecurity=False),
        "sha1": hashlib.sha1(usedforsecurity=False),
        "sha256": hashlib.sha256(),
    }
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            for hasher in hashers.values():
                hasher.update(chunk)
    return {name: hasher.hexdigest() for name, hasher in hashers.items()}


def long_date(day: datetime.date) -> str:
    """``June 1, 2025``: Django's release date style, in English whatever the locale."""
    return f"{_MONTHS[day.month - 1]} {day.day}, {day.year}"


@dataclass(frozen=True)
class Package:
    filename: str
    kind: str  # "tarball" (an sdist) or "wheel"
    url: str
    digests: Mapping[str, str]


@dataclass(frozen=True)
class ChecksumFile:
    """Everything the file says; ``django()`` and ``sha256sum()`` are its two layouts."""

    project: str
    version: str
    released: datetime.date
    packages: tuple[Package, ...]
    name: str  # the file's own name, for `gpg --verify NAME`
    key_id: str | None = None
    key_url: str | None = None
    commit: str | None = None
    tag: str | None = None

    def sha256sum(self) -> str:
        return "".join(f"{p.digests['sha256']}  {p.filename}\n" for p in self.packages)

    def django(self) -> str:
        if self.key_id is None:
            raise UsageError(
                "the django layout names the signing key's ID: pass --key-id ID or --sign gpg:FINGERPRINT"
            )
        kinds = {p.kind for p in self.packages}
        what = {frozenset({"tarball"}): "source-code tarball", frozenset({"wheel"}): "wheel files"}.get(
            frozenset(kinds), "source-code tarball and wheel files"
        )
        paragraphs = [
            f"This file contains MD5, SHA1, and SHA256 checksums for the {what} of "
            f"{self.project} {self.version}, released {long_date(self.released)}.",
        ]
        if self.commit is not None:
            paragraphs.append(
                "It also names the commit of the release tag: the exact source revision the "
                "packages were built from."
            )
        paragraphs.append(
            "To use this file, you will need a working install of PGP or other compatible "
            "public-key encryption software. You will also need to have the "
            f"{self.project} release manager's public key in your keyring. This key has the ID "
            f"``{self.key_id}`` and can be imported, for example with the open-source GNU "
            "Privacy Guard implementation of PGP, "
            + ("from its URL:" if self.key_url else "from a keyserver:")
        )
        text = "\n\n".join(_fill(p) for p in paragraphs)
        fetch = (
            f"curl -sSL {self.key_url} | gpg --import -"
            if self.key_url
            else f"gpg --keyserver {KEYSERVER} --recv-keys {self.key_id}"
        )
        text += f"\n\n    {fetch}\n\nOnce the key is imported, verify this file:\n\n"
        text += f"    gpg --verify {self.name}\n\n"
        text += _fill(
            "Once you have verified this file, you can use normal MD5, SHA1, or SHA256 "
            f"checksumming applications to generate the checksums of the {self.project} "
            "packages and compare them to the checksums listed below, for example:"
        )
        text += f"\n\n    sha256sum --check {self.name}\n"
        sections = [("Release packages", [p.url for p in self.packages])]
        sections += [
            (TITLES[a], [f"{p.digests[a]}  {p.filename}" for p in self.packages]) for a in ALGORITHMS
        ]
        if self.commit is not None:
            sections.append(
                ("Git tag", [f"The {self.tag or self.version} tag points to commit {self.commit}."])
            )
        for title, lines in sections:
            text += f"\n{title}\n{'=' * len(title)}\n\n" + "".join(f"{line}\n" for line in lines)
        return text


def _fill(paragraph: str) -> str:
    return textwrap.fill(paragraph, width=72, break_long_words=False, break_on_hyphens=False)


def _parse_artifact(path: Path) -> tuple[str, str, str, str]:
    """(name as written, canonical name, version, kind) of an sdist or wheel file name."""
    filename = path.name
    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
            kind = "wheel"
        elif filename.endswith(".tar.gz"):
            name, version = parse_sdist_filename(filename)
            kind = "tarball"
        else:
            raise UsageError(f"{filename} is neither an sdist (.tar.gz) nor a wheel (.whl)")
    except (InvalidWheelFilename, InvalidSdistFilename) as exc:
        raise UsageError(f"{filename}: {exc}") from exc
    # the name as the file spells it: a wheel's name has no '-', an sdist's ends at the last one
    written = (
        filename.split("-")[0] if kind == "wheel" else filename.removesuffix(".tar.gz").rpartition("-")[0]
    )
    return written, canonicalize_name(name), str(version), kind


def default_package_url(name: str, package: str, kind: str) -> str:
    """PyPI's stable download URL of a file (files.pythonhosted.org redirects to the stored file)."""
    python_tag = "source" if kind == "tarball" else package.split("-")[-3]
    return f"https://files.pythonhosted.org/packages/{python_tag}/{name[0]}/{name}/{package}"


def release_name_version(artifacts: Sequence[Path]) -> tuple[str, str]:
    """(project name as written in the first file name, version) of one release's sdists and
    wheels; refuses files of several releases, missing files and other kinds of files."""
    first = _parsed(artifacts)[0]
    return first[1], first[3]


def _parsed(artifacts: Sequence[Path]) -> list[tuple[Path, str, str, str, str]]:
    if not artifacts:
        raise UsageError("name the release's sdist and wheel")
    parsed: dict[str, tuple[Path, str, str, str, str]] = {}
    for path in artifacts:
        if not path.is_file():
            raise UsageError(f"{path} does not exist or is not a file")
        if path.name in parsed:
            raise UsageError(f"{path.name} is named twice")
        parsed[path.name] = (path, *_parse_artifact(path))
    releases = {(canonical, version) for _, _, canonical, version, _ in parsed.values()}
    if len(releases) != 1:
        found = ", ".join(sorted(f"{n} {v}" for n, v in releases))
        raise UsageError(f"the artifacts belong to more than one release: {found}")
    # sdists first, then wheels, each by name: the order of the arguments does not matter
    return sorted(parsed.values(), key=lambda item: (item[4] != "tarball", item[0].name))


def collect_packages(
    artifacts: Sequence[Path], *, package_url: str | None = None
) -> tuple[str, str, tuple[Package, ...]]:
    """(project name as written, version, packages with their digests) of one release.

    ``package_url`` is a template with ``{name}``, ``{version}``, ``{filename}`` and ``{kind}``
    (``tarball`` or ``wheel``); the default is PyPI's download URL.
    """
    order = _parsed(artifacts)
    packages = []
    for path, _, canonical, version, kind in order:
        if package_url is None:
            url = default_package_url(canonical, path.name, kind)
        else:
            try:
                url = package_url.format(name=canonical, version=version, filename=path.name, kind=kind)
            except (KeyError, IndexError, ValueError, AttributeError) as exc:
                raise UsageError(
                    f"--package-url {package_url!r}: {exc!r}",
                    hint="placeholders: {name} {version} {filename} {kind}",
                ) from exc
        packages.append(Package(path.name, kind, url, file_digests(path)))
    return order[0][1], order[0][3], tuple(packages)


# ---- reading a checksum file back -------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    line: int  # 1-based, in the signed text
    algorithm: str
    digest: str
    filename: str


@dataclass(frozen=True)
class Listing:
    entries: tuple[Entry, ...]
    tag: str | None
    commit: str | None

    @property
    def filenames(self) -> list[str]:
        return list(dict.fromkeys(entry.filename for entry in self.entries))


def _heading(lines: Sequence[str], index: int) -> str | None:
    if index + 1 < len(lines) and lines[index] and re.fullmatch(r"=+", lines[index + 1]):
        return lines[index].removesuffix(":").strip()
    return None


def _entry(number: int, line: str, algorithm: str | None) -> Entry:
    match = _ENTRY.fullmatch(line)
    expected = f"<{algorithm.upper()} hash>" if algorithm else "<hash>"
    if match is None:
        raise VerificationError(f"line {number}: {line!r} is not '{expected}  <filename>'")
    digest = match["digest"].lower()
    if algorithm is None:
        algorithm = {length: name for name, length in HEX_LENGTHS.items()}.get(len(digest))
    if algorithm is None or len(digest) != HEX_LENGTHS[algorithm]:
        raise VerificationError(f"line {number}: {line!r} does not hold a {expected} of the right length")
    filename = match["filename"]
    if "/" in filename or "\\" in filename or filename in (".", "..") or "\0" in filename:
        raise VerificationError(f"line {number}: {filename!r} is not a plain file name")
    return Entry(number, algorithm, digest, filename)


def parse_listing(text: str, *, first_line: int = 1) -> Listing:
    """The checksums of a (signed) text: Django's sections, else ``sha256sum`` lines.

    Every line of a checksum section must be an entry; every file needs a SHA256 checksum;
    a file listed twice for one algorithm is refused. Whitespace at line ends is ignored (a
    clearsignature does not cover it). Lines are numbered from ``first_line``: where the text
    starts in the file.
    """
    lines = [line.rstrip(" \t\r") for line in text.split("\n")]
    sections = {i: _heading(lines, i) for i in range(len(lines))}
    django = any(title in TITLES.values() for title in sections.values())
    entries: list[Entry] = []
    current: str | None = None
    for index, line in enumerate(lines):
        title = sections[index]
        if title is not None:
            current = next((a for a, t in TITLES.items() if t == title), None)
            continue
        if not line or re.fullmatch(r"=+", line) or (django and current is None):
            continue
        entries.append(_entry(index + first_line, line, current))
    if not entries:
        raise VerificationError("the file lists no checksums")
    seen: dict[tuple[str, str], int] = {}
    for entry in entries:
        key = (entry.algorithm, entry.filename)
        if key in seen:
            raise VerificationError(
                f"line {entry.line}: a second {entry.algorithm.upper()} checksum of {entry.filename} "
                f"(the first is on line {seen[key]})"
            )
        seen[key] = entry.line
    for filename in dict.fromkeys(entry.filename for entry in entries):
        if ("sha256", filename) not in seen:
            raise VerificationError(f"{filename} has no SHA256 checksum: MD5 and SHA1 alone do not count")
    tag_line = _TAG_LINE.search(text)
    return Listing(
        tuple(entries), tag_line["tag"] if tag_line else None, tag_line["commit"] if tag_line else None
    )


@dataclass(frozen=True)
class FileResult:
    filename: str
    present: bool
    checked: tuple[str, ...]  # algorithms that matched
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.present and not self.problems


def check_listing(listing: Listing, directory: Path) -> tuple[FileResult, ...]:
    """Every listed hash of every listed file, computed from the file in ``directory``."""
    results = []
    for filename in listing.filenames:
        entries = [entry for entry in listing.entries if entry.filename == filename]
        path = directory / filename
        if not path.is_file():
            lines = ", ".join(str(entry.line) for entry in entries)
            problem = f"{filename} (line {lines}) is not in {directory}"
            results.append(FileResult(filename, False, (), (problem,)))
            continue
        actual = file_digests(path)
        problems = tuple(
            f"line {entry.line}: the {entry.algorithm.upper()} of {filename} is "
            f"{actual[entry.algorithm]}, the file lists {entry.digest}"
            for entry in entries
            if actual[entry.algorithm] != entry.digest
        )
        checked = tuple(entry.algorithm for entry in entries if actual[entry.algorithm] == entry.digest)
        results.append(FileResult(filename, True, checked, problems))
    return tuple(results)
