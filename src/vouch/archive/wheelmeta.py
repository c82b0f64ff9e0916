"""A wheel's METADATA, WHEEL and RECORD, parsed and compared field by field (or path by path).

METADATA and WHEEL are email-header documents (core metadata, PEP 427): fields may repeat
(``Classifier``, ``Requires-Dist``, ``Tag``), so each field is compared as the list of its values in
order; METADATA's body is the long description, compared by size and sha256 (the member's unified
diff shows it). RECORD is CSV: ``path,hash,size``, compared per path.
"""

from __future__ import annotations

import csv
import email.parser
import email.policy
import hashlib
from typing import Any

WHEEL_FILES = {"METADATA": "metadata", "WHEEL": "wheel", "RECORD": "record"}


def wheel_aspect(member: str) -> str | None:
    """``"metadata"``, ``"wheel"`` or ``"record"`` for those files of a top-level ``.dist-info``."""
    top, slash, rest = member.partition("/")
    if slash and top.endswith(".dist-info"):
        return WHEEL_FILES.get(rest)
    return None


def compare_wheel_file(aspect: str, a: str, b: str, max_entries: int) -> dict[str, Any]:
    """What differs between two versions of a METADATA, WHEEL or RECORD file."""
    if aspect == "record":
        return compare_record(a, b, max_entries)
    return compare_fields(a, b)


def parse_fields(text: str) -> tuple[dict[str, list[str]], str]:
    """Fields (by name as first spelt, values in order) and the body of an email-header document."""
    message = email.parser.Parser(policy=email.policy.compat32).parsestr(text)
    fields: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}
    for key, value in message.items():
        name = spelling.setdefault(key.lower(), key)
        fields.setdefault(name, []).append(str(value))
    payload = message.get_payload()
    return fields, payload if isinstance(payload, str) else ""


def compare_fields(a: str, b: str) -> dict[str, Any]:
    fields_a, body_a = parse_fields(a)
    fields_b, body_b = parse_fields(b)
    by_key_b = {key.lower(): values for key, values in fields_b.items()}
    names = {key.lower(): key for key in [*fields_b, *fields_a]}
    differing: dict[str, Any] = {}
    for lower, name in names.items():
        values_a = next((v for k, v in fields_a.items() if k.lower() == lower), [])
        values_b = by_key_b.get(lower, [])
        if values_a != values_b:
            differing[name] = {"a": _values(values_a), "b": _values(values_b)}
    if body_a != body_b:
        differing["(body)"] = {"a": _summary(body_a), "b": _summary(body_b)}
    result: dict[str, Any] = {"fields": differing}
    if not differing:
        result["note"] = "same fields and values; their order or formatting differs"
    return result


def _values(values: list[str]) -> str | list[str] | None:
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def _summary(text: str) -> dict[str, Any]:
    return {"length": len(text), "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}


def parse_record(text: str) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    for row in csv.reader(text.splitlines()):
        if row:
            path, digest, size = (*row, "", "")[:3]
            rows.append((path, digest, size))
    return rows


def compare_record(a: str, b: str, max_entries: int) -> dict[str, Any]:
    try:
        rows_a, rows_b = parse_record(a), parse_record(b)
    except csv.Error as exc:
        return {"paths": {}, "note": f"RECORD is not valid CSV: {exc}"}
    index_a = {path: (digest, size) for path, digest, size in rows_a}
    index_b = {path: (digest, size) for path, digest, size in rows_b}
    differing: dict[str, Any] = {}
    for path in sorted(index_a.keys() | index_b.keys()):
        if index_a.get(path) != index_b.get(path):
            differing[path] = {"a": _row(index_a.get(path)), "b": _row(index_b.get(path))}
    result: dict[str, Any] = {"paths": dict(list(differing.items())[:max_entries])}
    if len(differing) > max_entries:
        result["paths_cut"] = len(differing) - max_entries
    if not differing:
        same_order = [row[0] for row in rows_a] == [row[0] for row in rows_b]
        result["note"] = "same rows; " + ("their formatting differs" if same_order else "in another order")
    return result


def _row(entry: tuple[str, str] | None) -> dict[str, str] | None:
    return None if entry is None else {"hash": entry[0], "size": entry[1]}
