"""Database handles; every difference between SQLite and PostgreSQL lives here.

SQLite (the embedded default) runs in WAL mode with foreign keys on and a busy
timeout; writers take the lock at ``BEGIN IMMEDIATE`` so a worker can write while
the CLI reads. PostgreSQL uses psycopg 3, ``COPY`` for bulk loads and
``FOR UPDATE SKIP LOCKED`` to claim jobs.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from galcat.catalog.settings import Settings

SQLITE_BUSY_TIMEOUT_MS = 60_000


class ReadOnlyViolation(Exception):
    """A statement tried to write through a read-only connection."""


class Database(abc.ABC):
    """One catalog database: engines, sessions and the dialect-specific operations."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = self._make_engine(readonly=False)
        self._writer = self._make_writer_engine()
        self._sessions = sessionmaker(self._writer, expire_on_commit=False)
        self._readers = sessionmaker(self.engine, expire_on_commit=False)
        self._readonly_engine: Engine | None = None

    @staticmethod
    def for_url(url: str) -> Database:
        """The subclass that speaks ``url``'s dialect."""
        backend = make_url(url).get_backend_name()
        if backend == "sqlite":
            return SqliteDatabase(url)
        if backend == "postgresql":
            return PostgresDatabase(url)
        raise ValueError(f"unsupported database {backend!r}: use sqlite:// or postgresql://")

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A writing session; commits on success, rolls back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def new_session(self) -> Session:
        """A session for reading (it may write, but takes no write lock up front)."""
        return self._readers()

    def _make_writer_engine(self) -> Engine:
        return self.engine

    @property
    def readonly_engine(self) -> Engine:
        """An engine whose connections cannot write."""
        if self._readonly_engine is None:
            self._readonly_engine = self._make_engine(readonly=True)
        return self._readonly_engine

    def dispose(self) -> None:
        """Close pooled connections (call after fork and at exit)."""
        self.engine.dispose()
        if self._writer is not self.engine:
            self._writer.dispose()
        if self._readonly_engine is not None:
            self._readonly_engine.dispose()

    def upsert(
        self,
        session: Session,
        table: sa.Table,
        rows: Sequence[dict[str, Any]],
        key: Sequence[str],
        update: Sequence[str] | None = None,
    ) -> None:
        """Insert ``rows``; on a ``key`` conflict overwrite the ``update`` columns
        (all non-key columns by default; none if ``update`` is empty)."""
        if not rows:
            return
        insert = self._insert(table)
        columns = update if update is not None else [c for c in rows[0] if c not in key]
        if columns:
            stmt = insert.on_conflict_do_update(
                index_elements=list(key),
                set_={c: insert.excluded[c] for c in columns},
            )
        else:
            stmt = insert.on_conflict_do_nothing(index_elements=list(key))
        session.execute(stmt, list(rows))

    def bulk_upsert(
        self,
        session: Session,
        table: sa.Table,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        key: Sequence[str],
        method: str = "auto",
    ) -> None:
        """Load many tuples fast (COPY on PostgreSQL, batched INSERTs elsewhere)."""
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(dict(zip(columns, row, strict=True)))
            if len(batch) >= 5000:
                self.upsert(session, table, batch, key)
                batch = []
        self.upsert(session, table, batch, key)

    def readonly_query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one SQL statement on a read-only connection; return column names and rows.

        Raises ``ReadOnlyViolation`` when the statement tries to write.
        """
        with self.readonly_engine.connect() as connection:
            try:
                result = self._execute_single(connection, sql)
            except sa.exc.DBAPIError as exc:
                if self._is_readonly_error(exc):
                    raise ReadOnlyViolation(
                        "the statement tries to write, and queries are read-only; "
                        "nothing was changed"
                    ) from exc
                raise
            finally:
                connection.rollback()
        return result

    def _execute_single(self, connection: sa.Connection, sql: str) -> tuple[list[str], list[Any]]:
        result = connection.exec_driver_sql(sql)
        if not result.returns_rows:
            return [], []
        return list(result.keys()), [tuple(r) for r in result]

    @abc.abstractmethod
    def _is_readonly_error(self, exc: sa.exc.DBAPIError) -> bool: ...

    @abc.abstractmethod
    def claim_job(self, session: Session, job_table: sa.Table, job_id: int, worker: str) -> bool:
        """Atomically move job ``job_id`` from queued to running for ``worker``."""

    @abc.abstractmethod
    def _make_engine(self, readonly: bool, immediate: bool = False) -> Engine: ...

    @abc.abstractmethod
    def _insert(self, table: sa.Table) -> Any: ...


class SqliteDatabase(Database):
    """The embedded default: one SQLite file."""

    def _make_writer_engine(self) -> Engine:
        return self._make_engine(readonly=False, immediate=True)

    def _make_engine(self, readonly: bool, immediate: bool = False) -> Engine:
        url = make_url(self.url)
        path = url.database
        if path and path != ":memory:" and not readonly:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        if readonly:
            url = url.set(database=f"file:{path}?mode=ro", query={"uri": "true"})
        engine = sa.create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, poolclass=sa.NullPool
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            if not readonly:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            if readonly:
                cursor.execute("PRAGMA query_only=ON")
            cursor.close()
            _ensure_math_functions(dbapi_connection)

        @event.listens_for(engine, "begin")
        def _begin(connection: sa.Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    def _insert(self, table: sa.Table) -> Any:
        return sqlite.insert(table)

    def _is_readonly_error(self, exc: sa.exc.DBAPIError) -> bool:
        return "readonly database" in str(exc.orig)

    def claim_job(self, session: Session, job_table: sa.Table, job_id: int, worker: str) -> bool:
        result = session.execute(
            sa.update(job_table)
            .where(job_table.c.id == job_id, job_table.c.state == "queued")
            .values(**_claim_values(job_table, worker))
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


class PostgresDatabase(Database):
    """Production: PostgreSQL through psycopg 3."""

    def _make_engine(self, readonly: bool, immediate: bool = False) -> Engine:
        connect_args: dict[str, Any] = {"connect_timeout": 10}
        if readonly:
            connect_args["options"] = "-c default_transaction_read_only=on"
        return sa.create_engine(
            self.url, pool_pre_ping=True, pool_size=5, max_overflow=5, connect_args=connect_args
        )

    def _insert(self, table: sa.Table) -> Any:
        return postgresql.insert(table)

    def _is_readonly_error(self, exc: sa.exc.DBAPIError) -> bool:
        return getattr(exc.orig, "sqlstate", None) == "25006"

    def _execute_single(self, connection: sa.Connection, sql: str) -> tuple[list[str], list[Any]]:
        dbapi: Any = connection.connection.dbapi_connection
        with dbapi.cursor() as cursor:
            try:
                cursor.execute(sql, prepare=True)
            except Exception as exc:
                raise sa.exc.DBAPIError(sql, None, exc) from exc
            if cursor.description is None:
                return [], []
            return [d.name for d in cursor.description], [tuple(r) for r in cursor.fetchall()]

    def bulk_upsert(
        self,
        session: Session,
        table: sa.Table,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        key: Sequence[str],
        method: str = "auto",
    ) -> None:
        if method == "insert":
            super().bulk_upsert(session, table, columns, rows, key)
            return
        cols = ", ".join(columns)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in key)
        conflict = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
        dbapi: Any = session.connection().connection.dbapi_connection
        with dbapi.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE _galcat_load ON COMMIT DROP AS "
                f"SELECT {cols} FROM {table.name} WITH NO DATA"
            )
            with cursor.copy(f"COPY _galcat_load ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM _galcat_load "
                f"ON CONFLICT ({', '.join(key)}) {conflict}"
            )
            cursor.execute("DROP TABLE _galcat_load")

    def claim_job(self, session: Session, job_table: sa.Table, job_id: int, worker: str) -> bool:
        locked = session.execute(
            sa.select(job_table.c.id)
            .where(job_table.c.id == job_id, job_table.c.state == "queued")
            .with_for_update(skip_locked=True)
        ).scalar_one_or_none()
        if locked is None:
            return False
        session.execute(
            sa.update(job_table)
            .where(job_table.c.id == job_id)
            .values(**_claim_values(job_table, worker))
        )
        return True


SQL_MATH_FUNCTIONS: dict[str, tuple[int, Any]] = {
    "sin": (1, math.sin), "cos": (1, math.cos), "tan": (1, math.tan), "asin": (1, math.asin),
    "acos": (1, math.acos), "atan": (1, math.atan), "atan2": (2, math.atan2),
    "radians": (1, math.radians), "degrees": (1, math.degrees), "sqrt": (1, math.sqrt),
    "power": (2, math.pow), "pow": (2, math.pow), "exp": (1, math.exp), "ln": (1, math.log),
    "log10": (1, math.log10), "floor": (1, math.floor), "ceil": (1, math.ceil),
    "pi": (0, lambda: math.pi),
}


def _ensure_math_functions(dbapi_connection: Any) -> None:
    """SQL math functions on every SQLite connection, as PostgreSQL has them.

    Python's SQLite usually has them built in, but a library loaded earlier in the
    process (TensorFlow ships its own libsqlite3) can leave them out.
    """
    try:
        dbapi_connection.execute("SELECT degrees(1), atan2(1, 1), power(2, 2)").fetchall()
        return
    except Exception:
        pass
    for name, (n_args, function) in SQL_MATH_FUNCTIONS.items():
        dbapi_connection.create_function(name, n_args, _null_safe(function), deterministic=True)


def _null_safe(function: Any) -> Any:
    def call(*args: Any) -> Any:
        if any(a is None for a in args):
            return None
        try:
            return function(*args)
        except (ValueError, OverflowError):
            return None

    return call


def _claim_values(job_table: sa.Table, worker: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "state": "running",
        "worker": worker,
        "attempts": job_table.c.attempts + 1,
        "started_at": now,
        "heartbeat_at": now,
    }


_databases: dict[str, Database] = {}


def get_database(settings: Settings) -> Database:
    """The process-wide ``Database`` for ``settings.database_url``."""
    db = _databases.get(settings.database_url)
    if db is None:
        db = _databases[settings.database_url] = Database.for_url(settings.database_url)
    return db


def forget_databases() -> None:
    """Dispose every cached handle (after ``fork``, or between tests)."""
    for db in _databases.values():
        db.dispose()
    _databases.clear()
