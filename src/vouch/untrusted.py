"""Reading documents that come from outside (records, statements, policies, pyproject.toml, state).

The standard parsers raise ``RecursionError`` on deeply nested input (``[`` * 100000), accept any
size, and leave type checking to the caller. Every parser of untrusted JSON or TOML in vouch goes
through here: the size is bounded before parsing, the nesting depth after (iteratively, so a deep
document cannot exhaust the stack of the check itself), and every failure is one
:class:`DocumentError` whose message names the document and never quotes its content.

No maintained library bounds ``json``/``tomllib`` this way, hence the few lines here.
"""

from __future__ import annotations

import json
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

MAX_DOCUMENT_BYTES = 16 << 20
MAX_DEPTH = 64


class DocumentError(ValueError):
    """A document that is not what it claims to be; ``str()`` is one line naming it."""


def load_json(data: bytes | str, what: str, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> Any:
    """Parse JSON from outside: bounded size and depth, UTF-8 (a leading BOM is tolerated)."""
    text = _text(data, what, max_bytes)
    try:
        document = json.loads(text)
    except RecursionError:
        raise DocumentError(f"{what} is nested too deeply") from None
    except ValueError as exc:
        raise DocumentError(f"{what} is not JSON ({_position(exc)})") from None
    check_depth(document, what)
    return document


def load_toml(data: bytes | str, what: str, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> dict[str, Any]:
    """Parse TOML from outside, with the same bounds as :func:`load_json`."""
    text = _text(data, what, max_bytes)
    try:
        document = tomllib.loads(text)
    except RecursionError:
        raise DocumentError(f"{what} is nested too deeply") from None
    except tomllib.TOMLDecodeError as exc:
        raise DocumentError(f"{what} is not valid TOML: {exc}") from None
    check_depth(document, what)
    return document


def read_regular_file(path: Path, what: str, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> bytes:
    """The bytes of a regular file (never a FIFO or device, which could block or never end).

    Raises :class:`FileNotFoundError` when it does not exist, :class:`DocumentError` when it is not
    a regular file or is too large, :class:`OSError` when it cannot be read."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DocumentError(f"{what} {path} is not a regular file")
        if info.st_size > max_bytes:
            raise DocumentError(f"{what} {path} is larger than {max_bytes} bytes")
        with os.fdopen(fd, "rb", closefd=False) as stream:
            data = stream.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise DocumentError(f"{what} {path} is larger than {max_bytes} bytes")
    return data


def read_tree_file(root: Path, relative: str, what: str, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> bytes:
    """A regular file of a checked-out tree, refused when a symlink takes it outside ``root``."""
    path = root / relative
    try:
        resolved = path.resolve(strict=True)
    except FileNotFoundError:
        raise
    except (OSError, RuntimeError):
        raise DocumentError(f"{what} {relative} cannot be resolved (a symlink loop?)") from None
    if not resolved.is_relative_to(root.resolve()):
        raise DocumentError(f"{what} {relative} is a symlink to a file outside the project; refused")
    return read_regular_file(resolved, what, max_bytes=max_bytes)


def check_depth(document: Any, what: str, max_depth: int = MAX_DEPTH) -> None:
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise DocumentError(f"{what} is nested more than {max_depth} levels deep")
        if isinstance(node, dict):
            stack.extend((value, depth + 1) for value in node.values())
        elif isinstance(node, list):
            stack.extend((value, depth + 1) for value in node)


def _text(data: bytes | str, what: str, max_bytes: int) -> str:
    if len(data) > max_bytes:
        raise DocumentError(f"{what} is larger than {max_bytes} bytes")
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise DocumentError(f"{what} is not UTF-8 text") from None


def _position(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"line {exc.lineno}, column {exc.colno}"
    return "unreadable"
