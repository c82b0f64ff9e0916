"""Results and recorded publishers in a database: SQLite by default, PostgreSQL to share them.

One code path (SQLAlchemy Core) serves both. Tables:

```
schema_version  one row per migration applied (version, applied_at)
results         one row per (subject, check, inputs, vouch version): subject is a file's sha256
                (checks "index", "provenance", "evidence") or NAME==VERSION ("history"); inputs
                is the sha256 of the canonical JSON of everything that determines the result
                (index, file name, expected publishers, trust root, ...), which is kept beside it
identities      the publisher recorded for a project (trust on first use), one row per change,
                never updated or deleted: the newest row is the recorded identity
```

Migrations only add (tables, columns, indexes) and run in one transaction each; a database that a
newer vouch has migrated is refused rather than written. Every result is written in its own
transaction as it arrives, so an interrupted run leaves only complete rows.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from vouch import __version__
from vouch.errors import CheckError, UsageError
from vouch.host import default_cache_dir

SCHEMA_VERSION = 1
_T = TypeVar("_T")
_metadata = sa.MetaData()
schema_version = sa.Table(
    "vouch_schema_version", _metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.String(40), nullable=False),
)  # fmt: skip
results = sa.Table(
    "vouch_verify_results", _metadata,
    sa.Column("subject", sa.String(300), primary_key=True),
    sa.Column("check_name", sa.String(40), primary_key=True),
    sa.Column("inputs", sa.String(64), primary_key=True),
    sa.Column("vouch_version", sa.String(40), primary_key=True),
    sa.Column("state", sa.String(40), nullable=False),
    sa.Column("result", sa.Text, nullable=False),
    sa.Column("inputs_json", sa.Text, nullable=False),
    sa.Column("checked_at", sa.String(40), nullable=False),
)  # fmt: skip
identities = sa.Table(
    "vouch_verify_identities", _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project", sa.String(200), nullable=False, index=True),
    sa.Column("identity", sa.String(500), nullable=False),
    sa.Column("version", sa.String(100), nullable=False),
    sa.Column("recorded_at", sa.String(40), nullable=False),
)  # fmt: skip


def _migrate_to_1(connection: sa.Connection) -> None:
    for table in (results, identities):
        table.create(connection, checkfirst=True)


MIGRATIONS: tuple[tuple[int, Callable[[sa.Connection], None]], ...] = ((1, _migrate_to_1),)


def default_url() -> str:
    return f"sqlite:///{default_cache_dir() / 'verify.sqlite'}"


def inputs_key(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class Stored:
    state: str
    result: dict[str, Any]


class Store:
    """The results database at ``url`` (``sqlite:///PATH`` or ``postgresql://...``), migrated on open."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()
        self.shown = _shown(self.url)
        self._engine = sa.create_engine(_driver_url(self.url), future=True)
        if self._engine.dialect.name == "sqlite":
            path = self._engine.url.database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._guard(self._migrate, "migrating")
        except BaseException:
            self._engine.dispose()
            raise

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _guard(self, action: Callable[[], _T], doing: str) -> _T:
        try:
            return action()
        except SQLAlchemyError as exc:
            original = getattr(exc, "orig", None)
            first = str(original or exc).strip().splitlines()
            said = first[0] if first else type(exc).__name__
            hint = "check --db URL, and that the database server is running"
            raise CheckError(f"the results database {self.shown} failed while {doing}: {said}",
                             hint=hint) from None

    def _migrate(self) -> None:
        with self._engine.begin() as connection:
            schema_version.create(connection, checkfirst=True)
            current = connection.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0
        if current > SCHEMA_VERSION:
            raise UsageError(f"the results database {self.shown} has schema version {current}, newer "
                             f"than this vouch knows ({SCHEMA_VERSION})",
                             hint="use the newer vouch, or another --db")  # fmt: skip
        for version, step in MIGRATIONS:
            if version > current:
                with self._engine.begin() as connection:
                    step(connection)
                    connection.execute(schema_version.insert().values(version=version, applied_at=_now()))

    @property
    def schema(self) -> int:
        def read() -> int:
            with self._engine.connect() as connection:
                return int(connection.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0)

        return self._guard(read, "reading the schema version")

    def get(self, subject: str, check: str, inputs: dict[str, Any]) -> Stored | None:
        key = (subject, check, inputs_key(inputs), __version__)

        def read() -> Stored | None:
            query = sa.select(results.c.state, results.c.result).where(
                results.c.subject == key[0], results.c.check_name == key[1],
                results.c.inputs == key[2], results.c.vouch_version == key[3])  # fmt: skip
            with self._engine.connect() as connection:
                row = connection.execute(query).first()
            return None if row is None else Stored(row.state, json.loads(row.result))

        return self._guard(read, "reading results")

    def put(
        self, subject: str, check: str, inputs: dict[str, Any], state: str, result: dict[str, Any]
    ) -> None:
        key = {"subject": subject, "check_name": check, "inputs": inputs_key(inputs),
               "vouch_version": __version__}  # fmt: skip
        values = {"state": state, "result": json.dumps(result, sort_keys=True),
                  "inputs_json": json.dumps(inputs, sort_keys=True), "checked_at": _now()}  # fmt: skip

        def write() -> None:
            where = sa.and_(*(results.c[name] == value for name, value in key.items()))
            try:
                with self._engine.begin() as connection:
                    if connection.execute(results.update().where(where).values(**values)).rowcount == 0:
                        connection.execute(results.insert().values(**key, **values))
            except IntegrityError:  # another run inserted the same key meanwhile: same inputs, same answer
                with self._engine.begin() as connection:
                    connection.execute(results.update().where(where).values(**values))

        self._guard(write, "storing a result")

    def recorded_identity(self, project: str) -> str | None:
        def read() -> str | None:
            query = (sa.select(identities.c.identity).where(identities.c.project == project)
                     .order_by(identities.c.id.desc()).limit(1))  # fmt: skip
            with self._engine.connect() as connection:
                value = connection.execute(query).scalar()
            return None if value is None else str(value)

        return self._guard(read, "reading recorded publishers")

    def record_identity(self, project: str, identity: str, version: str) -> None:
        def write() -> None:
            with self._engine.begin() as connection:
                connection.execute(identities.insert().values(
                    project=project, identity=identity, version=version, recorded_at=_now()))  # fmt: skip

        self._guard(write, "recording a publisher")

    def count(self) -> int:
        def read() -> int:
            with self._engine.connect() as connection:
                return int(connection.execute(sa.select(sa.func.count()).select_from(results)).scalar() or 0)

        return self._guard(read, "counting results")


def _driver_url(url: str) -> str:
    """SQLAlchemy's URL with the driver vouch installs (psycopg 3 for PostgreSQL)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise UsageError(f"--db {_shown(url)!r} is not a database URL",
                         hint="sqlite:///PATH or postgresql://USER@HOST:PORT/DB")  # fmt: skip
    if scheme in {"postgresql", "postgres", "postgresql+psycopg"}:
        return f"postgresql+psycopg://{rest}"
    if scheme == "sqlite":
        return url
    raise UsageError(f"--db: {scheme} databases are not supported", hint="sqlite:///PATH or postgresql://...")


def _shown(url: str) -> str:
    """The URL without its password."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except (SQLAlchemyError, ValueError):
        return url.split("://", 1)[0] + "://..."


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
