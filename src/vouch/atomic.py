"""Atomic file writes: temp file in the target's directory, fsync, then rename."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_bytes_atomic(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write ``path`` through a synced temporary file in the same folder. ``exclusive``: refuse
    to replace an existing file, even one that appears meanwhile (``FileExistsError``)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        Path(tmp).chmod(0o644)
        if exclusive:
            os.link(tmp, path)  # unlike rename, link fails when the target exists
        else:
            Path(tmp).replace(path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def write_json_atomic(path: Path, data: Any) -> None:
    write_bytes_atomic(path, dump_json(data).encode("utf-8"))
