"""What an archive's members may be: the rules every reader of sdists and wheels applies, stated once.

Both readers (:mod:`vouch.archive.tar` for ``.tar.gz``, :mod:`vouch.archive.zip` for zips) hand
each member to an :class:`ArchiveTree` before anything uses it, and call :meth:`ArchiveTree.finish`
at the end of the archive. Refused, with an :class:`~vouch.errors.ArchiveError` naming the member:

- a name that is not UTF-8, empty, longer than 4096 bytes, absolute (``/x``, ``C:x``), holding a NUL
  or a backslash, or with a ``..``, ``.`` or empty component; a file whose name ends with ``/``;
- two members with one name, ``a`` and ``a/`` counting as one; a member that is a file or a link
  while other members lie under it, whichever comes first;
- a member whose path passes through a link or a file member (``link/x``);
- a symbolic link whose target is empty, absolute, longer than 4096 bytes or holds a NUL, or whose
  target leaves the archive once every link of the archive is resolved (``l1 -> ..``,
  ``l2 -> l1/..``), or that loops;
- a hard link to anything but an earlier regular file;
- more than ``max_members`` members, and an archive with no member at all.

The format readers add their own: device files, FIFOs, sparse and multi-volume members, headers
that contradict each other, truncation, and the size limits of :class:`Limits`, checked while
inflating.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from vouch.errors import ArchiveError

MAX_PATH = 4096
MAX_LINK_HOPS = 40  # as Linux's ELOOP


@dataclass(frozen=True)
class Limits:
    """Upper bounds against archive bombs, checked while inflating. The defaults hold Django's sdist
    (11 MB compressed, 50 MB inflated) ten times over.

    ``max_ratio`` bounds inflated/compressed bytes once more than ``ratio_floor`` bytes are inflated:
    over a whole gzip stream for sdists, per member for zips. Source inflates 3 to 10 times; zeros
    inflate a thousand times."""

    max_members: int = 200_000
    max_member_size: int = 256 << 20
    max_total_size: int = 1 << 30
    max_ratio: int = 200
    ratio_floor: int = 8 << 20


DEFAULT_LIMITS = Limits()


class MemberType(Enum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"


@dataclass(frozen=True)
class Member:
    """One archive member as read: its raw metadata and its content (empty for non-files)."""

    name: str
    type: MemberType
    mode: int
    mtime: float
    data: bytes = b""
    linkname: str = ""
    uid: int = 0
    gid: int = 0
    uname: str = ""
    gname: str = ""

    @property
    def executable(self) -> bool:
        return bool(self.mode & 0o111)


def printable(text: str) -> str:
    """A string that may hold undecodable bytes (as surrogates), safe to print and to JSON."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def check_member_name(name: str) -> str:
    """Return ``name`` without trailing slashes, refusing anything that could escape the root."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raw = name.encode("utf-8", "surrogateescape")
        raise ArchiveError(f"member name {raw!r} is not valid UTF-8") from None
    stripped = name.rstrip("/")
    if not stripped:
        raise ArchiveError(f"archive member with an empty name ({name!r})")
    if len(stripped.encode()) > MAX_PATH:
        raise ArchiveError(f"archive member {stripped[:80]!r}... has a name over {MAX_PATH} bytes")
    if "\x00" in stripped or "\\" in stripped:
        raise ArchiveError(f"archive member name {name!r} contains a NUL or a backslash")
    if stripped.startswith("/") or (len(stripped) > 1 and stripped[1] == ":"):
        raise ArchiveError(f"archive member {name!r} has an absolute path")
    parts = stripped.split("/")
    if any(part in ("..", ".", "") for part in parts):
        raise ArchiveError(f"archive member {name!r} has '..', '.' or empty path components")
    return stripped


def check_link_target(name: str, target: str) -> None:
    """Refuse a link target that is absolute, empty, over-long, holds a NUL, or leaves the archive
    root read lexically from the link's folder (:meth:`ArchiveTree.finish` also resolves links)."""
    if not target or target.startswith("/") or "\x00" in target or len(target) > MAX_PATH:
        raise ArchiveError(
            f"link {name!r} points to an absolute, empty or invalid path {printable(target)!r}"
        )
    depth = name.count("/")
    for part in target.split("/"):
        depth += -1 if part == ".." else 0 if part in ("", ".") else 1
        if depth < 0:
            raise ArchiveError(f"link {name!r} points outside the archive ({printable(target)!r})")


class ArchiveTree:
    """The members of one archive so far, and the rules of the module docstring between them."""

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.types: dict[str, MemberType] = {}
        self.links: dict[str, str] = {}  # symbolic link -> target
        self._parents: set[str] = set()  # every folder some member lies in

    def admit(self, raw_name: str, kind: MemberType, linkname: str = "") -> str:
        """Check one member against the rules and the members before it; return its clean name."""
        name = check_member_name(raw_name)
        if kind is not MemberType.DIR and raw_name.endswith("/"):
            raise ArchiveError(f"member {name!r} is a {kind.value} whose name ends with '/'")
        if len(self.types) >= self.limits.max_members:
            raise ArchiveError(f"more than {self.limits.max_members} members, at {name!r}")
        if name in self.types:
            raise ArchiveError(f"duplicate archive member {name!r}")
        if kind is not MemberType.DIR and name in self._parents:
            raise ArchiveError(f"member {name!r} is a {kind.value}, but other members lie under it")
        parent = name
        while (cut := parent.rfind("/")) > 0:
            parent = parent[:cut]
            above = self.types.get(parent)
            if above is not None and above is not MemberType.DIR:
                raise ArchiveError(f"member {name!r} lies under {parent!r}, which is a {above.value}")
            if parent in self._parents:
                break
            self._parents.add(parent)
        if kind is MemberType.SYMLINK:
            check_link_target(name, linkname)
            self.links[name] = linkname
        elif kind is MemberType.HARDLINK:
            try:
                target = check_member_name(linkname)
            except ArchiveError:
                target = ""
            if not target or self.types.get(target) is not MemberType.FILE:
                raise ArchiveError(
                    f"hard link {name!r} points to {printable(linkname)!r}, not an earlier file"
                )
        self.types[name] = kind
        return name

    def finish(self) -> None:
        """At the end of the archive: refuse an empty one, and links that escape once resolved."""
        if not self.types:
            raise ArchiveError("the archive has no members")
        for name, target in self.links.items():
            self._resolve(name, target)

    def _resolve(self, name: str, target: str) -> None:
        """Walk ``target`` from the link's folder, replacing each link met by its own target."""
        path = name.split("/")[:-1]
        pending = list(reversed(target.split("/")))
        hops = 0
        while pending:
            part = pending.pop()
            if part in ("", "."):
                continue
            if part == "..":
                if not path:
                    raise ArchiveError(
                        f"link {name!r} points outside the archive ({printable(target)!r}, "
                        "with the archive's other links resolved)"
                    )
                path.pop()
                continue
            path.append(part)
            if (through := self.links.get("/".join(path))) is not None:
                hops += 1
                if hops > MAX_LINK_HOPS:
                    raise ArchiveError(
                        f"link {name!r} goes through more than {MAX_LINK_HOPS} links (a loop?)"
                    )
                path.pop()
                pending.extend(reversed(through.split("/")))
