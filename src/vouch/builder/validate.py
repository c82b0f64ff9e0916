"""Checks that a normalised sdist and wheel are valid distributions, before anything is written.

The sdist: one top-level ``NAME-VERSION`` directory holding PKG-INFO, named as its metadata says.
The wheel: its ``.dist-info`` holds METADATA, WHEEL and RECORD; every member but RECORD is listed
in RECORD with the right sha256 and size, and every listed file exists; name and version agree
with the file name and with the sdist.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass

from packaging.metadata import InvalidMetadata, Metadata
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from vouch.archive.safe import Member, MemberType
from vouch.errors import ArchiveError


@dataclass(frozen=True)
class DistInfo:
    name: NormalizedName
    version: Version


def _metadata(raw: bytes, where: str) -> DistInfo:
    try:
        metadata = Metadata.from_email(raw, validate=False)
        return DistInfo(canonicalize_name(metadata.name), Version(str(metadata.version)))
    except (InvalidMetadata, ValueError, KeyError, TypeError, ExceptionGroup) as exc:
        raise ArchiveError(f"{where} is not valid core metadata: {exc}") from exc


def check_sdist(filename: str, members: Sequence[Member]) -> DistInfo:
    try:
        name, version = parse_sdist_filename(filename)
    except InvalidSdistFilename as exc:
        raise ArchiveError(f"the backend made an sdist with an invalid name: {exc}") from exc
    tops = {m.name.split("/", 1)[0] for m in members}
    stem = filename.removesuffix(".tar.gz")
    if tops != {stem}:
        raise ArchiveError(f"{filename}: expected one top-level directory {stem!r}, got {sorted(tops)}")
    by_name = {m.name: m for m in members}
    pkg_info = by_name.get(f"{stem}/PKG-INFO")
    if pkg_info is None or pkg_info.type is not MemberType.FILE:
        raise ArchiveError(f"{filename} has no {stem}/PKG-INFO")
    info = _metadata(pkg_info.data, f"{filename}: PKG-INFO")
    if (info.name, info.version) != (name, version):
        raise ArchiveError(f"{filename}: PKG-INFO says {info.name} {info.version}")
    return info


def record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_wheel(filename: str, members: Sequence[Member]) -> DistInfo:
    try:
        name, version, _, _ = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise ArchiveError(f"the backend made a wheel with an invalid name: {exc}") from exc
    files = {m.name: m for m in members if m.type is MemberType.FILE}
    dist_infos = {n.split("/", 1)[0] for n in files if n.split("/", 1)[0].endswith(".dist-info")}
    if len(dist_infos) != 1:
        raise ArchiveError(f"{filename}: expected one .dist-info directory, got {sorted(dist_infos)}")
    dist_info = dist_infos.pop()
    for required in ("METADATA", "WHEEL", "RECORD"):
        if f"{dist_info}/{required}" not in files:
            raise ArchiveError(f"{filename}: {dist_info}/{required} is missing")
    info = _metadata(files[f"{dist_info}/METADATA"].data, f"{filename}: METADATA")
    if (info.name, info.version) != (name, version):
        raise ArchiveError(f"{filename}: METADATA says {info.name} {info.version}")
    record_name = f"{dist_info}/RECORD"
    listed = _parse_record(filename, files[record_name].data)
    for member_name, member in files.items():
        if member_name == record_name:
            continue
        if member_name not in listed:
            raise ArchiveError(f"{filename}: {member_name} is not listed in RECORD")
        digest, size = listed[member_name]
        if digest != record_hash(member.data) or size != str(len(member.data)):
            raise ArchiveError(f"{filename}: {member_name} does not match its RECORD hash or size")
    missing = sorted(set(listed) - set(files))
    if missing:
        raise ArchiveError(f"{filename}: RECORD lists files the wheel lacks: {missing[:3]}")
    return info


def _parse_record(filename: str, data: bytes) -> dict[str, tuple[str, str]]:
    listed: dict[str, tuple[str, str]] = {}
    try:
        for row in csv.reader(io.StringIO(data.decode("utf-8"))):
            if row:
                path, digest, size = row
                listed[path] = (digest, size)
    except (UnicodeDecodeError, ValueError, csv.Error) as exc:
        raise ArchiveError(f"{filename}: RECORD cannot be parsed: {exc}") from exc
    return listed
