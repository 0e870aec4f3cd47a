"""The cameras of the catalogue's simulated galaxies as arrays the phase network reads:
images with the truth of their snapshot, in :data:`galcat.models.simulation.dataset.LABEL_DTYPE`."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from galcat.catalog.db import Database
from galcat.catalog.pixels import stored_images
from galcat.catalog.schema import Camera, Image, Simulation, Snapshot
from galcat.models.simulation.dataset import LABEL_DTYPE, NO_CAUSE, SimulationSet
from galcat.models.simulation.history import CAUSES, PHASES


class CameraSetError(ValueError):
    """The selected simulations cannot be used for training or scoring."""


@dataclass(frozen=True)
class CameraSet:
    """A :class:`SimulationSet` read from the catalogue, with the image id of each row."""

    data: SimulationSet
    image_ids: np.ndarray


def select_simulations(db: Database, where: str) -> list[int]:
    """Ids of the simulations matching ``where`` (SQL on simulation rows), read-only."""
    _names, rows = db.readonly_query(f"SELECT id FROM simulation WHERE ({where}) ORDER BY id")
    return [int(r[0]) for r in rows]


def load_camera_set(db: Database, simulation_ids: list[int],
                    progress: Callable[[int, int], None] | None = None) -> CameraSet:
    """Every camera image of the given simulations with its snapshot's truth; a snapshot
    whose phase is not one of pre-BN, BN, post-BN is refused by name."""
    if not simulation_ids:
        raise CameraSetError("no simulation matched")
    images: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    ids: list[np.ndarray] = []
    with db.new_session() as session:
        sims = session.execute(sa.select(Simulation).where(Simulation.id.in_(simulation_ids))
                               .order_by(Simulation.id)).scalars().all()
        for g, sim in enumerate(sims):
            pixels, rows, image_ids = _simulation_rows(session, g, sim)
            images.append(pixels)
            labels.append(rows)
            ids.append(image_ids)
            if progress is not None:
                progress(g + 1, len(sims))
        bn = np.array([_bn_time(session, sim) for sim in sims])
    data = SimulationSet(np.concatenate(images), np.concatenate(labels),
                         tuple(s.name for s in sims),
                         tuple(str((s.extra or {}).get("history", "")) for s in sims),
                         tuple(int((s.extra or {}).get("seed", -1)) for s in sims), bn)
    return CameraSet(data, np.concatenate(ids))


def _simulation_rows(session: Session, g: int, sim: Simulation
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    found = session.execute(
        sa.select(Image.id, Snapshot, Camera.camera_index, Camera.inclination_deg)
        .join(Camera, Image.camera_id == Camera.id)
        .join(Snapshot, Snapshot.id == Camera.snapshot_id)
        .where(Snapshot.simulation_id == sim.id).order_by(Image.id)).all()
    if not found:
        raise CameraSetError(f"simulation {sim.name!r} has no camera images")
    stored = {s.image_id: s for s in stored_images(session, [r[0] for r in found])}
    rows = np.zeros(len(found), dtype=LABEL_DTYPE)
    pixels = []
    for i, (image_id, snap, camera, inclination) in enumerate(found):
        if snap.phase not in PHASES:
            raise CameraSetError(f"simulation {sim.name!r} snapshot {snap.snapshot_index}: phase "
                                 f"{snap.phase!r} is not one of {', '.join(PHASES)}")
        image = stored[image_id]
        if image.pixels.ndim != 2:
            raise CameraSetError(f"image {image_id} of {sim.name!r} is not one band")
        pixels.append(image.pixels)
        rows[i] = (g, snap.snapshot_index, camera, PHASES.index(snap.phase),
                   NO_CAUSE if snap.compaction_cause is None
                   else CAUSES.index(snap.compaction_cause),
                   math.nan if snap.time_since_merger_gyr is None else snap.time_since_merger_gyr,
                   snap.redshift, snap.time_gyr if snap.time_gyr is not None else math.nan,
                   math.nan if inclination is None else inclination,
                   _or_nan(image.zero_point_mag), _or_nan(image.psf_fwhm_arcsec),
                   _or_nan(image.sky_sigma))
    shapes = {p.shape for p in pixels}
    if len(shapes) > 1:
        raise CameraSetError(f"the images of {sim.name!r} differ in shape: {sorted(shapes)}")
    stack = np.stack(pixels).astype(np.float32)
    _fill_photometry(rows, stack)
    return stack, rows, np.array([r[0] for r in found])


def _fill_photometry(rows: np.ndarray, images: np.ndarray) -> None:
    """Where an image records no zero point, PSF or sky noise, the value the galaxy
    networks assume for it (the profile's zero point and mid PSF; the sky noise measured
    on the image's border), as :func:`galcat.models.galaxy.preprocess.network_inputs` does."""
    from galcat.models.galaxy.preprocess import estimate_sky_sigma
    from galcat.models.galaxy.profile import HST_F160W_64

    defaults = {"zero_point": HST_F160W_64.magzero_default,
                "psf_fwhm_arcsec": float(np.mean(HST_F160W_64.psf_fwhm_arcsec))}
    for name, value in defaults.items():
        rows[name] = np.where(np.isnan(rows[name]), value, rows[name])
    missing = np.isnan(rows["sky_sigma"])
    if missing.any():
        rows["sky_sigma"][missing] = estimate_sky_sigma(images[missing])


def _or_nan(value: Any) -> float:
    return math.nan if value is None else float(value)


def _bn_time(session: Session, sim: Simulation) -> float:
    """The true blue-nugget time (Gyr): the manifest's ``bn_time_gyr`` metadata, else the
    middle of the snapshots labelled BN."""
    given = (sim.extra or {}).get("bn_time_gyr")
    if isinstance(given, int | float):
        return float(given)
    times = session.execute(sa.select(Snapshot.time_gyr).where(
        Snapshot.simulation_id == sim.id, Snapshot.phase == "BN")).scalars().all()
    known = [t for t in times if t is not None]
    return 0.5 * (min(known) + max(known)) if known else math.nan
