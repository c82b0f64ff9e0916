"""sha256 of files, streamed in 1 MiB chunks (memory stays bounded whatever the file size).

Only regular files are hashed: a FIFO or a device given as an artifact could block forever or never
end, so it is refused before a byte is read."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from vouch.errors import UsageError


def file_sha256(path: Path) -> str:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UsageError(f"{path} is not a regular file", hint="give vouch files, not pipes or devices")
        digest = hashlib.sha256()
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
