"""Database handles; every difference between SQLite and PostgreSQL lives here.

SQLite (the embedded default) runs in WAL mode with foreign keys on and a busy
timeout; writers take the lock at ``BEGIN IMMEDIATE`` so a worker can write while
the CLI reads. PostgreSQL uses psycopg 3, ``COPY`` for bulk loads and
``FOR UPDATE SKIP LOCKED`` to claim jobs.
"""

from __future__ import annotations

import abc
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

from galcat.catalog.readonly import (
    DEFAULT_ROLE,
    DEFAULT_TIMEOUT_S,
    QueryTimeout,
    ReadOnlyUnavailable,
    ReadOnlyViolation,
    deadline_handler,
    postgres_read_options,
    role_url,
    sqlite_read_authorizer,
)
from galcat.catalog.settings import Settings
from galcat.catalog.sqlite_math import ensure_math_functions

SQLITE_BUSY_TIMEOUT_MS = 60_000

SERVICE_POOL: dict[str, int] = {"pool_size": 16, "max_overflow": 24}
"""Connections of an engine that answers web requests: one for each of the 40 threads a
service worker runs requests on (anyio's default), 16 kept open between requests. With
fewer, a burst of concurrent requests waited for a connection (wrk's 2-second timeouts
at 16 connections) or opened and closed one per request past the pool."""


