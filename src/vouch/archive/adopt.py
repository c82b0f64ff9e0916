"""Turning the folder an sdist was built from into exactly that sdist's tree, in place.

Writing an sdist's thousands of files to disk again costs more than checking them: the checkout the
backend built the sdist from already holds nearly all of them, with the same bytes. :func:`adopt_tree`
moves that folder to where :func:`~vouch.archive.extract.extract_sdist` would put the sdist's
top-level folder, and makes it hold exactly the sdist's members, as extraction would:

- the members are checked again under the rules of :mod:`vouch.archive.members`;
- the folder is walked through descriptors opened with ``O_NOFOLLOW | O_DIRECTORY``, never through
  a link, and every change is made relative to such a descriptor;
- an entry that is no member and no member's folder (``.git``, what the sdist leaves out) is removed;
- a member file is kept only when it is a regular file with one link whose bytes, read through
  ``O_NOFOLLOW``, equal the member's; a member folder only when it is a real folder; a member link
  only when it is a link with the member's target. Anything else in their place is removed and the
  member written as extraction writes it (``O_CREAT | O_EXCL | O_NOFOLLOW``, links last);
- every file gets the member's mode (its canonical mode: 0644, or 0755) and mtime, every folder
  mode 0755 and a member folder its mtime: what extraction gives under umask 022;
- the result is walked again and must hold exactly the members and their folders.

When the folder cannot be moved there (another file system), or something in it cannot be read or
removed, the sdist is extracted instead (a half-changed folder is set aside as ``DEST.discarded``,
beside ``DEST``, for the workspace's removal).
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path

from vouch.archive.extract import check_members, extract_sdist, verify_tree
from vouch.archive.members import Member, MemberType
from vouch.errors import ArchiveError, OutputError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_FOLDER_MODE = 0o755


def adopt_tree(members: Sequence[Member], folder: Path, dest: Path) -> Path:
    """Move ``folder`` to ``dest/TOP`` (``dest`` must not exist) and make it exactly the checked
    sdist ``members``' tree; return that top-level folder. ``folder`` is consumed."""
    check_members(members)
    tops = {member.name.split("/", 1)[0] for member in members}
    if len(tops) != 1:
        raise ArchiveError(f"the sdist has {len(tops)} top-level entries, not one folder")
    top = tops.pop()
    tree = _Tree(members)
    if tree.kind(top) is not MemberType.DIR:
        raise ArchiveError(f"the sdist's top-level entry {top!r} is not a folder")
    try:
        dest.mkdir()
    except OSError as exc:
        raise OutputError(f"cannot create {dest}: {exc.strerror or exc}") from exc
    try:
        folder.rename(dest / top)
    except OSError:  # not movable there: write every member instead
        dest.rmdir()
        return extract_sdist(members, dest)
    try:
        root = os.open(dest / top, _DIR_FLAGS)
        try:
            tree.sync(root, top)
        finally:
            os.close(root)
    except OSError:  # something the backend left cannot be read or removed: start afresh
        aside = dest.with_name(f"{dest.name}.discarded")
        try:
            dest.rename(aside)
        except OSError as exc:
            raise OutputError(f"cannot set {dest} aside: {exc.strerror or exc}") from exc
        return extract_sdist(members, dest)
    verify_tree(dest, set(tree.kinds))
    return dest / top


class _Tree:
    """The members by name, every folder they need, and the entries of each folder."""

    def __init__(self, members: Sequence[Member]) -> None:
        self.members = {member.name: member for member in members}
        self.kinds = {member.name: member.type for member in members}
        self.children: dict[str, list[str]] = {}
        for name in list(self.kinds):
            child, cut = name, name.rfind("/")
            while cut > 0:
                parent = child[:cut]
                self.children.setdefault(parent, []).append(child)
                if parent in self.kinds:
                    break
                self.kinds[parent] = MemberType.DIR  # a folder no member names
                child, cut = parent, parent.rfind("/")

    def kind(self, name: str) -> MemberType | None:
        return self.kinds.get(name)

    def sync(self, fd: int, folder: str) -> None:
        """Make the folder open at ``fd`` (named ``folder``) hold exactly its members."""
        present: set[str] = set()
        with os.scandir(fd) as scan:
            entries = list(scan)
        for entry in entries:
            name = f"{folder}/{entry.name}"
            if self._keep(fd, entry, name):
                present.add(name)
            elif entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.name, dir_fd=fd)
            else:
                os.unlink(entry.name, dir_fd=fd)
        missing = [name for name in self.children.get(folder, []) if name not in present]
        for name in missing:
            if self.kinds[name] is not MemberType.SYMLINK:
                self._make(fd, name)
        for name in missing:
            if self.kinds[name] is MemberType.SYMLINK:
                os.symlink(self.members[name].linkname, name.rpartition("/")[2], dir_fd=fd)
        if stat.S_IMODE(os.fstat(fd).st_mode) != _FOLDER_MODE:
            os.chmod(fd, _FOLDER_MODE)
        if (member := self.members.get(folder)) is not None:
            os.utime(fd, (member.mtime, member.mtime))

    def _keep(self, fd: int, entry: os.DirEntry[str], name: str) -> bool:
        """Whether ``entry`` already is member ``name`` (a folder is synced on the way)."""
        kind = self.kinds.get(name)
        if kind is None:
            return False
        if kind is MemberType.DIR:
            if not entry.is_dir(follow_symlinks=False):
                return False
            child = os.open(entry.name, _DIR_FLAGS, dir_fd=fd)
            try:
                self.sync(child, name)
            finally:
                os.close(child)
            return True
        member = self.members[name]
        if kind is MemberType.SYMLINK:
            return entry.is_symlink() and os.readlink(entry.name, dir_fd=fd) == member.linkname
        return entry.is_file(follow_symlinks=False) and _same_file(fd, entry.name, member)

    def _make(self, fd: int, name: str) -> None:
        base = name.rpartition("/")[2]
        if self.kinds[name] is MemberType.DIR:
            os.mkdir(base, _FOLDER_MODE, dir_fd=fd)
            child = os.open(base, _DIR_FLAGS, dir_fd=fd)
            try:
                self.sync(child, name)
            finally:
                os.close(child)
            return
        member = self.members[name]
        out = os.open(base, _FILE_FLAGS, member.mode & 0o755, dir_fd=fd)
        with os.fdopen(out, "wb") as stream:
            stream.write(member.data)
            stream.flush()
            _settle(out, os.fstat(out), member)


def _same_file(fd: int, base: str, member: Member) -> bool:
    """Whether file ``base`` holds the member's bytes (then given the member's mode and mtime)."""
    try:
        handle = os.open(base, _READ_FLAGS, dir_fd=fd)
    except OSError:
        return False
    try:
        info = os.fstat(handle)
        size = len(member.data)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1 or info.st_size != size:
            return False
        chunks, got = [], 0
        while got <= size and (chunk := os.read(handle, size + 1 - got)):
            chunks.append(chunk)
            got += len(chunk)
        if b"".join(chunks) != member.data:
            return False
        _settle(handle, info, member)
        return True
    finally:
        os.close(handle)


def _settle(handle: int, info: os.stat_result, member: Member) -> None:
    mode = member.mode & 0o755
    if stat.S_IMODE(info.st_mode) != mode:
        os.chmod(handle, mode)
    if info.st_mtime != member.mtime:
        os.utime(handle, (member.mtime, member.mtime))
