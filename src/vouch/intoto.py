"""In-toto Statement v1: the one model, parser and serializer of every statement vouch reads or
writes (signed vouches, build and rebuild records, the doctor's report, the VSA).

``parse_statement`` reads untrusted bytes: bounded in size and depth, duplicate JSON keys and
non-finite numbers refused, every field type-checked, subjects plain file names with lowercase
sha256 digests. ``read_vouch`` then says whether a statement is a vouch: one of the predicates
vouch itself signs for a release (its "vouched" statement, a build record, a rebuild record),
naming the source commit. Any other predicate (a VSA, a doctor report, a PEP 740 publish
attestation) is refused with its type as the reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from vouch.dist import is_plain_filename

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
VOUCH_PREDICATE = "https://github.com/vouch-dev/vouch/vouched/v1"
PROVENANCE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "https://github.com/vouch-dev/vouch/buildtypes/sdist-wheel/v1"
REBUILD_TYPE = "https://github.com/vouch-dev/vouch/buildtypes/wheel-from-published-sdist/v1"

MAX_JSON_BYTES = 1 << 20  # a statement, an envelope or a bundle: far below this
MAX_JSON_DEPTH = 32
MAX_SUBJECTS = 1024
SHA256 = re.compile(r"[0-9a-f]{64}")
COMMIT = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
_STATEMENT_FIELDS = {"_type", "subject", "predicateType", "predicate"}


class StatementError(ValueError):
    """Input that is not a well-formed statement (or not a vouch); the message says why."""


def _refuse_constant(name: str) -> Any:
    raise StatementError(f"{name} is not a JSON number")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        keys = [key for key, _ in pairs]
        twice = next(key for key in keys if keys.count(key) > 1)
        raise StatementError(f"the key {twice[:64]!r} appears twice in one object")
    return document


def _depth_within(document: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return False
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return True


def load_json(data: bytes | str, *, limit: int = MAX_JSON_BYTES, depth: int = MAX_JSON_DEPTH) -> Any:
    """Strict, bounded JSON: at most ``limit`` bytes and ``depth`` levels of nesting, UTF-8, no
    duplicate keys, no NaN or Infinity. Anything else is a ``StatementError``."""
    if len(data) > limit:
        raise StatementError(f"{len(data)} bytes of JSON, more than the {limit} accepted")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StatementError(f"not UTF-8 (byte {exc.start})") from None
    try:
        document = json.loads(data, object_pairs_hook=_object, parse_constant=_refuse_constant)
    except RecursionError:  # json's parser recurses once per level of nesting
        raise StatementError(f"JSON nested deeper than {depth} levels") from None
    except json.JSONDecodeError as exc:
        raise StatementError(f"not JSON: {exc.msg} (line {exc.lineno} column {exc.colno})") from None
    # a document cannot nest deeper than its number of brackets (str.count is cheap)
    if data.count("[") + data.count("{") > depth and not _depth_within(document, depth):
        raise StatementError(f"JSON nested deeper than {depth} levels")
    return document


def dumps_canonical(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class Subject:
    name: str
    sha256: str


@dataclass(frozen=True)
class Statement:
    """A parsed (or to be written) in-toto Statement v1; ``predicate`` is a JSON object."""

    subjects: tuple[Subject, ...]
    predicate_type: str
    predicate: Mapping[str, Any]

    @classmethod
    def of(cls, subjects: Iterable[Subject], predicate_type: str, predicate: Mapping[str, Any]) -> Statement:
        """A statement built by vouch, checked as strictly as one received."""
        statement = cls(tuple(subjects), predicate_type, predicate)
        return from_document(statement.to_json())

    @property
    def digests(self) -> dict[str, str]:
        return {s.name: s.sha256 for s in self.subjects}

    def to_json(self) -> dict[str, Any]:
        return {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": s.name, "digest": {"sha256": s.sha256}} for s in self.subjects],
            "predicateType": self.predicate_type,
            "predicate": dict(self.predicate),
        }

    def to_payload(self) -> bytes:
        """Canonical JSON (sorted keys, no spaces): the bytes that are signed."""
        return dumps_canonical(self.to_json())


def _subject(entry: Any) -> Subject:
    if not isinstance(entry, dict) or set(entry) - {"name", "digest", "uri", "annotations"}:
        raise StatementError("a subject is not an object of name and digest")
    name, digest = entry.get("name"), entry.get("digest")
    if not isinstance(name, str) or not is_plain_filename(name):
        shown = repr(name[:80]) if isinstance(name, str) else type(name).__name__
        raise StatementError(f"subject name {shown} is not a plain file name")
    if not isinstance(digest, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in digest.items()
    ):
        raise StatementError(f"subject {name}: digest is not an object of strings")
    sha256 = digest.get("sha256")
    if sha256 is None or not SHA256.fullmatch(sha256):
        raise StatementError(f"subject {name}: no well-formed sha256 digest (64 lowercase hex digits)")
    return Subject(name, sha256)


def from_document(document: Any) -> Statement:
    """The statement of an already decoded JSON document (see ``parse_statement``)."""
    if not isinstance(document, dict) or document.get("_type") != STATEMENT_TYPE:
        raise StatementError("not an in-toto Statement v1")
    unknown = set(document) - _STATEMENT_FIELDS
    if unknown:
        raise StatementError(f"unknown statement fields {sorted(unknown)[:5]}")
    entries = document.get("subject")
    if not isinstance(entries, list) or not entries:
        raise StatementError("the statement has no subjects")
    if len(entries) > MAX_SUBJECTS:
        raise StatementError(f"{len(entries)} subjects, more than the {MAX_SUBJECTS} accepted")
    subjects = tuple(_subject(entry) for entry in entries)
    names = [s.name for s in subjects]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise StatementError(f"subject {twice} appears twice")
    predicate_type, predicate = document.get("predicateType"), document.get("predicate", {})
    if not isinstance(predicate_type, str) or not predicate_type:
        raise StatementError("the statement has no predicateType")
    if not isinstance(predicate, dict):
        raise StatementError("the predicate is not an object")
    return Statement(subjects, predicate_type, predicate)


def parse_statement(payload: bytes | str) -> Statement:
    """Parse an in-toto Statement v1 from untrusted bytes; ``StatementError`` says what is wrong."""
    return from_document(load_json(payload))


@dataclass(frozen=True)
class Vouch:
    """What a signed statement vouches for: these file digests, built from that commit."""

    subjects: dict[str, str]  # file name -> sha256
    predicate_type: str
    commit: str
    repository: str | None
    role: str | None

    def to_statement(self) -> Statement:
        """The statement ``vouch sign`` signs (predicate type ``VOUCH_PREDICATE``)."""
        subjects = (Subject(n, d) for n, d in sorted(self.subjects.items()))
        predicate = {"source": {"repository": self.repository, "commit": self.commit}, "role": self.role}
        return Statement.of(subjects, VOUCH_PREDICATE, predicate)

    def to_payload(self) -> bytes:
        return self.to_statement().to_payload()


def _optional_str(mapping: Mapping[str, Any], key: str, what: str) -> str | None:
    value = mapping.get(key)
    if value is not None and not isinstance(value, str):
        raise StatementError(f"{what} is not a string")
    return value


def _source(source: Any, what: str) -> tuple[str, str | None]:
    """(commit, repository) of a ``source`` object; refused when it names no full commit."""
    if not isinstance(source, dict) or source.get("commit") is None:
        raise StatementError(f"the {what} names no source commit")
    commit = source["commit"]
    if not isinstance(commit, str) or not COMMIT.fullmatch(commit):
        raise StatementError(f"the {what}'s source commit is not a full lowercase hex SHA")
    return commit, _optional_str(source, "repository", "the source repository")


def read_vouch(statement: Statement) -> Vouch:
    """The vouch a statement makes, or a ``StatementError`` naming why it is none."""
    predicate = statement.predicate
    role = None
    if statement.predicate_type == VOUCH_PREDICATE:
        unknown = set(predicate) - {"source", "role"}
        if unknown:
            raise StatementError(f"unknown fields {sorted(unknown)[:5]} in the vouch predicate")
        commit, repository = _source(predicate.get("source"), "vouch predicate")
        role = _optional_str(predicate, "role", "the role")
    elif statement.predicate_type == PROVENANCE_TYPE:
        definition = predicate.get("buildDefinition")
        build_type = definition.get("buildType") if isinstance(definition, dict) else None
        if build_type not in (BUILD_TYPE, REBUILD_TYPE):
            shown = build_type if isinstance(build_type, str) else "none"
            raise StatementError(f"SLSA provenance of buildType {shown[:200]} is not a vouch")
        assert isinstance(definition, dict)  # noqa: S101 - for mypy: a build type was found in it
        external = definition.get("externalParameters")
        source = external.get("source") if isinstance(external, dict) else None
        commit, repository = _source(source, "build record" if build_type == BUILD_TYPE else "rebuild record")
    else:
        raise StatementError(f"predicate type {statement.predicate_type[:200]} is not a vouch")
    if role is not None and not role:
        raise StatementError("the role is empty")
    return Vouch(statement.digests, statement.predicate_type, commit, repository, role)