class Database(abc.ABC):
    """One catalog database: engines, sessions and the dialect-specific operations."""

    def __init__(self, url: str, readonly_role: str = DEFAULT_ROLE,
                 query_timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.url = url
        self.readonly_role = readonly_role
        """PostgreSQL role that user SQL runs as (:mod:`galcat.catalog.readonly`)."""
        self.query_timeout_s = query_timeout_s
        """Seconds a user's statement may run."""
        self.engine = self._make_engine(readonly=False)
        self._writer = self._make_writer_engine()
        self._sessions = sessionmaker(self._writer, expire_on_commit=False)
        self._readers = sessionmaker(self.engine, expire_on_commit=False)
        self._readonly_engine: Engine | None = None
        self._pooled_readonly_engine: Engine | None = None
        self._identity: str | None = None

    @staticmethod
    def for_url(url: str, readonly_role: str = DEFAULT_ROLE,
                query_timeout_s: float = DEFAULT_TIMEOUT_S) -> Database:
        """The subclass that speaks ``url``'s dialect."""
        backend = make_url(url).get_backend_name()
        if backend == "sqlite":
            return SqliteDatabase(url, readonly_role, query_timeout_s)
        if backend == "postgresql":
            return PostgresDatabase(url, readonly_role, query_timeout_s)
        raise ValueError(f"unsupported database {backend!r}: use sqlite:// or postgresql://")

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def identity(self) -> str:
        """Which catalogue this is, the same however its URL is spelled (a SQLite file's
        real path; a PostgreSQL cluster's system identifier and the database's oid)."""
        if self._identity is None:
            self._identity = self._read_identity()
        return self._identity

    @abc.abstractmethod
    def _read_identity(self) -> str: ...

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

    @property
    def pooled_readonly_engine(self) -> Engine:
        """A read-only engine that keeps its connections open between uses, for a
        long-running reader that answers many small queries (the service), sized by
        ``SERVICE_POOL``."""
        if self._pooled_readonly_engine is None:
            self._pooled_readonly_engine = self._make_engine(readonly=True, pooled=True)
        return self._pooled_readonly_engine

    def dispose(self) -> None:
        """Close pooled connections (call after fork and at exit)."""
        self.engine.dispose()
        if self._writer is not self.engine:
            self._writer.dispose()
        for engine in (self._readonly_engine, self._pooled_readonly_engine):
            if engine is not None:
                engine.dispose()

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
        """Run one statement a user wrote, read-only and within ``query_timeout_s``; return
        column names and rows.

        Raises ``ReadOnlyViolation`` when it tries to do more than read (write, attach,
        change a setting, touch a server file), ``QueryTimeout`` when it runs too long.
        """
        with self._user_sql_connection() as connection:
            try:
                result = self._execute_single(connection, sql)
            except sa.exc.DBAPIError as exc:
                if self._is_readonly_error(exc):
                    raise ReadOnlyViolation(
                        "queries are read-only, and the statement tries to do more than read "
                        f"(write, attach, change a setting or reach a file): "
                        f"{_first_line(exc)}; nothing was changed") from exc
                if self._is_timeout(exc):
                    raise QueryTimeout(
                        f"the statement ran past the {self.query_timeout_s:g}-second limit "
                        "and was stopped") from exc
                raise
            finally:
                connection.rollback()
        return result

    @contextmanager
    def _user_sql_connection(self) -> Iterator[sa.Connection]:
        with self.readonly_engine.connect() as connection:
            yield connection

    def _is_timeout(self, exc: sa.exc.DBAPIError) -> bool:
        return False

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
    def _make_engine(self, readonly: bool, immediate: bool = False,
                     pooled: bool = False) -> Engine: ...

    @abc.abstractmethod
    def _insert(self, table: sa.Table) -> Any: ...


class SqliteDatabase(Database):
    """The embedded default: one SQLite file."""

    def _make_writer_engine(self) -> Engine:
        return self._make_engine(readonly=False, immediate=True)

    def _read_identity(self) -> str:
        path = make_url(self.url).database
        if not path or path == ":memory:":
            return f"sqlite:memory:{id(self)}"
        return f"sqlite:{Path(path).resolve()}"

    def _make_engine(self, readonly: bool, immediate: bool = False,
                     pooled: bool = False) -> Engine:
        url = make_url(self.url)
        path = url.database
        if path and path != ":memory:" and not readonly:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        if readonly:
            url = url.set(database=f"file:{path}?mode=ro", query={"uri": "true"})
        connect_args: dict[str, Any] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        if pooled:
            connect_args["check_same_thread"] = False
        engine = sa.create_engine(
            url, connect_args=connect_args,
            **({"poolclass": sa.QueuePool, **SERVICE_POOL} if pooled
               else {"poolclass": sa.NullPool}))

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
            ensure_math_functions(dbapi_connection)
            if readonly:
                dbapi_connection.set_authorizer(sqlite_read_authorizer)

        @event.listens_for(engine, "begin")
        def _begin(connection: sa.Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    def _insert(self, table: sa.Table) -> Any:
        return sqlite.insert(table)

    def _is_readonly_error(self, exc: sa.exc.DBAPIError) -> bool:
        message = str(exc.orig)
        return any(text in message for text in ("readonly database", "not authorized",
                                                 "authorization denied"))

    def _is_timeout(self, exc: sa.exc.DBAPIError) -> bool:
        return "interrupted" in str(exc.orig)

    @contextmanager
    def _user_sql_connection(self) -> Iterator[sa.Connection]:
        with self.readonly_engine.connect() as connection:
            dbapi: Any = connection.connection.dbapi_connection
            dbapi.set_progress_handler(deadline_handler(self.query_timeout_s), 10_000)
            try:
                yield connection
            finally:
                dbapi.set_progress_handler(None, 0)

    def claim_job(self, session: Session, job_table: sa.Table, job_id: int, worker: str) -> bool:
        result = session.execute(
            sa.update(job_table)
            .where(job_table.c.id == job_id, job_table.c.state == "queued")
            .values(**_claim_values(job_table, worker))
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


class PostgresDatabase(Database):
    """Production: PostgreSQL through psycopg 3."""

    def _make_engine(self, readonly: bool, immediate: bool = False,
                     pooled: bool = False) -> Engine:
        connect_args: dict[str, Any] = {"connect_timeout": 10}
        if readonly:
            connect_args["options"] = "-c default_transaction_read_only=on"
        return sa.create_engine(
            self.url, pool_pre_ping=True, connect_args=connect_args,
            **(SERVICE_POOL if pooled else {"pool_size": 5, "max_overflow": 5}))

    def _insert(self, table: sa.Table) -> Any:
        return postgresql.insert(table)

    def _read_identity(self) -> str:
        database = "SELECT oid FROM pg_database WHERE datname = current_database()"
        with self.engine.connect() as conn:
            try:
                cluster = conn.exec_driver_sql(
                    "SELECT system_identifier FROM pg_control_system()").scalar()
            except sa.exc.DBAPIError:
                conn.rollback()
                cluster = conn.exec_driver_sql(
                    "SELECT coalesce(host(inet_server_addr()), 'local') || ':' || "
                    "current_setting('port')").scalar()
            return f"postgresql:{cluster}:{conn.exec_driver_sql(database).scalar()}"

    def _is_readonly_error(self, exc: sa.exc.DBAPIError) -> bool:
        return getattr(exc.orig, "sqlstate", None) in ("25006", "42501")

    def _is_timeout(self, exc: sa.exc.DBAPIError) -> bool:
        return getattr(exc.orig, "sqlstate", None) == "57014"

    @contextmanager
    def _user_sql_connection(self) -> Iterator[sa.Connection]:
        """A fresh connection as the read-only role (nothing a statement sets outlives it)."""
        engine = sa.create_engine(
            role_url(self.url, self.readonly_role), poolclass=sa.NullPool,
            connect_args={"connect_timeout": 10,
                          "options": postgres_read_options(self.query_timeout_s)})
        try:
            try:
                connection = engine.connect()
            except sa.exc.OperationalError as exc:
                raise ReadOnlyUnavailable(
                    f"SQL from users runs as the read-only role {self.readonly_role!r}, which "
                    f"cannot connect ({_first_line(exc)}); run `galcat init` to create it, "
                    "or name another with GALCAT_READONLY_ROLE") from exc
            with connection:
                yield connection
        finally:
            engine.dispose()

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
        db = _databases[settings.database_url] = Database.for_url(
            settings.database_url, settings.readonly_role, settings.query_timeout_s)
    return db


def forget_databases() -> None:
    """Dispose every cached handle (after ``fork``, or between tests)."""
    for db in _databases.values():
        db.dispose()
    _databases.clear()


def _first_line(exc: sa.exc.DBAPIError) -> str:
    return str(exc.orig if exc.orig is not None else exc).strip().splitlines()[0]
