"""The build record: an in-toto Statement v1 with a SLSA Provenance v1 predicate.

It holds everything a second party needs to replay a build without asking: the source (repository,
commit, subdirectory), the settings (SOURCE_DATE_EPOCH and its origin, umask, TZ, locale, hash
seed, normalizer and the compressor of its deflate streams), every package of the build
environment with its file and sha256, the Python and zlib versions, and the artifacts produced.
``from_statement`` parses and checks a record read from disk; anything missing or of the wrong
type is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vouch.errors import UsageError
from vouch.intoto import (  # re-exported: the record's statement is an in-toto statement
    BUILD_TYPE,
    PROVENANCE_TYPE,
    REBUILD_TYPE,
    STATEMENT_TYPE,
    Statement,
    Subject,
    from_document,
)

__all__ = ["BUILD_TYPE", "PROVENANCE_TYPE", "REBUILD_TYPE", "STATEMENT_TYPE", "BuildRecord", "Subject"]

RECORD_FORMAT = 1
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


@dataclass(frozen=True)
class Dependency:
    """One package of the build environment, by the exact file installed."""

    name: str
    version: str
    filename: str
    sha256: str


@dataclass(frozen=True)
class SourceParameters:
    repository: str
    commit: str
    subdir: str
    ref: str


@dataclass(frozen=True)
class BuildSettings:
    source_date_epoch: int
    source_date_epoch_origin: str
    normalizer: str
    normalizer_version: int
    umask: str
    tz: str
    locale: str
    python_hash_seed: str
    frontend: str
    frontend_version: str
    build_backend: str
    lock_origin: str
    # what made the deflate streams: libdeflate from a pinned package (normalizer v3), or the
    # builder's system zlib (v2 records, which do not name it: their toolchain's zlib version)
    compressor: str
    compressor_version: str
    compressor_package: str  # the requirement that installs it, "" for a system library


@dataclass(frozen=True)
class Toolchain:
    python_implementation: str
    python_version: str
    zlib_version: str
    platform: str


@dataclass(frozen=True)
class BuildRecord:
    subjects: tuple[Subject, ...]
    source: SourceParameters
    settings: BuildSettings
    dependencies: tuple[Dependency, ...]
    toolchain: Toolchain
    builder_id: str
    started_on: str
    finished_on: str

    def to_statement(self) -> dict[str, Any]:
        settings = self.settings
        return Statement.of(self.subjects, PROVENANCE_TYPE, {
                "buildDefinition": {
                    "buildType": BUILD_TYPE,
                    "externalParameters": {
                        "source": {
                            "repository": self.source.repository,
                            "commit": self.source.commit,
                            "subdir": self.source.subdir,
                            "ref": self.source.ref,
                        }
                    },
                    "internalParameters": {
                        "recordFormat": RECORD_FORMAT,
                        "sourceDateEpoch": settings.source_date_epoch,
                        "sourceDateEpochOrigin": settings.source_date_epoch_origin,
                        "normalizer": {
                            "name": settings.normalizer,
                            "version": settings.normalizer_version,
                            "compressor": {
                                "name": settings.compressor,
                                "version": settings.compressor_version,
                                "package": settings.compressor_package,
                            },
                        },
                        "umask": settings.umask,
                        "tz": settings.tz,
                        "locale": settings.locale,
                        "pythonHashSeed": settings.python_hash_seed,
                        "frontend": {
                            "name": settings.frontend,
                            "version": settings.frontend_version,
                            "flags": [
                                "sdist",
                                "wheel-from-sdist",
                                "isolated",
                                "no-config-settings",
                            ],
                        },
                        "buildBackend": settings.build_backend,
                        "lockOrigin": settings.lock_origin,
                    },
                    "resolvedDependencies": [
                        {
                            "uri": f"git+{self.source.repository}@{self.source.commit}",
                            "digest": {"gitCommit": self.source.commit},
                            "name": "source",
                        },
                        *(
                            {
                                "name": d.name,
                                "uri": f"pkg:pypi/{d.name}@{d.version}",
                                "digest": {"sha256": d.sha256},
                                "annotations": {"filename": d.filename, "version": d.version},
                            }
                            for d in self.dependencies
                        ),
                        {
                            "name": "python",
                            "uri": f"pkg:generic/python@{self.toolchain.python_version}",
                            "annotations": {
                                "implementation": self.toolchain.python_implementation,
                                "version": self.toolchain.python_version,
                                "platform": self.toolchain.platform,
                            },
                        },
                        {
                            "name": "zlib",
                            "uri": f"pkg:generic/zlib@{self.toolchain.zlib_version}",
                            "annotations": {"version": self.toolchain.zlib_version},
                        },
                    ],
                },
                "runDetails": {
                    "builder": {"id": self.builder_id},
                    "metadata": {"startedOn": self.started_on, "finishedOn": self.finished_on},
                },
            }).to_json()  # fmt: skip

    @classmethod
    def from_statement(cls, data: Any) -> BuildRecord:
        """Parse a build record; refuse anything that is not one, naming the field."""
        try:
            return _parse(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise UsageError(f"not a vouch build record: {exc!s}") from exc


def _str(mapping: Mapping[str, Any], key: str) -> str:
    value = mapping[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} must be a string")
    return value


def _int(mapping: Mapping[str, Any], key: str) -> int:
    value = mapping[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{key} must be an integer")
    return value


def _digest(value: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.match(value):
        raise ValueError(f"{what} {value!r} is not a lowercase hex digest")
    return value


def _compressor(normalizer: Mapping[str, Any], toolchain: Mapping[str, str]) -> tuple[str, str, str]:
    """(name, version, package) of the deflate streams' compressor. Records of normalizer v2 and
    before do not name it: it was the builder's system zlib, whose version the toolchain has."""
    if "compressor" not in normalizer and _int(normalizer, "version") <= 2:
        return "zlib", toolchain["zlib_version"], ""
    compressor = normalizer["compressor"]
    return _str(compressor, "name"), _str(compressor, "version"), _str(compressor, "package")


