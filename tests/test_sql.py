"""``galcat query sql`` is read-only: reads work, writes are refused and change nothing."""

from __future__ import annotations

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
