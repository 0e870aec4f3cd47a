"""The simulated galaxy's figure: the shipped morphology model run on every camera of a
mock simulated galaxy, drawn against redshift with its masses and rates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_recipes import recipes
from typer.testing import CliRunner

from galcat.catalog.db import Database
from galcat.catalog.ingest.simulations import ingest_simulations
from galcat.catalog.settings import load_settings
from galcat.catalog.sql import run_sql
from galcat.cli import app
from galcat.workers.handlers import HANDLERS
from galcat.workers.queue.local import run_locally
from galcat.workers.queue.specs import InferMorphology
from galcat.workers.registry import register_shipped
from galcat.workers.simulation.figure import read_history
from galcat.workers.simulation.mock_files import write_mock_simulation

runner = CliRunner()


def test_figure_of_a_simulated_galaxy(db: Database, galcat_env: dict[str, str],
                                      tmp_path: Path) -> None:
    manifest = write_mock_simulation("MOCK-5", tmp_path, 5, "merger", n_cameras=3)
    assert ingest_simulations(db, [manifest]).ok
    out = tmp_path / "figure.png"
    early = runner.invoke(app, ["plot", "simulation", "MOCK-5", "--out", str(out)])
    assert early.exit_code == 1 and "galcat infer morphology" in early.output
    unknown = runner.invoke(app, ["plot", "simulation", "MOCK-9", "--out", str(out)])
    assert unknown.exit_code == 1 and "no simulation 'MOCK-9'" in unknown.output
    assert "(there are: MOCK-5)" in unknown.output

    settings = load_settings()
    with db.session() as session:
        register_shipped(session, settings.artifacts_dir)
    job = run_locally(settings, InferMorphology(where="camera_id IS NOT NULL"), HANDLERS)
    assert job.status().state == "done"
    result = runner.invoke(app, ["plot", "simulation", "MOCK-5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 30_000

    history = read_history(db, "MOCK-5")
    assert history.morphology is not None and history.phases is None
    values = history.morphology.values
    disk = values["p_disk"]
    assert disk.shape == (3, len(history.snapshots)) and np.isfinite(disk).all()
    phase = np.array([s["phase"] for s in history.snapshots])
    median = np.median(disk, axis=0)
    assert np.median(median[phase == "pre-BN"]) > np.median(median[phase == "BN"]) + 0.3, \
        "the clumpy disk before the compaction looks more disk-like than the blue nugget"
    bulge = values["p_bulge"] + values["p_bulge_disk"]

    rise = np.diff(np.mean(bulge, axis=0))
    since = np.array([np.nan if s["time_since_merger_gyr"] is None
                      else s["time_since_merger_gyr"] for s in history.snapshots])
    want = [(history.snapshots[i + 1]["snapshot_index"], pytest.approx(float(rise[i])))
            for i in range(rise.size) if rise[i] > 0.3 and np.isfinite(since[i + 1])]
    rows = run_sql(db, recipes()["bulge-rise-after-merger"])
    got = [dict(zip(rows.names, r, strict=True)) for r in rows.rows]
    assert [(r["snapshot_index"], r["p_bulge_rise"]) for r in got] == want and want, \
        "the README's recipe finds the bulge growing after the merger"
    assert {r["name"] for r in got} == {"MOCK-5"}
