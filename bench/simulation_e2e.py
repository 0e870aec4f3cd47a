"""End to end, rows to rows: a trained phase network run as ``galcat infer phases`` (one
process, ``--local``) over the camera images of simulated galaxies in a scratch SQLite
catalogue, next to the same network on the same images already in memory."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class EndToEnd:
    """Cameras written as predictions per second, and the model alone on the same images."""

    cameras: int
    rows_to_rows_s: float
    model_alone_s: float

    @property
    def ratio(self) -> float:
        """End-to-end rate over the model-alone rate (≤ 1)."""
        return self.model_alone_s / self.rows_to_rows_s


def end_to_end(model: Any, galaxies: Sequence[tuple[int, str]], n_cameras: int) -> EndToEnd:
    """Write ``galaxies`` (seed, history) as mock manifests, ingest them, register ``model``
    and time ``InferPhases`` from image rows to written ``phase_prediction`` rows; then time
    ``phases.predict_set`` on the same images read into memory."""
    import sqlalchemy as sa

    from galcat.catalog import migrate
    from galcat.catalog.db import forget_databases, get_database
    from galcat.catalog.ingest.simulations import ingest_simulations
    from galcat.catalog.registry import register
    from galcat.catalog.schema import PhasePrediction
    from galcat.catalog.settings import load_settings
    from galcat.models.simulation import phases
    from galcat.workers.handlers import HANDLERS
    from galcat.workers.model_io import save_model
    from galcat.workers.queue.local import run_locally
    from galcat.workers.queue.specs import InferPhases
    from galcat.workers.simulation.camera_set import load_camera_set, select_simulations
    from galcat.workers.simulation.mock_files import write_mock_simulation

    with tempfile.TemporaryDirectory(prefix="galcat-sim-e2e-") as scratch:
        home = Path(scratch)
        settings = load_settings({"GALCAT_HOME": str(home)})
        db = get_database(settings)
        migrate.upgrade(db)
        manifests = [write_mock_simulation(f"E2E-{seed}", home / "sims", seed, history,
                                           n_cameras=n_cameras) for seed, history in galaxies]
        summary = ingest_simulations(db, manifests)
        if not summary.ok:
            raise RuntimeError(f"ingest failed: {summary.failed[0].errors}")
        with db.session() as session:
            register(session, settings.artifacts_dir, "phases", "phases",
                     save_model(model, home), {}, None, {})
        start = time.perf_counter()
        status = run_locally(settings, InferPhases(), HANDLERS).status()
        rows_s = time.perf_counter() - start
        if status.state != "done":
            raise RuntimeError(f"infer phases ended {status.state}: {status.error}")
        with db.new_session() as session:
            written = int(session.execute(sa.select(sa.func.count()).select_from(
                PhasePrediction)).scalar_one())
        cameras = load_camera_set(db, select_simulations(db, "1 = 1")).data
        start = time.perf_counter()
        phases.predict_set(model, cameras.images, cameras.labels)
        alone_s = time.perf_counter() - start
        forget_databases()
    if written != len(cameras):
        raise RuntimeError(f"{written} predictions written for {len(cameras)} cameras")
    return EndToEnd(written, rows_s, alone_s)
