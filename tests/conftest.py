"""Shared fixtures: the same tests run on SQLite and on PostgreSQL.

PostgreSQL comes from ``GALCAT_TEST_POSTGRES_URL`` (default the local ``test``
database). Each test session creates a database of its own there and drops it at
the end. Outside CI an unreachable server skips its tests with the reason; with
``CI`` set it fails them.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from service_fixtures import service  # noqa: F401 (the running-service fixture)

from galcat.catalog import migrate
from galcat.catalog.db import Database, forget_databases
from galcat.catalog.schema import metadata

pytest_plugins = ("worker_fixtures",)
"""Worker processes and toy jobs for the job tests (tests/worker_fixtures.py)."""

POSTGRES_ADMIN_URL = os.environ.get(
    "GALCAT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("GALCAT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = bool(os.environ.get("CI"))
REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GALCAT_DATA_DIR") or REPO_ROOT.parent / "shared" / "data")
os.environ.setdefault("GALCAT_DATA_DIR", str(SHARED_DATA))


def cli_commands(group: Any = None, prefix: tuple[str, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every ``galcat`` command as (path of words, click command)."""
    from typer.main import get_command

    from galcat.cli import app

    group = group or get_command(app)
    for name, command in group.commands.items():
        path = (*prefix, name)
        if hasattr(command, "commands"):
            yield from cli_commands(command, path)
        else:
            yield path, command


def unavailable(reason: str) -> None:
    """Skip outside CI; fail in CI, where every service must be up."""
    if IN_CI:
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def shared_data(*parts: str) -> Path:
    """A path under shared/data; skips (fails in CI) when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        unavailable(f"real data not found at {path}")
    return path


@pytest.fixture
def shared_galaxies() -> Path:
    """The real galaxy images under shared/data/galaxies."""
    return shared_data("galaxies")


def _admin_engine() -> sa.Engine:
    return sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT",
                            connect_args={"connect_timeout": 5})


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test session."""
    name = f"galcat_test_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        unavailable(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc.orig}")
    url = sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name)
    yield url.render_as_string(hide_password=False)
    forget_databases()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_migrated(postgres_url: str) -> str:
    db = Database.for_url(postgres_url)
    migrate.upgrade(db)
    db.dispose()
    return postgres_url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "galcat.sqlite"
    db = Database.for_url(f"sqlite:///{path}")
    migrate.upgrade(db)
    db.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty catalog database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "galcat.sqlite"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_migrated")
        _truncate_all(url)
        yield url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.for_url(database_url)
    yield database
    database.dispose()


@pytest.fixture
def galcat_env(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """Environment pointing galcat's settings at the test database."""
    home = tmp_path / "home"
    env = {"GALCAT_HOME": str(home), "GALCAT_DATABASE_URL": database_url,
           "GALCAT_BROKER_URL": f"sqla+sqlite:///{home / 'broker.sqlite'}"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield env
    forget_databases()


def _truncate_all(url: str) -> None:
    engine = sa.create_engine(url)
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    engine.dispose()
