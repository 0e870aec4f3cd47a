"""``galcat ingest catalog``: real catalogues, every format, bad input located and contained."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from astropy.table import Table
from conftest import shared_data

from galcat.catalog.db import Database
from galcat.catalog.ingest.tables import ingest_catalog
from galcat.catalog.schema import Galaxy, Sightline, Survey


def _count(db: Database, model: type) -> int:
    with db.new_session() as session:
        return int(session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one())


def _galaxies(n: int, seed: int = 1) -> Table:
    rng = np.random.default_rng(seed)
    return Table({
        "ID": [f"g{i}" for i in range(n)],
        "RA": rng.uniform(0, 360, n),
        "Dec": rng.uniform(-90, 90, n),
        "z_spec": rng.uniform(0, 3, n),
        "LogMstar": rng.uniform(8, 12, n),
    })


def test_real_dla_catalogues_load(db: Database) -> None:
    folder = shared_data("catalogs")
    files = [folder / "noterdaeme_dr7.fits", folder / "pw09_dr5_alldla.fits.gz",
             folder / "picca_cat_for_clustering_plate3655.fits.gz",
             folder / "cnn_parks18_model_v7.1.1_dr5.publish.csv"]
    summary = ingest_catalog(db, files, "sightline")
    assert summary.ok, summary.files
    by_file = {Path(f.path).name: f for f in summary.files}
    assert by_file["noterdaeme_dr7.fits"].rows_loaded == 1271
    assert by_file["noterdaeme_dr7.fits"].rows_merged == 1426 - 1271
    assert by_file["picca_cat_for_clustering_plate3655.fits.gz"].rows_loaded == 79
    with db.new_session() as session:
        row = session.execute(
            sa.select(Sightline).join(Survey).where(
                Survey.name == "noterdaeme_dr7", Sightline.external_id == "752-52251-220")
        ).scalar_one()
    assert (row.plate, row.mjd, row.fiber) == (752, 52251, 220)
    assert row.ra_deg == pytest.approx(3.16904) and row.dec_deg == pytest.approx(13.876875)
    pw09 = ingest_catalog(db, [folder / "pw09_dr5_alldla.fits.gz"], "sightline", survey="pw09")
    with db.new_session() as session:
        first = session.execute(
            sa.select(Sightline).join(Survey).where(
                Survey.name == "pw09", Sightline.external_id == "654-52146-545")
        ).scalar_one()
    assert pw09.ok
    assert first.ra_deg == pytest.approx((35 * 60 + 1.88) / 3600 * 15, abs=1e-6)
    assert first.dec_deg == pytest.approx(-(9 + 18 / 60 + 17.6 / 3600), abs=1e-6)


@pytest.mark.parametrize("suffix", [".fits", ".vot", ".ecsv", ".csv", ".parquet"])
def test_every_format_loads_and_reloading_changes_nothing(
    db: Database, tmp_path: Path, suffix: str
) -> None:
    table = _galaxies(500)
    path = tmp_path / f"gal{suffix}"
    table.write(path, format={".vot": "votable", ".csv": "ascii.csv"}.get(suffix))
    first = ingest_catalog(db, [path], "galaxy", survey="mock")
    again = ingest_catalog(db, [path], "galaxy", survey="mock")
    assert first.ok and again.ok
    assert _count(db, Galaxy) == 500
    with db.new_session() as session:
        g = session.execute(sa.select(Galaxy).where(Galaxy.external_id == "g7")).scalar_one()
    assert g.z_spec == pytest.approx(table["z_spec"][7])
    assert g.log_mstar == pytest.approx(table["LogMstar"][7])
    assert g.ra_deg == pytest.approx(table["RA"][7])


def test_bad_files_are_refused_whole_and_named(db: Database, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    _galaxies(50).write(good, format="ascii.csv")
    nan = _galaxies(50, 2)
    nan["RA"][17] = np.nan
    (tmp_path / "nan.csv").write_text("")
    nan.write(tmp_path / "nan.csv", format="ascii.csv", overwrite=True)
    pole = _galaxies(50, 3)
    pole["Dec"][4] = 91.5
    pole.write(tmp_path / "pole.fits")
    twice = _galaxies(50, 4)
    twice["ID"][9] = twice["ID"][3]
    twice.write(tmp_path / "twice.ecsv")
    (tmp_path / "broken.fits").write_bytes(b"SIMPLE  =                    T" + b"\0" * 100)
    paths = [tmp_path / n for n in ("nan.csv", "good.csv", "pole.fits", "twice.ecsv",
                                    "broken.fits", "missing.csv")]
    summary = ingest_catalog(db, paths, "galaxy", survey="mock")
    outcome = {Path(f.path).name: f for f in summary.files}
    assert outcome["good.csv"].ok and outcome["good.csv"].rows_loaded == 50
    assert not summary.ok and len(summary.failed) == 5
    assert "row 18, column 'RA'" in outcome["nan.csv"].errors[0]
    assert "row 5, column 'Dec'" in outcome["pole.fits"].errors[0]
    assert "91.5" in outcome["pole.fits"].errors[0]
    assert "row 10" in outcome["twice.ecsv"].errors[0]
    assert "row 4" in outcome["twice.ecsv"].errors[0]
    assert "broken.fits" in outcome["broken.fits"].errors[0]
    assert "no such file" in outcome["missing.csv"].errors[0]
    assert _count(db, Galaxy) == 50
    assert "1 of 6 files loaded (50 new rows" in summary.describe()
    assert "; 5 refused and rolled back" in summary.describe()


def test_overlong_id_refuses_the_whole_file(db: Database, tmp_path: Path) -> None:
    table = _galaxies(30)
    table["ID"] = table["ID"].astype("U80")
    table["ID"][29] = "x" * 65
    table.write(tmp_path / "long.csv", format="ascii.csv")
    summary = ingest_catalog(db, [tmp_path / "long.csv"], "galaxy", survey="mock")
    assert not summary.ok and "row 30" in summary.files[0].errors[0]
    assert _count(db, Galaxy) == 0


def test_named_columns_and_missing_columns(db: Database, tmp_path: Path) -> None:
    table = Table({"name": ["a", "b"], "alpha": [10.0, 20.0], "delta": [1.0, 2.0]})
    table.write(tmp_path / "odd.csv", format="ascii.csv")
    refused = ingest_catalog(db, [tmp_path / "odd.csv"], "galaxy")
    assert "--ra and --dec" in refused.files[0].errors[0]
    loaded = ingest_catalog(db, [tmp_path / "odd.csv"], "galaxy", ra_col="ALPHA", dec_col="Delta")
    assert loaded.ok and _count(db, Galaxy) == 2


def test_a_database_refusal_is_reported_by_file_with_the_first_line_only() -> None:
    from galcat.catalog.ingest.report import FileOutcome

    outcome = FileOutcome(path="a.fits")
    outcome.refused_by_database("a.fits", ValueError("duplicate key\nDETAIL: (id)=(3)"))
    outcome.refused_by_database("a.fits", RuntimeError(""))
    assert outcome.errors == ["a.fits: database refused the file: duplicate key",
                              "a.fits: database refused the file: RuntimeError"]
    assert not outcome.ok


def test_a_file_of_new_and_known_rows_adds_the_new_and_updates_the_known(
    db: Database, tmp_path: Path
) -> None:
    first = _galaxies(40)
    first.write(tmp_path / "first.fits")
    assert ingest_catalog(db, [tmp_path / "first.fits"], "galaxy", survey="mock").ok
    with db.new_session() as session:
        ids = dict(session.execute(sa.select(Galaxy.external_id, Galaxy.id)).all())
    second = _galaxies(60, seed=2)
    second["ID"] = [f"g{i}" for i in range(20, 80)]
    second["z_spec"][5] = np.nan
    second.write(tmp_path / "second.fits")
    summary = ingest_catalog(db, [tmp_path / "second.fits"], "galaxy", survey="mock")
    assert summary.ok and summary.rows_loaded == 60
    assert _count(db, Galaxy) == 80
    with db.new_session() as session:
        rows = {g.external_id: g for g in session.execute(sa.select(Galaxy)).scalars()}
    assert all(rows[k].id == v for k, v in ids.items())
    assert rows["g25"].z_spec is None
    assert rows["g20"].z_spec == pytest.approx(second["z_spec"][0])
    assert rows["g5"].z_spec == pytest.approx(first["z_spec"][5])
    assert rows["g79"].ra_deg == pytest.approx(second["RA"][59])


def test_sparse_columns_are_indexed_where_they_hold_a_value(db: Database, tmp_path: Path
                                                            ) -> None:
    """z_spec, z_phot and log_mstar are indexed over their non-null rows only (PostgreSQL:
    the index's own row count; SQLite: the index is partial), and a range on the column
    is answered from that index on both backends."""
    table = _galaxies(300)
    table["z_spec"][::3] = np.nan
    path = tmp_path / "sparse.fits"
    table.write(path)
    assert ingest_catalog(db, [path], "galaxy").ok
    with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            conn.exec_driver_sql("ANALYZE galaxy")
            conn.exec_driver_sql("SET enable_seqscan = off")
            counted = {c: conn.execute(sa.text(
                "SELECT reltuples FROM pg_class WHERE relname = :ix"), {"ix": f"ix_galaxy_{c}"}
                ).scalar_one() for c in ("z_spec", "z_phot", "log_mstar")}
        else:
            partial = {r[1] for r in conn.exec_driver_sql("PRAGMA index_list(galaxy)") if r[4]}
            counted = {c: conn.exec_driver_sql(
                f"SELECT count(*) FROM galaxy INDEXED BY ix_galaxy_{c} WHERE {c} IS NOT NULL"
                ).scalar_one() if f"ix_galaxy_{c}" in partial else None
                for c in ("z_spec", "z_phot", "log_mstar")}
        explain = "EXPLAIN" if db.dialect == "postgresql" else "EXPLAIN QUERY PLAN"
        plan = " ".join(str(r) for r in conn.exec_driver_sql(
            f"{explain} SELECT id FROM galaxy WHERE z_spec BETWEEN 1.0 AND 1.1"))
        found = conn.exec_driver_sql(
            "SELECT count(*) FROM galaxy WHERE z_spec BETWEEN 1.0 AND 1.1").scalar_one()
    assert counted == {"z_spec": 200, "z_phot": 0, "log_mstar": 300}
    assert "ix_galaxy_z_spec" in plan
    z = np.asarray(table["z_spec"])
    assert found == int(np.sum((z >= 1.0) & (z <= 1.1)))
