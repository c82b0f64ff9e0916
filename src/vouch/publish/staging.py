"""A private copy of the artifacts: what is hashed, checked and uploaded are the same bytes.

``vouch publish`` never reads the artifacts from the paths it was given a second time: it copies
each (a regular file, read once) into a fresh folder only this user can enter (``mkdtemp``,
0700), makes the copies read-only, and from then on hashes, checks and uploads those copies. A
file swapped at the original path after the copy changes nothing that is uploaded.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from vouch.errors import CheckError, UsageError

ATTESTATION_SUFFIX = ".publish.attestation"


@contextmanager
def staged(artifacts: Sequence[Path], *, with_attestations: bool = False) -> Iterator[list[Path]]:
    """Private read-only copies of ``artifacts`` (and their ``.publish.attestation`` files), removed
    afterwards; the copies keep the artifacts' names and order."""
    folder = Path(tempfile.mkdtemp(prefix="vouch-publish-"))  # mode 0700
    try:
        copies = []
        for path in artifacts:
            copies.append(_copy(path, folder / path.name))
            attestation = path.with_name(path.name + ATTESTATION_SUFFIX)
            if with_attestations and (attestation.exists() or attestation.is_symlink()):
                _copy(attestation, folder / attestation.name)
        yield copies
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _copy(source: Path, target: Path) -> Path:
    """Copy a regular file once (never a FIFO or device, which are refused unread)."""
    if target.exists():
        raise UsageError(f"two artifacts are named {source.name}")
    try:
        fd = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror}") from exc
    with os.fdopen(fd, "rb") as reader:
        if not stat.S_ISREG(os.fstat(reader.fileno()).st_mode):
            raise UsageError(f"{source} is not a regular file")
        try:
            with target.open("xb") as writer:
                shutil.copyfileobj(reader, writer)
        except OSError as exc:
            raise CheckError(f"cannot copy {source} into the private staging folder: {exc.strerror}") from exc
    target.chmod(0o400)
    return target
