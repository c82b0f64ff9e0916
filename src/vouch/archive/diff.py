"""The structural differ: why two sdists, two wheels (zips) or two directories differ, member by member.

``diff_paths(a, b)`` lists both sides with the streaming readers of :mod:`vouch.archive.stream`
and reports each difference as a member (``None`` for the archive itself) and the aspects in which
it differs, from this vocabulary:

archive level
  ``gzip-mtime``, ``gzip-filename``, ``gzip-os``, ``gzip-flags`` (FLG bits other than FNAME, XFL,
  comment, extra field), ``member-order`` (of the members both sides hold), ``only-in-a`` and
  ``only-in-b`` (one difference per such member, named by it), and ``compression`` when the
  container alone differs: the same tar stream compressed differently, the same members with
  their tar headers encoded differently (format, PAX records, padding), or a zip's comment or
  layout.
per member
  ``type`` (file, dir, symlink, hardlink), ``link-target``, ``mode`` (permission bits, except a
  change of executability), ``executable`` (a file is executable on one side only: never
  normalised away), ``mtime`` (mtime, zip date_time, and the secondary timestamps of PAX records
  and zip extra fields), ``owner`` (uid, gid, owner names), ``compression`` (the same content,
  encoded differently: zip method, compressed bytes or header fields, other PAX records),
  ``content``; for a wheel's ``.dist-info`` files also ``metadata``, ``wheel`` and ``record``,
  with the parsed fields (or RECORD paths) that differ.

``details`` holds, per aspect, ``{"a": ..., "b": ...}`` or the structure described there; for
content, the size and sha256 of both sides and, for UTF-8 text without NUL of at most 1 MiB, a
unified diff capped at ``max_lines`` lines.

The differences come in this order, each group by member name: members whose content differs, other
members that differ in more than metadata (only on one side, type, link target, executability), the
archive itself, then members that differ only in metadata (``mode``, ``mtime``, ``owner``,
``compression``: no byte of their content). :attr:`DiffReport.summary` counts the members per aspect
and folds the metadata-only members into one group per set of aspects, so that a repack that touched
every member's mtime does not hide the one member whose content changed.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import difflib
import hashlib
import stat
from pathlib import Path
from typing import Any

from vouch.archive.members import DEFAULT_LIMITS, Limits, MemberType
from vouch.archive.report import ASPECTS, Difference, DiffReport
from vouch.archive.stream import (
    CHUNK,
    TEXT_CAP,
    DirectoryListing,
    Entry,
    Listing,
    Owner,
    ZipListing,
    open_binary,
)
from vouch.archive.tarstream import FNAME, GzipHeader, TarListing
from vouch.errors import CheckError, UsageError

__all__ = ["DiffReport", "Difference", "archive_kind", "diff_paths", "make_listing", "unified_diff"]

TEXT_BUDGET = 32 << 20  # text members held at once, per side, to build unified diffs
KINDS = {"sdist": "an sdist (.tar.gz)", "zip": "a wheel or zip", "directory": "a directory"}


def diff_paths(a: Path, b: Path, *, max_lines: int = 200, limits: Limits = DEFAULT_LIMITS) -> DiffReport:
    """Compare two sdists, two wheels or zips, or two directories, member by member."""
    if max_lines < 0:
        raise UsageError(f"max_lines must be zero or more, not {max_lines}")
    kind, kind_b = archive_kind(a), archive_kind(b)
    if kind != kind_b:
        raise UsageError(
            f"cannot compare {a} ({KINDS[kind]}) with {b} ({KINDS[kind_b]})",
            hint="compare two sdists, two wheels (or zips) or two directories",
        )
    with contextlib.ExitStack() as stack:
        left, right = _open_both(stack, (a, b), kind, limits)
        differences = _compare(left, right, max_lines)
    if kind == "zip" and not differences and (digests := _file_digests(a, b)) is not None:
        note = "the zip containers differ (local headers, central directory or padding), not their members"
        differences = [Difference(None, ("compression",), {"compression": {"note": note, **digests}})]
    return DiffReport(str(a), str(b), kind, tuple(differences))


def archive_kind(path: Path) -> str:
    """``"sdist"``, ``"zip"`` or ``"directory"``, from the path's type, suffix or first bytes."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise CheckError(f"{path}: no such file or directory") from None
    except OSError as exc:
        raise CheckError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(mode):
        return "directory"
    name = path.name.lower()
    if name.endswith((".tar.gz", ".tgz")):
        return "sdist"
    if name.endswith((".whl", ".zip")):
        return "zip"
    with open_binary(path) as stream:
        magic = stream.read(2)
    if magic == b"\x1f\x8b":
        return "sdist"
    if magic == b"PK":
        return "zip"
    raise UsageError(f"{path}: not an sdist (.tar.gz), a wheel or zip (.whl, .zip), or a directory")


