"""Phase inference over ``image`` rows of simulated galaxies' cameras, upserted into
``phase_prediction`` keyed by (model_version_id, image_id). A model that reads the
redshift takes it from the camera's snapshot; images of no camera get no row from it."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from galcat.catalog.pixels import stored_images
from galcat.catalog.schema import Camera, Image, ModelVersion, PhasePrediction, Snapshot
from galcat.workers.model_io import load_model
from galcat.workers.queue.sharding import InferenceTask, Rows, upsert_rows

IMAGE = cast(sa.Table, Image.__table__)
PHASE_TABLE = cast(sa.Table, PhasePrediction.__table__)


def load_phases(settings: Any, version: ModelVersion) -> Any:
    """The version's Keras model, refusing one of another task."""
    if version.task != "phases":
        raise ValueError(f"{version.name}@{version.version} is a {version.task} model, "
                         "not a phases model")
    return load_model(settings, version)


def predict_phases(model: Any, session: Session, ids: list[int]) -> Rows:
    """Phase rows for the one-band images among ``ids`` (with a redshift when the model
    reads one)."""
    from galcat.models.galaxy.preprocess import N_SCALARS
    from galcat.models.simulation.history import PHASES
    from galcat.models.simulation.phases import predict

    reads_redshift = int(model.input["scalars"].shape[-1]) > N_SCALARS
    redshift = dict(session.execute(
        sa.select(Image.id, Snapshot.redshift).join(Camera, Image.camera_id == Camera.id)
        .join(Snapshot, Snapshot.id == Camera.snapshot_id).where(Image.id.in_(ids))).all())
    images = [s for s in stored_images(session, ids)
              if s.pixels.ndim == 2 and not s.display_image
              and (not reads_redshift or s.image_id in redshift)]
    if not images:
        return []
    shapes = {s.pixels.shape for s in images}
    rows: Rows = []
    for shape in sorted(shapes):
        group = [s for s in images if s.pixels.shape == shape]
        out = predict(model, np.stack([s.pixels for s in group]),
                      redshift=np.array([redshift.get(s.image_id, np.nan) for s in group])
                      if reads_redshift else None,
                      zero_point=_values(group, "zero_point_mag"),
                      psf_fwhm_arcsec=_values(group, "psf_fwhm_arcsec"),
                      sky_sigma=_values(group, "sky_sigma"))
        phase = np.argmax(np.stack([out["p_pre_bn"], out["p_bn"], out["p_post_bn"]]), axis=0)
        for i, stored in enumerate(group):
            rows.append({"image_id": stored.image_id, "phase": PHASES[int(phase[i])],
                         **{k: float(out[k][i]) for k in (
                             "p_pre_bn", "p_bn", "p_post_bn", "p_merger_cause",
                             "time_since_merger_gyr", "time_since_merger_err_gyr")}})
    return rows


def _values(group: list[Any], name: str) -> np.ndarray | None:
    values = [getattr(s, name) for s in group]
    return None if any(v is None for v in values) else np.array(values, dtype=float)


PHASES_TASK = InferenceTask(IMAGE, predict_phases, upsert_rows(PHASE_TABLE, "image_id"),
                            load_phases, done_table=PHASE_TABLE, done_key="image_id")