def _parse(data: Any) -> BuildRecord:
    statement = from_document(data)
    if statement.predicate_type != PROVENANCE_TYPE:
        raise ValueError("_type or predicateType is not in-toto Statement v1 / SLSA Provenance v1")
    predicate = statement.predicate
    definition = predicate["buildDefinition"]
    if definition["buildType"] != BUILD_TYPE:
        raise ValueError(f"unknown buildType {definition['buildType']!r}")
    internal = definition["internalParameters"]
    if _int(internal, "recordFormat") != RECORD_FORMAT:
        raise ValueError(f"record format {internal['recordFormat']} is not {RECORD_FORMAT}")
    source = definition["externalParameters"]["source"]
    subjects = statement.subjects
    dependencies: list[Dependency] = []
    toolchain: dict[str, str] = {}
    for entry in definition["resolvedDependencies"]:
        name = _str(entry, "name")
        annotations = entry.get("annotations", {})
        if name == "python":
            toolchain["python_implementation"] = _str(annotations, "implementation")
            toolchain["python_version"] = _str(annotations, "version")
            toolchain["platform"] = _str(annotations, "platform")
        elif name == "zlib":
            toolchain["zlib_version"] = _str(annotations, "version")
        elif name != "source":
            dependencies.append(
                Dependency(
                    name=name,
                    version=_str(annotations, "version"),
                    filename=_str(annotations, "filename"),
                    sha256=_digest(_str(entry["digest"], "sha256"), _SHA256, "sha256"),
                )
            )
    normalizer = internal["normalizer"]
    compressor, compressor_version, compressor_package = _compressor(normalizer, toolchain)
    frontend = internal["frontend"]
    run = predicate["runDetails"]
    return BuildRecord(
        subjects=subjects,
        source=SourceParameters(
            repository=_str(source, "repository"),
            commit=_digest(_str(source, "commit"), _COMMIT, "commit"),
            subdir=_str(source, "subdir"),
            ref=_str(source, "ref"),
        ),
        settings=BuildSettings(
            source_date_epoch=_int(internal, "sourceDateEpoch"),
            source_date_epoch_origin=_str(internal, "sourceDateEpochOrigin"),
            normalizer=_str(normalizer, "name"),
            normalizer_version=_int(normalizer, "version"),
            umask=_str(internal, "umask"),
            tz=_str(internal, "tz"),
            locale=_str(internal, "locale"),
            python_hash_seed=_str(internal, "pythonHashSeed"),
            frontend=_str(frontend, "name"),
            frontend_version=_str(frontend, "version"),
            build_backend=_str(internal, "buildBackend"),
            lock_origin=_str(internal, "lockOrigin"),
            compressor=compressor,
            compressor_version=compressor_version,
            compressor_package=compressor_package,
        ),
        dependencies=tuple(dependencies),
        toolchain=Toolchain(**toolchain),
        builder_id=_str(run["builder"], "id"),
        started_on=_str(run["metadata"], "startedOn"),
        finished_on=_str(run["metadata"], "finishedOn"),
    )


def rebuild_statement(
    *,
    release: str,
    index_url: str,
    sdist: Subject,
    rebuilt: tuple[Subject, ...],
    recipe: dict[str, Any],
    dependencies: tuple[Dependency, ...],
    builder_id: str,
) -> dict[str, Any]:
    """An in-toto statement for a wheel rebuilt from a published sdist: the rebuilt digests as
    subjects, the release, its sdist and the inferred recipe as parameters, ready for signing."""
    return Statement.of(rebuilt, PROVENANCE_TYPE, {
            "buildDefinition": {
                "buildType": REBUILD_TYPE,
                "externalParameters": {
                    "release": release,
                    "index": index_url,
                    "sdist": {"name": sdist.name, "digest": {"sha256": sdist.sha256}},
                },
                "internalParameters": {"recordFormat": RECORD_FORMAT, "recipe": recipe},
                "resolvedDependencies": [
                    {
                        "name": d.name,
                        "uri": f"pkg:pypi/{d.name}@{d.version}",
                        "digest": {"sha256": d.sha256},
                        "annotations": {"filename": d.filename, "version": d.version},
                    }
                    for d in dependencies
                ],
            },
            "runDetails": {"builder": {"id": builder_id}},
    }).to_json()  # fmt: skip
