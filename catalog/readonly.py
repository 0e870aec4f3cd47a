"""What read-only means for SQL a user sends (``galcat query sql``, ``Catalog.sql``, a job's
``--where``), on each backend.

SQLite: the connection is opened ``mode=ro`` with ``query_only``, and an authorizer lets
through only what reads: SELECT, reading columns, recursive CTEs, transaction control,
functions other than those that touch files or load code, and the PRAGMAs that only
describe the schema. ATTACH and DETACH, every write and schema change, and every other
PRAGMA (``writable_schema``, ``query_only=off`` …) are refused before they run. A
progress handler stops a statement that runs past the time limit.

PostgreSQL: user SQL runs as the read-only role (a LOGIN role that may SELECT and
nothing else, created by ``galcat init``), never as the catalogue's owner, on a fresh
connection, in a read-only transaction with a ``statement_timeout``. Server files
(``COPY … TO``, ``pg_read_file``, ``lo_export``), writes and settings are therefore the
server's privileges to refuse, not a parser's guess.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable

from sqlalchemy.engine import make_url

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
DEFAULT_ROLE = "galcat_reader"
DEFAULT_TIMEOUT_S = 60.0


class ReadOnlyViolation(Exception):
    """A statement tried to write, or to step outside reading, on a read-only connection."""


class QueryTimeout(Exception):
    """A user's statement ran past the time limit and was stopped."""


class ReadOnlyUnavailable(Exception):
    """User SQL cannot run because the read-only role cannot connect."""

_ALLOWED_ACTIONS = frozenset({
    sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
    sqlite3.SQLITE_TRANSACTION, sqlite3.SQLITE_SAVEPOINT,
    getattr(sqlite3, "SQLITE_RECURSIVE", 33),
})
_SCHEMA_PRAGMAS = frozenset({
    "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "collation_list", "function_list", "pragma_list", "module_list",
    "compile_options",
})
_REFUSED_FUNCTIONS = frozenset({"load_extension", "fts3_tokenizer", "readfile", "writefile",
                                "edit"})


class AccessError(Exception):
    """A role name that is not a plain identifier, or a role that cannot be set up."""


def sqlite_read_authorizer(action: int, arg1: str | None, arg2: str | None,
                           _database: str | None, _trigger: str | None) -> int:
    """``sqlite3.Connection.set_authorizer`` callback that allows reads only."""
    if action == sqlite3.SQLITE_PRAGMA:
        return sqlite3.SQLITE_OK if (arg1 or "").lower() in _SCHEMA_PRAGMAS \
            else sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _REFUSED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK if action in _ALLOWED_ACTIONS else sqlite3.SQLITE_DENY


def deadline_handler(seconds: float) -> Callable[[], int]:
    """A progress handler that interrupts the statement once ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    return lambda: int(time.monotonic() > deadline)


def check_role(role: str) -> None:
    """Refuse a role name that is not a plain lower-case identifier."""
    if not ROLE_NAME.match(role):
        raise AccessError(f"role name {role!r} must be lower-case letters, digits and '_', "
                          "starting with a letter or '_' (at most 63 characters)")


def role_url(url: str, role: str) -> str:
    """``url`` with the user replaced by ``role`` and no password."""
    check_role(role)
    return make_url(url).set(username=role, password=None).render_as_string(hide_password=False)


def postgres_read_options(timeout_s: float) -> str:
    """libpq ``options`` for a read-only session whose statements stop after ``timeout_s``."""
    return (f"-c default_transaction_read_only=on "
            f"-c statement_timeout={max(1, round(timeout_s * 1000))}")
