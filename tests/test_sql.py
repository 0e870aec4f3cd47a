"""``galcat query sql`` is read-only: reads work, writes are refused and change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from galcat.catalog.db import Database
from galcat.catalog.schema import Survey
from galcat.catalog.sql import QueryError, run_sql


@pytest.fixture
def surveys(db: Database) -> Database:
    with db.session() as session:
        session.add_all([Survey(name="boss", kind="spectroscopy"),
                         Survey(name="candels", kind="imaging", pixel_scale_arcsec=0.06)])
    return db


def test_select_returns_typed_rows(surveys: Database) -> None:
    result = run_sql(surveys, "SELECT name, pixel_scale_arcsec FROM survey ORDER BY name")
    assert result.names == ["name", "pixel_scale_arcsec"]
    assert result.rows == [("boss", None), ("candels", 0.06)]
    table = result.to_table()
    assert table["pixel_scale_arcsec"].mask.tolist() == [True, False]


@pytest.mark.parametrize("statement", [
    "DELETE FROM survey",
    "UPDATE survey SET name = 'x'",
    "INSERT INTO survey (name, kind, created_at) VALUES ('x', 'catalog', '2026-01-01')",
    "DROP TABLE survey",
    "CREATE TABLE sneaky (a integer)",
    "SELECT 1; DELETE FROM survey",
])
def test_writes_are_refused_and_change_nothing(surveys: Database, statement: str) -> None:
    with pytest.raises(QueryError) as refused:
        run_sql(surveys, statement)
    assert "refused" in str(refused.value)
    with surveys.new_session() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Survey)).scalar_one() == 2
    assert "sneaky" not in sa.inspect(surveys.engine).get_table_names()


def test_syntax_error_is_reported(surveys: Database) -> None:
    with pytest.raises(QueryError, match="refused the query"):
        run_sql(surveys, "SELEC name FROM survey")


def test_sqlite_has_math_functions_even_after_tensorflow_loads(tmp_path) -> None:
    import tensorflow  # noqa: F401  (it brings a libsqlite3 without math functions)

    db = Database.for_url(f"sqlite:///{tmp_path / 'm.sqlite'}")
    with db.engine.connect() as conn:
        row = conn.exec_driver_sql("SELECT degrees(pi()), atan2(1, 1), power(2, 10)").one()
    assert row == pytest.approx((180.0, 0.7853981633974483, 1024.0))
    db.dispose()


ESCAPES = [
    "ATTACH DATABASE '{path}' AS x",
    "VACUUM INTO '{path}'",
    "PRAGMA writable_schema=1",
    "PRAGMA query_only=0",
    "SELECT load_extension('{path}')",
    "WITH gone AS (DELETE FROM survey RETURNING *) SELECT * FROM gone",
    "COPY survey TO '{path}'",
    "SELECT pg_read_file('/etc/hostname')",
    "SELECT lo_export(lo_creat(-1), '{path}')",
    "SELECT 1; ATTACH DATABASE '{path}' AS x",
]


@pytest.mark.parametrize("escape", ESCAPES)
def test_known_escapes_are_refused_on_both_backends(surveys: Database, escape: str,
                                                    tmp_path: Path) -> None:
    target = tmp_path / "escaped"
    with pytest.raises(QueryError):
        run_sql(surveys, escape.format(path=target))
    assert not target.exists(), "a read-only query created a file"
    with surveys.new_session() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Survey)).scalar_one() == 2


def test_a_setting_changed_by_one_query_does_not_reach_the_next(surveys: Database) -> None:
    if surveys.dialect == "postgresql":
        run_sql(surveys, "SELECT set_config('default_transaction_read_only', 'off', false)")
    else:
        with pytest.raises(QueryError, match="refused"):
            run_sql(surveys, "PRAGMA query_only=0")
    with pytest.raises(QueryError, match="refused"):
        run_sql(surveys, "DELETE FROM survey")


def test_schema_pragmas_still_describe_tables_on_sqlite(sqlite_template: Path) -> None:
    db = Database.for_url(f"sqlite:///{sqlite_template}")
    try:
        names = [row[1] for row in run_sql(db, "PRAGMA table_info(survey)").rows]
    finally:
        db.dispose()
    assert "pixel_scale_arcsec" in names


def test_a_query_past_the_time_limit_is_stopped(database_url: str) -> None:
    db = Database.for_url(database_url, query_timeout_s=1.0)
    endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) " \
              "SELECT count(*) FROM c"
    try:
        with pytest.raises(QueryError, match="1-second limit"):
            run_sql(db, endless)
        assert run_sql(db, "SELECT 1").rows == [(1,)]
    finally:
        db.dispose()


def test_postgresql_user_sql_never_runs_as_the_owner(postgres_migrated: str) -> None:
    database_url = postgres_migrated
    db = Database.for_url(database_url)
    try:
        assert run_sql(db, "SELECT current_user").rows == [("galcat_reader",)]
    finally:
        db.dispose()
    missing = Database.for_url(database_url, readonly_role="galcat_nobody")
    try:
        with pytest.raises(QueryError, match="galcat init"):
            run_sql(missing, "SELECT 1")
    finally:
        missing.dispose()