def make_listing(path: Path, kind: str, limits: Limits = DEFAULT_LIMITS) -> Listing:
    """The listing of one side (``kind`` from :func:`archive_kind`), read whole; the caller closes it
    (a zip's stays open while it is compared)."""
    if kind == "sdist":
        return TarListing(path, limits)
    if kind == "zip":
        return ZipListing(path, limits)
    return DirectoryListing(path, limits)


def _open_both(stack: contextlib.ExitStack, paths: tuple[Path, Path], kind: str,
               limits: Limits) -> tuple[Listing, Listing]:  # fmt: skip
    """Both sides' listings, read at once in two threads (zlib inflates without the GIL, so one side
    inflates while the other parses its tar headers); each is closed by ``stack``, and when either
    side is refused, side a's error is raised first."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(make_listing, path, kind, limits) for path in paths]
    for future in futures:
        if future.exception() is None:
            stack.callback(future.result().close)
    return futures[0].result(), futures[1].result()


def _compare(left: Listing, right: Listing, max_lines: int) -> list[Difference]:
    found: dict[str | None, dict[str, Any]] = {None: _archive_level(left, right)}
    for entry in left.entries:
        if entry.name not in right.by_name:
            found[entry.name] = {"only-in-a": _describe(entry)}
    for entry in right.entries:
        if entry.name not in left.by_name:
            found[entry.name] = {"only-in-b": _describe(entry)}
    for entry in left.entries:
        if entry.name in right.by_name and (aspects := _member(left, right, entry.name)):
            found[entry.name] = aspects
    _add_texts(left, right, found, max_lines)
    if isinstance(left, TarListing) and isinstance(right, TarListing) and len(found) == 1:
        _explain_tar_stream(left, right, found[None])
    differences = [Difference(member, tuple(sorted(aspects, key=ASPECTS.index)), aspects)
                   for member, aspects in found.items() if aspects]  # fmt: skip
    return sorted(differences, key=lambda difference: (difference.rank, difference.member or ""))


def _archive_level(left: Listing, right: Listing) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if isinstance(left, TarListing) and isinstance(right, TarListing):
        a, b = left.gzip, right.gzip
        for aspect, value_a, value_b in (
            ("gzip-mtime", a.mtime, b.mtime),
            ("gzip-filename", a.filename, b.filename),
            ("gzip-os", a.os, b.os),
        ):
            if value_a != value_b:
                found[aspect] = {"a": value_a, "b": value_b}
        if flags := _changed(_gzip_flags(a), _gzip_flags(b)):
            found["gzip-flags"] = flags
    if isinstance(left, ZipListing) and isinstance(right, ZipListing) and left.comment != right.comment:
        found["compression"] = {"comment": {"a": left.comment, "b": right.comment}}
    if left.kind != "directory":
        common_a = [entry.name for entry in left.entries if entry.name in right.by_name]
        common_b = [entry.name for entry in right.entries if entry.name in left.by_name]
        if common_a != common_b:
            at = next(i for i, (x, y) in enumerate(zip(common_a, common_b, strict=True)) if x != y)
            found["member-order"] = {"position": at, "a": common_a[at : at + 5], "b": common_b[at : at + 5]}
    return found


def _gzip_flags(header: GzipHeader) -> dict[str, Any]:
    """The header fields behind ``gzip-flags``: FLG without FNAME (a name is ``gzip-filename``)."""
    return {
        "flags": header.flags & ~FNAME,
        "xfl": header.xfl,
        "comment": header.comment,
        "extra": header.extra,
    }


def _explain_tar_stream(left: TarListing, right: TarListing, archive: dict[str, Any]) -> None:
    """Every member the same, in the same order: yet the tar streams may differ (their headers are
    encoded differently), or the same stream may be compressed differently."""
    if "member-order" in archive:
        return
    (tar_a, body_a), (tar_b, body_b) = left.stream_digests(), right.stream_digests()
    if tar_a != tar_b:
        note = "the same members, metadata and contents, with their tar headers encoded differently"
        archive["compression"] = {"note": note, "tar_sha256": {"a": tar_a, "b": tar_b}}
    elif body_a != body_b:
        note = "the same tar stream, compressed differently (another compressor or level)"
        archive["compression"] = {"note": note}


def _member(left: Listing, right: Listing, name: str) -> dict[str, Any]:
    a, b = left.by_name[name], right.by_name[name]
    found: dict[str, Any] = {}
    if a.type is not b.type:
        found["type"] = {"a": a.type.value, "b": b.type.value}
    elif a.type in (MemberType.SYMLINK, MemberType.HARDLINK) and a.linkname != b.linkname:
        found["link-target"] = {"a": a.linkname, "b": b.linkname}
    _modes(a, b, found)
    if a.mtime != b.mtime or a.times != b.times:
        found["mtime"] = {"a": a.mtime, "b": b.mtime}
        if others := _changed(a.times, b.times):
            found["mtime"]["other"] = others
    if a.owner != b.owner:
        found["owner"] = {"a": _owner(a.owner), "b": _owner(b.owner)}
    recoding = _changed(a.encoding, b.encoding)
    if a.type is MemberType.FILE and b.type is MemberType.FILE:
        content = left.compare_content(right, name)
        recoding.update(content.recoding)
        if not content.equal and content.a is not None and content.b is not None:
            found["content"] = {"a": content.a.to_json(), "b": content.b.to_json()}
    if recoding:
        found["compression"] = recoding
    return found


def _modes(a: Entry, b: Entry, found: dict[str, Any]) -> None:
    """``executable`` when a file is executable on one side only; ``mode`` for any other change."""
    modes = {"a": f"{a.mode:04o}", "b": f"{b.mode:04o}"}
    files = {a.type, b.type} <= {MemberType.FILE, MemberType.HARDLINK}
    exec_a, exec_b = bool(a.mode & 0o111), bool(b.mode & 0o111)
    if files and exec_a != exec_b:
        found["executable"] = {"a": exec_a, "b": exec_b, "mode": modes}
        if a.mode & ~0o111 != b.mode & ~0o111:
            found["mode"] = modes
    elif a.mode != b.mode:
        found["mode"] = modes


def _changed(a: Any, b: Any) -> dict[str, Any]:
    return {key: {"a": a.get(key), "b": b.get(key)} for key in sorted(a.keys() | b.keys())
            if a.get(key) != b.get(key)}  # fmt: skip


def _owner(owner: Owner | None) -> dict[str, Any] | None:
    if owner is None:
        return None
    return {"uid": owner.uid, "gid": owner.gid, "uname": owner.uname, "gname": owner.gname}


def _describe(entry: Entry) -> dict[str, Any]:
    described: dict[str, Any] = {"type": entry.type.value, "mode": f"{entry.mode:04o}"}
    if entry.type is MemberType.FILE:
        described["size"] = entry.size
    if entry.linkname:
        described["link-target"] = entry.linkname
    return described


def _add_texts(
    left: Listing, right: Listing, found: dict[str | None, dict[str, Any]], max_lines: int
) -> None:
    """Unified diffs of the differing text members, and a wheel's METADATA, WHEEL and RECORD."""
    wanted: list[str] = []
    spent = 0
    for name, aspects in sorted((n, a) for n, a in found.items() if n is not None and "content" in a):
        content = aspects["content"]
        size = max(content["a"]["size"], content["b"]["size"])
        if size > TEXT_CAP:
            content["note"] = "over 1 MiB: compared by size and sha256"
        elif spent + size > TEXT_BUDGET:
            content["note"] = "not diffed: too many large text members differ (see the sha256s)"
        else:
            wanted.append(name)
            spent += size
    if not wanted:
        return
    texts_a, texts_b = left.read_texts(wanted), right.read_texts(wanted)
    # imported here: it brings the email parser, which an sdist's comparison never needs
    from vouch.archive.wheelmeta import compare_wheel_file, wheel_aspect  # noqa: PLC0415

    for name in wanted:
        text_a, text_b = _text(texts_a.get(name)), _text(texts_b.get(name))
        content = found[name]["content"]
        if text_a is None or text_b is None:
            content["binary"] = True
            continue
        content["diff"], cut = unified_diff(name, text_a, text_b, max_lines)
        if cut:
            content["diff_lines_cut"] = cut
        if left.kind == "zip" and (aspect := wheel_aspect(name)):
            found[name][aspect] = compare_wheel_file(aspect, text_a, text_b, max_lines)


