"""Galaxy environments on the catalogue, both backends: a mock light-cone ingested as a
galaxy catalogue, SORT sharded by sky tile (each tile read with a margin gives exactly the
whole-sky answer), the environment measured from it, a tiny neighbour redshift network
trained and run by tile, and the evaluation's table and figure; then SORT's tiles on real
worker processes."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from astropy.table import Table
from typer.testing import CliRunner
from worker_fixtures import PAIRS

from galcat.catalog.db import Database
from galcat.catalog.schema import EnvironmentMeasure, ModelVersion, RedshiftEstimate
from galcat.catalog.settings import load_settings
from galcat.cli import app
from galcat.models.environment.measures import cylinder_counts
from galcat.models.environment.sort import SortParameters, sort_redshifts
from galcat.workers.environment.galaxies import load_galaxies
from galcat.workers.environment.measure import best_redshift
from galcat.workers.handlers import HANDLERS
from galcat.workers.queue.jobs import submit
from galcat.workers.queue.local import run_locally
from galcat.workers.queue.specs import (
    InferEnvironment,
    MeasureEnvironment,
    SortRedshifts,
    TrainEnvironment,
)

runner = CliRunner()
CONE = {"n": 4000, "field_deg": 1.0}
SORT = {"cell_arcmin": 6.0, "tile_cells": 3, "min_reference": 3}


@pytest.fixture(scope="session")
def lightcone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cone")
    result = runner.invoke(app, ["mock", "lightcone", "--out", str(folder), "--seed", "4",
                                 "--n", str(CONE["n"]), "--field-deg", str(CONE["field_deg"])])
    assert result.exit_code == 0, result.output
    return folder


def _ingest(lightcone: Path) -> None:
    result = runner.invoke(app, ["ingest", "catalog", str(lightcone / "lightcone.fits"),
                                 "--kind", "galaxy", "--survey", "cone"])
    assert result.exit_code == 0, result.output


def _estimates(db: Database, version: str) -> dict[int, RedshiftEstimate]:
    name, number = version.split("@")
    with db.new_session() as session:
        vid = session.execute(sa.select(ModelVersion.id).where(
            ModelVersion.name == name, ModelVersion.version == int(number))).scalar_one()
        rows = session.execute(sa.select(RedshiftEstimate).where(
            RedshiftEstimate.model_version_id == vid)).scalars().all()
    return {r.galaxy_id: r for r in rows}


def test_sort_measure_learn_and_evaluate_on_a_mock_lightcone(
        db: Database, galcat_env: dict[str, str], lightcone: Path) -> None:
    _ingest(lightcone)
    settings = load_settings()
    galaxies = load_galaxies(db)
    assert len(galaxies) > 3000 and np.isfinite(galaxies.z_phot_err).all()

    job = run_locally(settings, SortRedshifts(**SORT), HANDLERS)
    status = job.status()
    assert status.state == "done", status.error
    with db.new_session() as session:
        tiles = session.execute(sa.text(
            "SELECT count(*) FROM job WHERE parent_id = :p"), {"p": job.id}).scalar_one()
        version = session.execute(sa.select(ModelVersion).where(
            ModelVersion.name == "sort")).scalar_one()
    assert tiles >= 4, "the sky was cut into several tiles"
    assert version.training_fingerprint == galaxies.fingerprint()
    assert version.command.startswith("galcat environment sort --cell-arcmin 6")

    rows = _estimates(db, "sort@1")
    assert sorted(rows) == sorted(galaxies.ids.tolist()), "one row per galaxy"
    whole = sort_redshifts(galaxies.ra_deg, galaxies.dec_deg, galaxies.z_phot, galaxies.z_spec,
                           SortParameters(6.0, 0.5, 3, 0.001, 0), ids=galaxies.ids)
    stored = np.array([[np.nan if getattr(rows[int(i)], c) is None else getattr(rows[int(i)], c)
                        for c in ("z", "z_err", "z_draw")] for i in galaxies.ids])
    np.testing.assert_allclose(stored, np.stack([whole.z, whole.z_err, whole.z_draw], axis=1),
                               rtol=0, atol=1e-12, equal_nan=True)
    ref = np.isfinite(galaxies.z_spec)
    assert all(rows[int(i)].is_reference for i in galaxies.ids[ref])

    assert run_locally(settings, SortRedshifts(**SORT), HANDLERS).status().state == "done"
    with db.new_session() as session:
        second = session.execute(sa.select(ModelVersion).where(
            ModelVersion.name == "sort", ModelVersion.version == 2)).scalar_one()
    assert second.weights_sha256 == version.weights_sha256, "same settings, same method hash"

    measured = run_locally(settings, MeasureEnvironment(redshifts="sort@1", radius_mpc_h=2.0),
                           HANDLERS)
    assert measured.status().state == "done", measured.status().error
    with db.new_session() as session:
        measures = {r.galaxy_id: r for r in session.execute(
            sa.select(EnvironmentMeasure)).scalars()}
    z = best_redshift(galaxies, whole.z)
    expected = cylinder_counts(galaxies.ra_deg, galaxies.dec_deg, z, radius_mpc_h=2.0)
    assert [measures[int(i)].cylinder_count for i in galaxies.ids] == expected.tolist()
    assert all(measures[int(i)].nth_neighbour_mpc_h > 0 for i in galaxies.ids)

    released = Path(galcat_env["GALCAT_HOME"]) / "ENV1"
    result = runner.invoke(app, ["release", "environment", "--tag", "ENV1", "--out",
                                 str(released), "--format", "fits,votable"])
    assert result.exit_code == 0, result.output
    table = Table.read(next(released.glob("*.fits")))
    assert len(table) == len(galaxies)
    by_id = dict(zip(table["galaxy_id"].tolist(), table["cylinder_count"].tolist(), strict=True))
    assert [by_id[int(i)] for i in galaxies.ids] == expected.tolist()
    np.testing.assert_allclose(np.asarray(table["z_env"]), z[np.argsort(galaxies.ids)])
    assert "environment@1" in repr(table.meta)

    trained = run_locally(settings, TrainEnvironment(n=3000, field_deg=1.0, epochs=1,
                                                     width=8, batch_size=256), HANDLERS)
    assert trained.status().state == "done", trained.status().error
    inferred = run_locally(settings, InferEnvironment(tile_arcmin=20.0), HANDLERS)
    assert inferred.status().state == "done", inferred.status().error
    learned = _estimates(db, "environment-z@1")
    assert sorted(learned) == sorted(galaxies.ids.tolist())
    unc = galaxies.ids[~ref]
    assert all(learned[int(i)].z_err > 0 and learned[int(i)].z is not None for i in unc)

    out = Path(galcat_env["GALCAT_HOME"]) / "eval"
    result = runner.invoke(app, ["evaluate", "environment", "--truth",
                                 str(lightcone / "truth.fits"), "--redshifts", "sort@1",
                                 "--redshifts", "environment-z@1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("redshifts,sigma_nmad")
    names = [line.split(",")[0] for line in lines[1:]]
    assert names == ["true z", "photo-z", "references alone", "sort@1 draw", "sort@1 median",
                     "environment-z@1 draw", "environment-z@1 median"]
    true_row = lines[1].split(",")
    assert float(true_row[1]) == 0.0 and float(true_row[3]) == pytest.approx(1.0)
    assert (out / "xi_ratio.png").stat().st_size > 20_000


def test_sort_refuses_a_catalogue_without_references(db: Database, galcat_env: dict[str, str],
                                                     lightcone: Path) -> None:
    _ingest(lightcone)
    job = run_locally(load_settings(), SortRedshifts(reference_where="1 = 0"), HANDLERS)
    status = job.status()
    assert status.state == "failed"
    assert "no galaxy has a reference" in (status.error or "")
    result = runner.invoke(app, ["environment", "sort", "--overlap", "1.5", "--local"])
    assert result.exit_code != 0 and "overlap" in result.output


@PAIRS
def test_sort_tiles_run_on_real_workers(db: Database, env: dict[str, str], workers,
                                        lightcone: Path) -> None:
    _ingest(lightcone)
    workers.start(concurrency=2)
    handle = submit(SortRedshifts(**SORT))
    deadline = time.monotonic() + 180
    while handle.status().state in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.5)
    status = handle.status()
    assert status.state == "done", (status.state, status.error, status.message)
    galaxies = load_galaxies(db)
    rows = _estimates(db, "sort@1")
    assert sorted(rows) == sorted(galaxies.ids.tolist())
