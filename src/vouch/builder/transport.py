"""Run one PEP 517 build hook with the backend's own archive written uncompressed.

``vouch build`` (and the replay of its records) reads the backend's sdist and wheel only for their
members and writes every byte of its own archives itself (:mod:`vouch.archive.normalize`), so the
compression the backend applies to the archive it writes is thrown away: setuptools compresses
Django's 63 MB sdist tar with zlib level 9 (3.9 s of CPU on this project's machine, on the
critical path) and deflates its wheel at level 6, and vouch then inflates both again.

This script runs pyproject_hooks' ``_in_process.py`` with three standard-library archive writers
changed, for archives written *inside the hook's output folder* (``sdist_directory`` or
``wheel_directory``, from the hook's ``input.json``) and for nothing else:

- :class:`gzip.GzipFile` writes level 0 (stored deflate blocks, the same gzip framing);
- ``tarfile.open(..., "w|gz")`` becomes ``"w:gz"`` at level 0 (the same tar stream; the stream
  mode's own compressor has no level to set);
- :class:`zipfile.ZipFile` stores its members (``ZIP_STORED``; the same member bytes, hashes and
  RECORD).

Whatever the backend compresses elsewhere is untouched: a compressed file it puts *into* a
distribution (a ``.json.gz`` data file, say) is written in the source or build tree, so the
distribution's members are the same with or without this script, and the normalised archives are
byte for byte the same (``tests/test_builder_transport.py`` builds both ways). Backends that write
their archive somewhere else first (hatchling writes a temporary file, then moves it) simply keep
their compression. Where the backend's own bytes are the result (``vouch rebuild`` of a published
release or of a tag's sdist), the hooks run as pyproject_hooks runs them, without this script.

It runs in the build environment's interpreter, so it imports the standard library only; it leaves
``sys.path`` as running ``_in_process.py`` directly would (its own folder removed). If the writers
cannot be changed (another Python's signatures), the hook runs unchanged and a line in the
backend's log says so. No library does this: build front-ends keep the backend's archive as their
output, so none has a reason to.
"""

from __future__ import annotations

import gzip
import inspect
import json
import os
import runpy
import sys
import tarfile
import traceback
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

#: the hooks whose archive vouch re-reads, and the keyword naming their output folder
OUTPUT_FOLDER = {"build_sdist": "sdist_directory", "build_wheel": "wheel_directory"}


