"""Shared bench helpers: timing, temporary databases, command-line sizes, result tables.

Nothing here asserts on a timing: benches report figures and ratios against a
baseline measured in the same run, because the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa

from galcat.catalog import migrate
from galcat.catalog.db import Database
from galcat.catalog.settings import Settings, load_settings

T = TypeVar("T")

POSTGRES_ADMIN_URL = os.environ.get(
    "GALCAT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DEFAULT_ROWS = 1_000_000
QUICK_ROWS = 100_000


class BackendUnavailable(Exception):
    """A database server the bench wanted cannot be reached."""


# --- timing -----------------------------------------------------------------------


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """Seconds one call of ``fn`` took, and what it returned."""
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def p50(samples: list[float]) -> float:
    """The median of ``samples``."""
    if not samples:
        raise ValueError("p50 of no samples")
    return float(statistics.median(samples))


def repeat_p50(fn: Callable[[], object], runs: int, warmup: int = 1) -> float:
    """Median seconds of ``runs`` calls of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    return p50([timed(fn)[0] for _ in range(runs)])


# --- temporary databases ----------------------------------------------------------


def _admin_engine(admin_url: str) -> sa.Engine:
    return sa.create_engine(admin_url, isolation_level="AUTOCOMMIT",
                            connect_args={"connect_timeout": 5})


@contextmanager
def temporary_postgres(admin_url: str = POSTGRES_ADMIN_URL) -> Iterator[Database]:
    """A fresh PostgreSQL database on ``admin_url``'s server, migrated to head and
    dropped afterwards (as tests/conftest.py does). Raises ``BackendUnavailable``."""
    name = f"galcat_bench_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine(admin_url)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        raise BackendUnavailable(f"PostgreSQL not reachable at {admin_url}: {exc.orig}") from exc
    url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    db = Database.for_url(url)
    try:
        migrate.upgrade(db)
        yield db
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def temporary_sqlite(directory: str | Path | None = None) -> Iterator[Database]:
    """A fresh SQLite file, migrated to head and deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="galcat-bench-", dir=directory) as tmp:
        db = Database.for_url(f"sqlite:///{Path(tmp) / 'galcat.sqlite'}")
        try:
            migrate.upgrade(db)
            yield db
        finally:
            db.dispose()


def recreate_sqlite(db: Database) -> None:
    """Replace ``db``'s SQLite file with a fresh, migrated one (same URL)."""
    if db.dialect != "sqlite":
        raise ValueError("recreate_sqlite needs a SQLite database")
    db.dispose()
    path = Path(str(sa.engine.make_url(db.url).database))
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    migrate.upgrade(db)


def analyze(db: Database) -> None:
    """Refresh planner statistics (ANALYZE on both backends)."""
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


def server_version(db: Database) -> str:
    with db.engine.connect() as conn:
        if db.dialect == "sqlite":
            return "SQLite " + str(conn.exec_driver_sql("select sqlite_version()").scalar())
        version = str(conn.exec_driver_sql("show server_version").scalar())
        return "PostgreSQL " + version.split()[0]


# --- command line -----------------------------------------------------------------


def add_size_options(parser: argparse.ArgumentParser, default: int = DEFAULT_ROWS) -> None:
    """``--rows N`` and ``--quick`` (mutually exclusive)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--rows", type=_positive_int, default=default, metavar="N",
                       help=f"rows to generate and load (default {default:_})")
    group.add_argument("--quick", action="store_true",
                       help=f"a quick run with {QUICK_ROWS:_} rows")


def rows_from(args: argparse.Namespace) -> int:
    return QUICK_ROWS if args.quick else int(args.rows)


def _positive_int(text: str) -> int:
    value = int(text.replace("_", ""))
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


# --- reporting --------------------------------------------------------------------


def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f} rows/s"


def latency(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.3g} ms" if ms < 1000 else f"{ms:,.0f} ms"


@dataclass
class Report:
    """Figures of one bench run, printed as a markdown table.

    ``speedup`` is how many times better the figure is than its baseline
    (rates: value / baseline; latencies: baseline / value).
    """

    title: str
    notes: list[str] = field(default_factory=list)
    rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)

    def add(self, measure: str, backend: str, value: str, baseline: str = "",
            speedup: float | None = None) -> None:
        ratio = "" if speedup is None else f"{speedup:.2f}×"
        self.rows.append((measure, backend, value, baseline, ratio))

    def markdown(self) -> str:
        header = ("Measure", "Backend", "Value", "Baseline (same run)", "× baseline")
        lines = [f"### {self.title}", ""]
        lines += [f"- {note}" for note in self.notes]
        lines += ["", "| " + " | ".join(header) + " |",
                  "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)


def machine_note() -> str:
    return (f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"SQLAlchemy {sa.__version__}")


def load_average() -> str:
    """The 1/5/15-minute load averages (this machine is shared: read figures with them)."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min)"


def add_backend_options(parser: argparse.ArgumentParser) -> None:
    """``--seed``, ``--postgres-url`` and ``--no-postgres``, shared by the benches."""
    parser.add_argument("--seed", type=int, default=20240601, help="random seed")
    parser.add_argument("--postgres-url", default=POSTGRES_ADMIN_URL, metavar="URL",
                        help="server for the temporary PostgreSQL database "
                             "(default %(default)s)")
    parser.add_argument("--no-postgres", action="store_true", help="bench SQLite only")


def positive_int(text: str) -> int:
    """argparse type: a positive integer (``1_000`` allowed)."""
    value = int(text.replace("_", ""))
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def count_rows(db: Database, table: sa.Table | str) -> int:
    """Rows in ``table`` (a Table or a table name)."""
    target = sa.table(table) if isinstance(table, str) else table
    with db.new_session() as session:
        return int(session.execute(sa.select(sa.func.count()).select_from(target)).scalar_one())


@contextmanager
def galcat_home(db: Database, folder: Path) -> Iterator[Settings]:
    """Settings for a GALCAT_HOME in ``folder`` using ``db`` (migrated), with the shipped
    models registered; forgets the cached database handles afterwards."""
    from galcat.catalog.db import forget_databases, get_database
    from galcat.workers.registry import register_shipped

    folder.mkdir(parents=True, exist_ok=True)
    settings = load_settings({"GALCAT_HOME": str(folder), "GALCAT_DATABASE_URL": db.url,
                              "GALCAT_BROKER_URL": f"sqla+sqlite:///{folder / 'broker.sqlite'}"})
    try:
        with get_database(settings).session() as session:
            register_shipped(session, settings.artifacts_dir)
        yield settings
    finally:
        forget_databases()

