"""Read-only access for public queries and the cone-search service.

On PostgreSQL ``ensure_readonly_role`` creates a LOGIN role (``Settings.readonly_role``,
default ``galcat_reader``) that may connect, use schema ``public`` and SELECT every
table, present and future; it owns nothing and can write nothing. ``galcat init``
calls it. SQLite has no roles: there it does nothing, and read-only access is the
database's ``mode=ro`` engine.

The service connects as that role with a URL derived from the main one (same host,
port and database; the user replaced, no password: the server's trust or peer
authentication must admit it). If the role cannot connect, it falls back to the
database's read-only engine and says why.
"""

from __future__ import annotations

import sys

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from galcat.catalog.db import SERVICE_POOL, Database
from galcat.catalog.readonly import AccessError, check_role, postgres_read_options
from galcat.catalog.readonly import role_url as _role_url

__all__ = ["AccessError", "ensure_readonly_role", "role_url", "service_engine"]


def ensure_readonly_role(db: Database, role: str = "galcat_reader") -> str | None:
    """Create (if needed) and grant the read-only role on ``db``; return its name.

    Idempotent and safe to run from concurrent ``galcat init``s. Returns None on SQLite.
    """
    if db.dialect != "postgresql":
        return None
    check_role(role)
    with db.engine.begin() as conn:
        quoted = conn.dialect.identifier_preparer.quote(role)
        database = conn.dialect.identifier_preparer.quote(
            str(conn.exec_driver_sql("SELECT current_database()").scalar()))
        conn.exec_driver_sql(
            "DO $$ BEGIN "
            f"IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
            f"CREATE ROLE {quoted} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT; "
            f"ALTER ROLE {quoted} SET default_transaction_read_only = on; "
            "END IF; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$")
        for statement in (
            f"GRANT CONNECT ON DATABASE {database} TO {quoted}",
            f"GRANT USAGE ON SCHEMA public TO {quoted}",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {quoted}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {quoted}",
        ):
            conn.exec_driver_sql(statement)
    return role


def role_url(db: Database, role: str) -> str:
    """The main database URL with the user replaced by ``role`` and no password."""
    return _role_url(db.url, role)


def service_engine(db: Database, role: str = "galcat_reader") -> Engine:
    """An engine for public reads: the read-only role on PostgreSQL, falling back to
    the database's read-only engine; on SQLite the pooled read-only engine."""
    if db.dialect != "postgresql":
        return db.pooled_readonly_engine
    engine = sa.create_engine(
        role_url(db, role), pool_pre_ping=True, **SERVICE_POOL,
        connect_args={"connect_timeout": 10,
                      "options": postgres_read_options(db.query_timeout_s)})
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1 FROM release LIMIT 1")
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        print(f"galcat: cannot connect as read-only role {role!r} ({reason}); using the "
              "read-only engine of the main connection instead (run `galcat init` to create "
              "the role)", file=sys.stderr)
        return db.pooled_readonly_engine
    return engine

