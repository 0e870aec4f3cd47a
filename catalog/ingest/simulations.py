"""``galcat ingest simulation``: manifests of simulated galaxies into ``simulation``,
``snapshot``, ``camera`` and their ``image`` rows.

A manifest is the unit of input: it is checked whole (every field and every image read)
before one transaction writes it, so a refused manifest leaves nothing behind. The
images are read by the same reader as survey cutouts and stored as ``image`` rows that
point at their camera. Ingesting the same manifest again changes nothing; a different
manifest for a simulation already in the catalogue is refused unless ``replace``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from galcat.catalog.db import Database
from galcat.catalog.formats.errors import InputError
from galcat.catalog.formats.images import ImageFormatError, ImageRecord, read_image
from galcat.catalog.formats.simulation_manifest import SimulationManifest, read_manifest
from galcat.catalog.ingest.report import FileOutcome, IngestSummary
from galcat.catalog.pixels import image_pixels_row
from galcat.catalog.schema import Camera, Image, ImagePixels, Simulation, Snapshot


def ingest_simulations(db: Database, manifests: Sequence[str | Path],
                       replace: bool = False) -> IngestSummary:
    """Load each manifest in its own transaction; a bad one is refused (with the line and
    field, or the image, at fault) and the others are kept."""
    summary = IngestSummary()
    for path in manifests:
        outcome = FileOutcome(path=str(path))
        summary.files.append(outcome)
        try:
            manifest = read_manifest(path)
            images = _read_images(manifest)
            loaded = _store(db, manifest, images, replace)
        except InputError as exc:
            outcome.errors.append(str(exc))
            continue
        except sa.exc.DBAPIError as exc:
            outcome.refused_by_database(path, exc)
            continue
        if loaded:
            outcome.rows_loaded = manifest.n_cameras
        else:
            outcome.rows_merged = manifest.n_cameras
    return summary


def _read_images(manifest: SimulationManifest) -> dict[Path, ImageRecord]:
    images: dict[Path, ImageRecord] = {}
    for snapshot in manifest.snapshots:
        for camera in snapshot.cameras:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    record = read_image(camera.image)
            except ImageFormatError as exc:
                raise InputError(manifest.path, f"line {camera.line}, snapshot "
                                 f"{snapshot.index} camera {camera.index}: {exc}") from exc
            if record.pixels.ndim != 2 or not np.isfinite(record.pixels).all():
                raise InputError(manifest.path, f"line {camera.line}, {camera.image}: a camera "
                                 "image must be one band of finite pixels")
            images[camera.image] = record
    digests = [r.sha256 for r in images.values()]
    if len(set(digests)) != len(digests):
        raise InputError(manifest.path, "two cameras name files with identical content")
    return images


def _store(db: Database, manifest: SimulationManifest, images: dict[Path, ImageRecord],
           replace: bool) -> bool:
    """Write the manifest in one transaction; False when it is already there unchanged."""
    name = manifest.simulation["name"]
    with db.session() as session:
        existing = session.execute(sa.select(Simulation.id, Simulation.manifest_sha256).where(
            Simulation.name == name)).one_or_none()
        if existing is not None:
            if existing.manifest_sha256 == manifest.sha256:
                return False
            if not replace:
                raise InputError(manifest.path, f"simulation {name!r} is already in the "
                                 "catalogue from another manifest; pass --replace to replace it")
            session.execute(sa.delete(Simulation).where(Simulation.id == existing.id))
            session.flush()
        _refuse_known_images(session, manifest, images)
        simulation = Simulation(**manifest.simulation, manifest_sha256=manifest.sha256)
        session.add(simulation)
        session.flush()
        snapshot_ids = session.execute(sa.insert(Snapshot).returning(
            Snapshot.id, Snapshot.snapshot_index), [
            {**_with_time(s.values), "simulation_id": simulation.id}
            for s in manifest.snapshots]).all()
        ids = {row.snapshot_index: row.id for row in snapshot_ids}
        for snapshot in manifest.snapshots:
            for camera in snapshot.cameras:
                _store_camera(session, ids[snapshot.index], camera.index, camera.theta_deg,
                              camera.phi_deg, camera.inclination_deg, images[camera.image],
                              name)
    return True


def _refuse_known_images(session: Session, manifest: SimulationManifest,
                         images: dict[Path, ImageRecord]) -> None:
    by_digest = {r.sha256: p for p, r in images.items()}
    known = session.execute(sa.select(Image.id, Image.sha256).where(
        Image.sha256.in_(list(by_digest)))).first()
    if known is not None:
        raise InputError(manifest.path, f"{by_digest[known.sha256]} is already in the "
                         f"catalogue as image {known.id}")


def _with_time(values: dict[str, Any]) -> dict[str, Any]:
    if values.get("time_gyr") is not None:
        return values
    from astropy.cosmology import Planck18

    return {**values, "time_gyr": float(Planck18.age(values["redshift"]).value)}


def _store_camera(session: Session, snapshot_id: int, index: int, theta: float | None,
                  phi: float | None, inclination: float | None, record: ImageRecord,
                  simulation: str) -> None:
    camera_id = session.execute(sa.insert(Camera).returning(Camera.id).values(
        snapshot_id=snapshot_id, camera_index=index, theta_deg=theta, phi_deg=phi,
        inclination_deg=inclination)).scalar_one()
    pixels = record.pixels
    image_id = session.execute(sa.insert(Image).returning(Image.id).values(
        camera_id=camera_id, source_path=str(Path(record.source_path).resolve()),
        sha256=record.sha256, height=int(pixels.shape[0]), width=int(pixels.shape[1]),
        channels=1, dtype="float32", bands=",".join(record.bands)[:64] or None,
        pixel_scale_arcsec=record.pixel_scale_arcsec, zero_point_mag=record.zero_point,
        psf_fwhm_arcsec=record.psf_fwhm_arcsec, sky_sigma=record.sky_sigma,
        wcs_header=record.wcs_header or None,
        extra={"simulation": simulation, "format": record.format})).scalar_one()
    row = image_pixels_row(image_id, pixels, record.rms, None)
    session.execute(sa.insert(ImagePixels).values(
        image_id=row.image_id, data=row.data, rms=row.rms, psf=row.psf))
