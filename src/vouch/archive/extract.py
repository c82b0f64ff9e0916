"""Writing an sdist's members to disk, never following a link, never writing outside the target.

The members are checked again under the rules of :mod:`vouch.archive.members` (a caller cannot hand
unchecked ones), then:

- the target folder must not exist: extraction creates it, and every folder under it, with ``mkdir``
  relative to a descriptor of the parent folder that was opened with ``O_NOFOLLOW | O_DIRECTORY``,
  so no path is ever resolved through a link on disk, and files go only into folders made here;
- files are created with ``O_CREAT | O_EXCL | O_NOFOLLOW``; times are set without following links;
- symbolic links are created last, when no more writes follow;
- the result is walked (links not followed) and must hold exactly the members and their folders.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from vouch.archive.members import ArchiveTree, Limits, Member, MemberType
from vouch.errors import ArchiveError, OutputError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class _Folders:
    """Descriptors of the folders under the root, made here on first use; the last one is kept open."""

    def __init__(self, root: int) -> None:
        self.root, self.made = root, {""}
        self._path, self._fd = "", root

    def open(self, folder: str) -> int:
        if folder == self._path:
            return self._fd
        self.close()
        fd, path = os.dup(self.root), ""
        try:
            for part in folder.split("/") if folder else []:
                path = f"{path}/{part}" if path else part
                if path not in self.made:
                    os.mkdir(part, dir_fd=fd)
                    self.made.add(path)
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        self._path, self._fd = folder, fd
        return fd

    def close(self) -> None:
        if self._fd != self.root:
            os.close(self._fd)
        self._path, self._fd = "", self.root


def extract_sdist(members: Sequence[Member], dest: Path) -> Path:
    """Write checked sdist members into ``dest`` (which must not exist); return the top-level folder."""
    check_members(members)
    try:
        dest.mkdir()
        root = os.open(dest, _DIR_FLAGS)
    except OSError as exc:
        raise OutputError(f"cannot create {dest}: {exc.strerror or exc}") from exc
    folders = _Folders(root)
    try:
        for member in members:
            if member.type is not MemberType.SYMLINK:
                _write(folders, member)
        for member in members:
            if member.type is MemberType.SYMLINK:
                folder, _, base = member.name.rpartition("/")
                os.symlink(member.linkname, base, dir_fd=folders.open(folder))
        for member in members:
            if member.type is not MemberType.SYMLINK:
                folder, _, base = member.name.rpartition("/")
                os.utime(
                    base, (member.mtime, member.mtime), dir_fd=folders.open(folder), follow_symlinks=False
                )
    except OSError as exc:
        raise OutputError(f"cannot extract the sdist into {dest}: {exc.strerror or exc}") from exc
    finally:
        folders.close()
        os.close(root)
    verify_tree(dest, {member.name for member in members} | (folders.made - {""}))
    return dest / members[0].name.split("/", 1)[0]


def check_members(members: Sequence[Member]) -> None:
    """Check the members again under the rules of :mod:`vouch.archive.members`."""
    tree = ArchiveTree(Limits(max_members=max(len(members), 1)))
    for member in members:
        tree.admit(member.name, member.type, member.linkname)
    tree.finish()


def _write(folders: _Folders, member: Member) -> None:
    folder, _, base = member.name.rpartition("/")
    if member.type is MemberType.DIR:
        folders.open(member.name)  # made here, unless a member under it already made it
        return
    fd = os.open(base, _FILE_FLAGS, member.mode & 0o755, dir_fd=folders.open(folder))
    with os.fdopen(fd, "wb") as stream:
        stream.write(member.data)


def verify_tree(dest: Path, expected: set[str]) -> None:
    """Refuse a result that holds anything but the members and their folders."""
    found: set[str] = set()
    for folder, dirs, files in os.walk(dest):
        prefix = Path(folder).relative_to(dest).as_posix()
        found.update(name if prefix == "." else f"{prefix}/{name}" for name in (*dirs, *files))
    if found != expected:
        odd = sorted(found ^ expected)[:3]
        raise ArchiveError(f"extracting the sdist into {dest} did not give its members: {odd}")
