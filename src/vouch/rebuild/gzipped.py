"""Members of a published wheel that are the rebuild's files, gzip-compressed after the build.

Some release tooling compresses data files once the backend has built the wheel: botocore's
published wheels hold ``botocore/data/**/*.json.gz`` where a build of the same sdist gives the same
files as ``*.json``. The structural diff sees two unrelated members (``X.json.gz`` only in the
published wheel, ``X.json`` only in the rebuild), which would read as "code differs". Here each such
pair is checked: the published member must be one gzip stream (no trailing data) that inflates to
exactly the rebuilt member's bytes (size and sha256). A pair that is proven so is one difference
with the aspect :data:`ASPECT`: still a real difference (the published wheel is not what the sdist
builds, so never "equivalent"), but a step after the build, so "recipe not reproduced" and not
"code differs" (:func:`vouch.rebuild.verdict.code_differences`). Anything not proven stays as the
diff found it.

Both wheels are read through :class:`vouch.archive.zip.ZipReader` (the published one is hostile:
its limits apply), and a gzip stream is inflated only up to the rebuilt member's size plus one
byte, so a gzip bomb stops there.
"""

from __future__ import annotations

import contextlib
import hashlib
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from vouch.archive.members import DEFAULT_LIMITS, Limits
from vouch.archive.stream import Digest, hash_chunks, open_binary
from vouch.archive.zip import ZipReader
from vouch.errors import ArchiveError, CheckError
from vouch.rebuild.verdict import GZIPPED_AFTER_BUILD

ASPECT = GZIPPED_AFTER_BUILD
_GZIP = 16 + zlib.MAX_WBITS  # a gzip header and trailer around one deflate stream


def _only_in(real: Iterable[dict[str, Any]], side: str) -> dict[str, dict[str, Any]]:
    """Members that only ``side`` holds and that are files, by name."""
    found: dict[str, dict[str, Any]] = {}
    for difference in real:
        described = difference.get(side)
        if difference.get("aspects") != [side] or not isinstance(described, dict):
            continue
        if described.get("type") == "file":
            found[str(difference["member"])] = described
    return found


def _inflated(chunks: Iterator[bytes], cap: int) -> Digest | None:
    """Size and sha256 of the one gzip stream in ``chunks``; None past ``cap`` bytes, for data
    after the stream, or for anything that is not gzip."""
    inflater = zlib.decompressobj(_GZIP)
    digest, size = hashlib.sha256(), 0
    try:
        for chunk in chunks:
            if inflater.eof:
                return None  # more after the gzip stream
            data = inflater.decompress(chunk, cap + 1 - size)
            while True:
                size += len(data)
                if size > cap:
                    return None
                digest.update(data)
                if not inflater.unconsumed_tail:
                    break
                data = inflater.decompress(inflater.unconsumed_tail, cap + 1 - size)
    except zlib.error:
        return None
    if not inflater.eof or inflater.unused_data:
        return None
    return Digest(size, digest.hexdigest())


def gzipped_copies(
    expected: Path, rebuilt: Path, real: list[dict[str, Any]], limits: Limits = DEFAULT_LIMITS
) -> list[dict[str, Any]]:
    """``real`` (the differences of two wheels, as :func:`vouch.rebuild.compare.split_differences`
    gives them) with each proven pair of ``X.gz`` only in ``expected`` and ``X`` only in ``rebuilt``
    made one difference of :data:`ASPECT` on ``X.gz``."""
    compressed, plain = _only_in(real, "only-in-a"), _only_in(real, "only-in-b")
    candidates = sorted(name for name in compressed if name.endswith(".gz") and name[:-3] in plain)
    if not candidates:
        return real
    proven: dict[str, dict[str, Any]] = {}
    try:
        with contextlib.ExitStack() as stack:
            readers = []
            for path in (expected, rebuilt):
                readers.append(ZipReader(stack.enter_context(open_binary(path)), limits))
                stack.callback(readers[-1].close)
            published = {member.name: member for member in readers[0].members}
            ours = {member.name: member for member in readers[1].members}
            for name in candidates:
                digest = hash_chunks(readers[1].chunks(ours[name[:-3]]), None)
                if _inflated(readers[0].chunks(published[name]), digest.size) == digest:
                    proven[name] = {"rebuilt": name[:-3]} | digest.to_json()
    except (ArchiveError, CheckError, KeyError):
        return real  # not proven: the diff's own account stands
    if not proven:
        return real
    uncompressed = {found["rebuilt"] for found in proven.values()}
    kept = []
    for difference in real:  # in the diff's order, each pair where its compressed member was
        member = difference.get("member")
        if member in proven:
            kept.append({"member": member, "aspects": [ASPECT], ASPECT: proven[str(member)]})
        elif member not in uncompressed:
            kept.append(difference)
    return kept


def note(copies: int, example: str) -> str:
    """The verdict's note for ``copies`` proven members."""
    files = "file" if copies == 1 else "files"
    return (
        f"{copies} {files} of the published wheel ({example}"
        f"{' and others' if copies > 1 else ''}) were gzip-compressed after the build: "
        "each decompresses to the rebuilt file's bytes"
    )