def _text(data: bytes | None) -> str | None:
    if data is None or b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def unified_diff(name: str, a: str, b: str, max_lines: int) -> tuple[list[str], int]:
    """A unified diff of two texts, cut after ``max_lines`` lines; and how many lines were cut."""
    kept: list[str] = []
    total = 0
    for chunk in difflib.unified_diff(_lines(a), _lines(b), f"a/{name}", f"b/{name}", lineterm=""):
        for line in chunk.removesuffix("\n").split("\n"):
            total += 1
            if len(kept) < max_lines:
                kept.append(line)
    return kept, total - len(kept)


def _lines(text: str) -> list[str]:
    """Lines with their newline; a last line without one is marked as diff(1) does."""
    *lines, last = text.split("\n")
    marked = [line + "\n" for line in lines]
    if last:
        marked.append(last + "\n\\ No newline at end of file\n")
    return marked


def _file_digests(a: Path, b: Path) -> dict[str, Any] | None:
    """None when the two files hold the same bytes, else the size and sha256 of each."""
    digests = []
    for path in (a, b):
        digest, size = hashlib.sha256(), 0
        with open_binary(path) as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
        digests.append({"size": size, "sha256": digest.hexdigest()})
    return None if digests[0] == digests[1] else {"a": digests[0], "b": digests[1]}
