"""Staging the outputs of a build: written into a temporary folder inside the output folder and
moved into place only when every file was written, so a failure leaves nothing half-written."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from vouch.atomic import dump_json, write_bytes_atomic
from vouch.errors import OutputError


class Staging:
    def __init__(self, out: Path) -> None:
        self.out = out
        self._dir: Path | None = None
        self._files: list[str] = []
        self._external: list[tuple[Path, bytes]] = []

    def __enter__(self) -> Staging:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            self._dir = Path(tempfile.mkdtemp(dir=self.out, prefix=".vouch-staging-"))
        except OSError as exc:
            raise OutputError(f"cannot write to the output folder {self.out}: {exc.strerror}") from exc
        return self

    def __exit__(self, *_: object) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)

    @property
    def _staging(self) -> Path:
        if self._dir is None:
            raise RuntimeError("Staging is used outside its with-block")
        return self._dir

    def add(self, name: str, data: bytes) -> None:
        try:
            write_bytes_atomic(self._staging / name, data)
        except OSError as exc:
            raise OutputError(f"cannot write {name} into {self.out}: {exc.strerror}") from exc
        self._files.append(name)

    def add_json(self, name: str, document: Any) -> None:
        self.add(name, dump_json(document).encode("utf-8"))

    def add_external(self, path: Path, data: bytes) -> None:
        """A file outside the output folder (a new build lock), written last."""
        self._external.append((path, data))

    def commit(self) -> None:
        try:
            for name in self._files:
                (self._staging / name).replace(self.out / name)
            for path, data in self._external:
                write_bytes_atomic(path, data)
        except OSError as exc:
            raise OutputError(f"cannot move the outputs into {self.out}: {exc.strerror}") from exc