def output_folder(hook: str, control_dir: str) -> str | None:
    """The real path of the folder ``hook`` writes its archive into, from pyproject_hooks'
    ``input.json`` in ``control_dir``; None for other hooks or an unreadable input."""
    key = OUTPUT_FOLDER.get(hook)
    if key is None:
        return None
    try:
        hook_input = json.loads((Path(control_dir) / "input.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    kwargs = hook_input.get("kwargs") if isinstance(hook_input, dict) else None
    folder = kwargs.get(key) if isinstance(kwargs, dict) else None
    return os.path.realpath(folder) if isinstance(folder, str) and folder else None


def inside(target: object, folder: str) -> bool:
    """Whether ``target`` (a path, or a file object with a ``name``) is inside ``folder``."""
    name = target if isinstance(target, (str, bytes, os.PathLike)) else getattr(target, "name", None)
    if not isinstance(name, (str, bytes, os.PathLike)):
        return False  # an in-memory file, or a file descriptor's number
    try:
        path = os.path.realpath(os.fsdecode(name))
        return os.path.commonpath([path, folder]) == folder
    except (TypeError, ValueError):
        return False


def _writing(mode: object) -> bool:
    return isinstance(mode, str) and any(flag in mode for flag in "wax")


def _signature(function: Callable[..., object], names: tuple[str, ...]) -> inspect.Signature:
    """``function``'s signature, checked to have the parameters the change relies on."""
    signature = inspect.signature(function)
    missing = [name for name in names if name not in signature.parameters]
    if missing:
        raise TypeError(f"unexpected signature {signature}: no {', '.join(missing)}")
    return signature


Install = Callable[[], None]


def _gzip(folder: str) -> Install:
    original = gzip.GzipFile.__init__
    signature = _signature(original, ("filename", "mode", "compresslevel", "fileobj"))

    def gzip_file(self: gzip.GzipFile, *args: Any, **kwargs: Any) -> None:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        values = bound.arguments
        mode = values["mode"]
        if mode is None and values["fileobj"] is not None:
            mode = getattr(values["fileobj"], "mode", None)
        target = values["filename"] if values["filename"] is not None else values["fileobj"]
        if _writing(mode) and inside(target, folder):
            values["compresslevel"] = 0
        original(*bound.args, **bound.kwargs)

    def install() -> None:
        gzip.GzipFile.__init__ = gzip_file  # type: ignore[method-assign]

    return install


def _tar(folder: str) -> Install:
    original = tarfile.TarFile.open.__func__  # type: ignore[attr-defined]
    signature = _signature(original, ("cls", "name", "mode", "fileobj"))
    extra = [p.name for p in signature.parameters.values() if p.kind is p.VAR_KEYWORD]
    if not extra:
        raise TypeError(f"unexpected signature {signature}: no keyword arguments for the compressor")

    def tar_file(cls: type[tarfile.TarFile], *args: Any, **kwargs: Any) -> tarfile.TarFile:
        bound = signature.bind(cls, *args, **kwargs)
        values = dict(bound.arguments)
        target = values.get("name") if values.get("fileobj") is None else values.get("fileobj")
        if values.get("mode") not in ("w|gz", "x|gz") or not inside(target, folder):
            return original(*bound.args, **bound.kwargs)  # type: ignore[no-any-return]
        values["mode"] = str(values["mode"]).replace("|", ":")
        values.pop("bufsize", None)  # the stream mode's buffer size: no parameter of "w:gz"
        options = dict(values.pop(extra[0], {}))
        options["compresslevel"] = 0
        del values["cls"]
        return original(cls, **values, **options)  # type: ignore[no-any-return]

    def install() -> None:
        tarfile.TarFile.open = classmethod(tar_file)  # type: ignore[assignment, method-assign]
        tarfile.open = tarfile.TarFile.open

    return install


def _zip(folder: str) -> Install:
    original_init, original_open = zipfile.ZipFile.__init__, zipfile.ZipFile.open
    signature = _signature(original_init, ("file", "mode", "compression"))
    _signature(original_open, ("name", "mode"))

    def zip_file(self: zipfile.ZipFile, *args: Any, **kwargs: Any) -> None:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        values = bound.arguments
        store = _writing(values["mode"]) and inside(values["file"], folder)
        if store:
            values["compression"] = zipfile.ZIP_STORED
        original_init(*bound.args, **bound.kwargs)
        self._vouch_store = store  # type: ignore[attr-defined]

    def zip_member(self: zipfile.ZipFile, name: Any, mode: Any = "r", *args: Any, **kwargs: Any) -> Any:
        if mode == "w" and getattr(self, "_vouch_store", False):
            if not isinstance(name, zipfile.ZipInfo):
                name = zipfile.ZipInfo(name)  # as ZipFile.open makes one for a name
            name.compress_type = zipfile.ZIP_STORED
        return original_open(self, name, mode, *args, **kwargs)

    def install() -> None:
        zipfile.ZipFile.__init__ = zip_file  # type: ignore[method-assign]
        zipfile.ZipFile.open = zip_member  # type: ignore[method-assign]

    return install


def install(folder: str) -> None:
    """Change the three writers for archives inside ``folder`` (see the module docstring): all of
    them, or (when one's signature is not the expected one) none, with a :class:`TypeError`."""
    for change in [_gzip(folder), _tar(folder), _zip(folder)]:
        change()


def main(argv: list[str]) -> None:
    """``transport.py IN_PROCESS_SCRIPT HOOK CONTROL_DIR``: pyproject_hooks' command, one word
    longer."""
    if len(argv) != 4:  # the script and pyproject_hooks' three words
        sys.exit(f"usage: {argv[0]} IN_PROCESS_SCRIPT HOOK CONTROL_DIR")
    script, hook, control_dir = argv[1:]
    here = os.path.normcase(Path(__file__).resolve().parent)
    sys.path[:] = [path for path in sys.path if os.path.normcase(os.path.realpath(path)) != here]
    folder = output_folder(hook, control_dir)
    if folder is not None:
        try:
            install(folder)
        except Exception as exc:  # only a speed-up: the hook runs as it would have without it
            print(f"vouch: the backend's archive keeps its own compression ({exc})", file=sys.stderr)
    sys.argv[:] = [script, hook, control_dir]
    sys.excepthook = _from_the_script(script)
    runpy.run_path(script, run_name="__main__")


ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], None]


def _from_the_script(script: str) -> ExceptHook:
    """An excepthook that prints a failing hook's traceback from the hook script's frame on, as
    Python prints it when the script runs without this one (whose frames would push the backend's
    last lines out of the tail that vouch shows)."""
    real = os.path.realpath(script)

    def excepthook(kind: type[BaseException], value: BaseException, trace: TracebackType | None) -> None:
        frame = trace
        while frame is not None and os.path.realpath(frame.tb_frame.f_code.co_filename) != real:
            frame = frame.tb_next
        traceback.print_exception(kind, value, frame or trace)  # sys.__excepthook__ would print them all

    return excepthook


if __name__ == "__main__":
    main(sys.argv)
