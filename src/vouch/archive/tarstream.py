"""The differ's listing of sdists (.tar.gz): one streaming pass of :class:`~vouch.archive.tar.TarReader`,
every member's content hashed as it streams by, never held whole; a second pass fetches texts to diff."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from vouch.archive.gz import FNAME, GzipHeader, Inflated, read_gzip_header
from vouch.archive.members import Limits, MemberType, printable
from vouch.archive.stream import CHUNK, TEXT_CAP, Entry, Listing, Owner, hash_chunks, open_binary, refuse
from vouch.archive.tar import PAX_KNOWN, PAX_TIMES, TarHeader, TarReader
from vouch.errors import ArchiveError

__all__ = ["FNAME", "GzipHeader", "TarListing"]
_PAX_MTIME = {"mtime"}
_NONE: Mapping[str, Any] = MappingProxyType({})  # for members without secondary times or other pax records


class TarListing(Listing):
    """An sdist's members, read in one streaming pass; a second pass fetches texts to diff."""

    kind = "sdist"

    def __init__(self, path: Path, limits: Limits) -> None:
        self.path, self.limits = path, limits
        self._owners: dict[tuple[int, int, str, str], Owner] = {}  # one object per distinct owner
        with open_binary(path) as raw:
            try:
                self.gzip = read_gzip_header(raw)
            except ArchiveError as exc:
                raise refuse(str(path), str(exc)) from None
        entries: list[Entry] = []
        self._walk(entries.append, set(), {})
        self._digests: tuple[str, str] | None = None
        super().__init__(str(path), entries)

    def stream_digests(self) -> tuple[str, str]:
        """The sha256 of the tar stream, and of the compressed bytes after the gzip header: read
        again, and only when asked (when every member is the same, to say what else differs)."""
        if self._digests is None:
            tar, body = hashlib.sha256(), hashlib.sha256()
            with open_binary(self.path) as raw:
                stream = Inflated(raw, self.limits)
                while chunk := stream.read(CHUNK):
                    tar.update(chunk)
                raw.seek(self.gzip.size)
                while chunk := raw.read(CHUNK):
                    body.update(chunk)
            self._digests = tar.hexdigest(), body.hexdigest()
        return self._digests

    def read_texts(self, names: Collection[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        self._walk(lambda _: None, set(names), found)
        return found

    def _walk(self, emit: Callable[[Entry], None], wanted: Collection[str], found: dict[str, bytes]) -> None:
        with open_binary(self.path) as raw:
            reader = TarReader(raw, self.limits)
            try:
                for header in reader.members():
                    emit(self._entry(reader, header, wanted, found))
            except ArchiveError as exc:
                raise refuse(str(self.path), str(exc)) from None

    def _owner(self, header: TarHeader) -> Owner:
        key = (header.uid, header.gid, header.uname, header.gname)
        if (owner := self._owners.get(key)) is None:
            owner = Owner(header.uid, header.gid, printable(header.uname), printable(header.gname))
            self._owners[key] = owner
        return owner

    def _entry(self, reader: TarReader, header: TarHeader, wanted: Collection[str],
               found: dict[str, bytes]) -> Entry:  # fmt: skip
        pax, name, kind = header.pax, header.name, header.kind
        times: Mapping[str, Any] = _NONE
        encoding: Mapping[str, Any] = _NONE
        if pax.keys() - _PAX_MTIME:  # most members have no pax record but their mtime (or none)
            times = {key: pax[key] for key in PAX_TIMES if key in pax}
            others = {key: printable(value) for key, value in pax.items() if key not in PAX_KNOWN}
            encoding = {"pax": others} if others else _NONE
        owner, mode = self._owner(header), header.mode & 0o7777
        if kind is MemberType.FILE:
            sink = bytearray() if name in wanted and header.size <= TEXT_CAP else None
            digest = hash_chunks(reader.content(header), sink)
            if sink is not None:
                found[name] = bytes(sink)
            return Entry(name, kind, mode, header.mtime, owner, "", header.size, digest, times, encoding)
        linkname = printable(header.linkname)
        return Entry(name, kind, mode, header.mtime, owner, linkname, 0, None, times, encoding)
