"""The phase network as jobs on the catalogue: trained on the cameras of some simulated
galaxies, scored on one it never saw, then run over every camera into phase_prediction
(tiny network: these tests check the plumbing, the bench measures the science)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from galcat.catalog.db import Database
from galcat.catalog.ingest.simulations import ingest_simulations
from galcat.catalog.schema import Camera, Image, ModelVersion, PhasePrediction
from galcat.catalog.settings import load_settings
from galcat.cli import app
from galcat.workers.handlers import HANDLERS
from galcat.workers.queue.local import run_locally
from galcat.workers.queue.specs import InferPhases, TrainPhases
from galcat.workers.simulation.figure import read_history
from galcat.workers.simulation.mock_files import write_mock_simulation

runner = CliRunner()
TINY = {"filters": (4, 8), "dense_units": 8, "epochs": 1, "batch_size": 32, "run_eagerly": True}
GALAXIES = (("T1", 11, "compaction"), ("T2", 12, "merger"), ("T3", 13, "quiet"),
            ("H1", 14, "merger"))


@pytest.fixture(scope="session")
def simulation_mocks(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("sims")
    return [write_mock_simulation(name, folder, seed, history, n_cameras=2)
            for name, seed, history in GALAXIES]


def test_train_score_and_infer_phases(db: Database, galcat_env: dict[str, str],
                                      simulation_mocks: list[Path]) -> None:
    assert ingest_simulations(db, simulation_mocks).ok
    settings = load_settings()
    job = run_locally(settings, TrainPhases(simulations="name LIKE 'T%'", held_out="name = 'H1'",
                                            **TINY), HANDLERS)
    status = job.status()
    assert status.state == "done", status.error
    assert "held out (1): phase" in (status.message or "")
    with db.new_session() as session:
        version = session.execute(sa.select(ModelVersion).where(
            ModelVersion.name == "phases")).scalar_one()
        n_cameras = session.execute(sa.select(sa.func.count()).select_from(Camera)).scalar_one()
    held = version.metrics["held_out"]
    assert held["simulations"] == ["H1"] and held["n_galaxies"] == 1
    assert 0.0 <= held["phase_accuracy_camera"] <= 1.0
    assert len(held["confusion_snapshot"]) == 3
    assert version.metrics["trained_on"] == ["T1", "T2", "T3"]
    assert version.training_fingerprint and version.hyperparameters["held_out"] == "name = 'H1'"
    assert version.command.startswith("galcat train phases --simulations")

    for _ in range(2):
        assert run_locally(settings, InferPhases(where="camera_id IS NOT NULL"),
                           HANDLERS).status().state == "done"
    with db.new_session() as session:
        rows = session.execute(sa.select(PhasePrediction)).scalars().all()
        images = session.execute(sa.select(sa.func.count()).select_from(Image)).scalar_one()
    assert len(rows) == n_cameras == images, "one row per camera image, none doubled on rerun"
    p = np.array([[r.p_pre_bn, r.p_bn, r.p_post_bn] for r in rows])
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    assert all(r.phase == ("pre-BN", "BN", "post-BN")[int(np.argmax(q))]
               for r, q in zip(rows, p, strict=True))
    assert all(0 <= r.p_merger_cause <= 1 and r.time_since_merger_err_gyr > 0 for r in rows)

    history = read_history(db, "H1")
    assert history.phases is not None and history.phases.model == f"phases@{version.version}"
    out = Path(galcat_env["GALCAT_HOME"]) / "H1.png"
    result = runner.invoke(app, ["plot", "simulation", "H1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 30_000


def test_training_refuses_overlapping_or_empty_selections(
    db: Database, galcat_env: dict[str, str], simulation_mocks: list[Path]
) -> None:
    assert ingest_simulations(db, simulation_mocks[:2]).ok
    settings = load_settings()
    overlap = run_locally(settings, TrainPhases(simulations="name LIKE 'T%'",
                                                held_out="name = 'T1'", **TINY), HANDLERS)
    assert overlap.status().state == "failed"
    assert "both trained on and held out" in (overlap.status().error or "")
    empty = run_locally(settings, TrainPhases(simulations="name = 'nobody'", **TINY), HANDLERS)
    assert "no simulation matches" in (empty.status().error or "")


def test_cameras_without_photometry_get_the_networks_defaults(db: Database,
                                                              tmp_path: Path) -> None:
    import yaml

    from galcat.workers.simulation.camera_set import load_camera_set, select_simulations

    rng = np.random.default_rng(3)
    snapshots = []
    for i, phase in enumerate(("pre-BN", "BN", "post-BN")):
        cameras = []
        for c in range(2):
            np.save(tmp_path / f"s{i}c{c}.npy", rng.normal(0, 2.0, (64, 64)).astype("float32"))
            cameras.append({"index": c, "image": f"s{i}c{c}.npy"})
        snapshots.append({"index": i, "redshift": 3.0 - i, "phase": phase, "cameras": cameras})
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(yaml.safe_dump({"format": "galcat-simulation/1",
                                        "simulation": {"name": "BARE"}, "snapshots": snapshots}))
    assert ingest_simulations(db, [manifest]).ok
    labels = load_camera_set(db, select_simulations(db, "name = 'BARE'")).data.labels
    assert len(labels) == 6
    assert np.all(labels["zero_point"] == 25.94) and np.all(np.isfinite(labels["psf_fwhm_arcsec"]))
    np.testing.assert_allclose(labels["sky_sigma"], 2.0, rtol=0.25)
    assert list(labels["phase"]) == [0, 0, 1, 1, 2, 2]
