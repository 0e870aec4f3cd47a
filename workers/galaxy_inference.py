"""Galaxy inference: the Sérsic emulator and the morphology network over ``image`` rows.

Importing this module registers ``TASKS["sersic"]`` and ``TASKS["morphology"]`` in
:mod:`workers.inference`. Predictions are upserted into ``sersic_fit`` and
``morphology`` keyed by (model_version_id, image_id).

The post-processing here is shared with ``galcat scan`` (:mod:`workers.galaxy_scan`):
an image becomes a single-band :class:`Stamp` (the last channel of a multi-band
FITS cutout, the mean of a PNG/JPEG's RGB), carrying the reasons
:func:`models.galaxy.profile.check_profile` finds for it to be outside the
imaging profile; rows then carry ``out_of_profile``. Keras is imported only
inside the prediction functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from galcat.catalog.pixels import StoredImage, stored_images
from galcat.catalog.schema import Image, ModelVersion, Morphology, SersicFit
from galcat.models.galaxy.preprocess import estimate_sky_sigma
from galcat.models.galaxy.profile import HST_F160W_64, check_profile, crop_or_pad
from galcat.vocabulary import MORPHOLOGY_COLUMNS, SERSIC_COLUMNS, SERSIC_PARAMETERS
from galcat.workers.inference import TASKS, InferenceTask, Rows, load_keras, upsert_rows

REQUIRED = {*SERSIC_PARAMETERS, *MORPHOLOGY_COLUMNS}


@dataclass(frozen=True)
class Stamp:
    """One single-band image (flux units, FITS orientation) ready for the networks.

    ``zero_point`` (AB mag), ``psf_fwhm_arcsec`` and ``sky_sigma`` (flux units) are
    ``None`` when unknown; ``reasons`` lists why the image is outside the profile.
    """

    pixels: np.ndarray
    zero_point: float | None
    psf_fwhm_arcsec: float | None
    sky_sigma: float | None
    reasons: tuple[str, ...]

    @property
    def out_of_profile(self) -> bool:
        return bool(self.reasons)


def make_stamp(pixels: np.ndarray, rms: np.ndarray | None, *, zero_point: float | None,
               psf_fwhm_arcsec: float | None, sky_sigma: float | None,
               pixel_scale_arcsec: float | None, raster: bool = False,
               crop: bool = True) -> Stamp:
    """Pick one band, fill non-finite pixels with 0 and check the imaging profile.

    With ``crop`` only the central profile-sized stamp is kept (what the networks
    read). ``sky_sigma`` falls back to the median finite RMS of the chosen band.
    """
    ny, nx = pixels.shape[:2]
    size = HST_F160W_64.size_px
    reasons: list[str] = []
    arr = np.asarray(pixels)
    noise = None if rms is None or raster else np.asarray(rms)
    if arr.ndim == 3:
        arr = arr.mean(axis=-1) if raster else arr[..., -1]
        noise = None if noise is None else noise[..., -1]
        if not raster:
            reasons.append(f"{pixels.shape[-1]} bands: the network read the last one")
    if raster:
        reasons.append("display image (PNG/JPEG): no photometry")
    has_rms = noise is not None and bool(np.isfinite(noise).any())
    if sky_sigma is None and noise is not None:
        good = noise[np.isfinite(noise) & (noise > 0)]
        sky_sigma = float(np.median(good)) if good.size else None
    bad = ~np.isfinite(crop_or_pad(arr, size, fill=0.0))
    if bad.any():
        reasons.append(f"{int(bad.sum())} non-finite pixels in the central stamp set to 0")
    if min(ny, nx) < size:
        reasons.append(f"{nx}x{ny} pixels: padded to {size}x{size} with zeros")
    if crop:
        arr = crop_or_pad(arr, size, fill=0.0)
    arr = np.nan_to_num(np.asarray(arr, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    meta = {"MAGZERO": zero_point, "PSF_FWHM": psf_fwhm_arcsec, "SKYSIG": sky_sigma,
            "PIXSCALE": pixel_scale_arcsec, "HAS_RMS": has_rms, "NAXIS1": nx, "NAXIS2": ny}
    reasons = check_profile(meta) + reasons
    return Stamp(arr, zero_point, psf_fwhm_arcsec, sky_sigma, tuple(reasons))


def stamp_from_stored(image: StoredImage) -> Stamp:
    """A stamp from a stored image."""
    return make_stamp(image.pixels, image.rms, zero_point=image.zero_point_mag,
                      psf_fwhm_arcsec=image.psf_fwhm_arcsec, sky_sigma=image.sky_sigma,
                      pixel_scale_arcsec=image.pixel_scale_arcsec, raster=image.display_image)


def network_arrays(stamps: Sequence[Stamp]) -> dict[str, np.ndarray]:
    """Stamps cropped/padded to the profile size with per-image metadata (defaults filled)."""
    profile = HST_F160W_64
    images = np.stack([crop_or_pad(s.pixels, profile.size_px) for s in stamps])
    estimated = estimate_sky_sigma(images)
    sky = np.array([s.sky_sigma if s.sky_sigma and s.sky_sigma > 0 else estimated[i]
                    for i, s in enumerate(stamps)], dtype=float)
    return {
        "images": images,
        "zero_point": np.array([profile.magzero_default if s.zero_point is None
                                else s.zero_point for s in stamps], dtype=float),
        "psf_fwhm_arcsec": np.array([float(np.mean(profile.psf_fwhm_arcsec))
                                     if s.psf_fwhm_arcsec is None else s.psf_fwhm_arcsec
                                     for s in stamps], dtype=float),
        "sky_sigma": np.maximum(sky, 1e-12),
    }


def sersic_rows(model: Any, stamps: Sequence[Stamp]) -> list[dict[str, Any] | None]:
    """Emulator answers per stamp (``None`` where the network returned non-finite values)."""
    from galcat.models.galaxy import emulator

    if not stamps:
        return []
    a = network_arrays(stamps)
    out = emulator.predict(model, a["images"], zero_point=a["zero_point"],
                           psf_fwhm_arcsec=a["psf_fwhm_arcsec"], sky_sigma=a["sky_sigma"])
    return [_row(out, i, SERSIC_COLUMNS, s) for i, s in enumerate(stamps)]


def morphology_rows(model: Any, stamps: Sequence[Stamp]) -> list[dict[str, Any] | None]:
    """Morphology answers per stamp; a fine-tuned single head is read in
    :data:`MORPHOLOGY_COLUMNS` order with the bulge/disk probabilities renormalised."""
    from galcat.models.galaxy import morphology

    if not stamps:
        return []
    a = network_arrays(stamps)
    out = morphology.predict(model, a["images"], zero_point=a["zero_point"],
                             psf_fwhm_arcsec=a["psf_fwhm_arcsec"], sky_sigma=a["sky_sigma"])
    if "head" in out:
        head = np.asarray(out["head"], dtype=float)
        if head.shape[1] != len(MORPHOLOGY_COLUMNS):
            raise ValueError(f"model has {head.shape[1]} outputs; the morphology table needs "
                             f"{len(MORPHOLOGY_COLUMNS)} ({', '.join(MORPHOLOGY_COLUMNS)})")
        bd = np.clip(head[:, 5:], 1e-6, None)
        head[:, 5:] = bd / bd.sum(axis=1, keepdims=True)
        out = {name: head[:, i] for i, name in enumerate(MORPHOLOGY_COLUMNS)}
    return [_row(out, i, MORPHOLOGY_COLUMNS, s) for i, s in enumerate(stamps)]


def _row(out: dict[str, np.ndarray], i: int, columns: Sequence[str],
         stamp: Stamp) -> dict[str, Any] | None:
    row: dict[str, Any] = {}
    for name in columns:
        value = float(out[name][i])
        if not math.isfinite(value) and name in REQUIRED:
            return None
        row[name] = value if math.isfinite(value) else None
    row["out_of_profile"] = stamp.out_of_profile
    return row


def load_stamps(session: Session, ids: Sequence[int]) -> list[tuple[int, Stamp]]:
    """Central stamps of images ``ids`` (those with pixels), by image id."""
    return [(image.image_id, stamp_from_stored(image)) for image in stored_images(session, ids)]


def _predict_with(rows_of: Any) -> Any:
    def predict(model: Any, session: Session, ids: list[int]) -> Rows:
        stamps = load_stamps(session, ids)
        answers = rows_of(model, [s for _, s in stamps])
        return [{"image_id": image_id, **answer}
                for (image_id, _), answer in zip(stamps, answers, strict=True)
                if answer is not None]

    return predict


def _loader(task: str) -> Any:
    def load(settings: Any, version: ModelVersion) -> Any:
        if version.task != task:
            raise ValueError(f"{version.name}@{version.version} is a {version.task} model, "
                             f"not a {task} model")
        return load_keras(settings, version)

    return load


IMAGE = cast(sa.Table, Image.__table__)
SERSIC_TABLE = cast(sa.Table, SersicFit.__table__)
MORPHOLOGY_TABLE = cast(sa.Table, Morphology.__table__)
TASKS["sersic"] = InferenceTask(
    IMAGE, _predict_with(sersic_rows), upsert_rows(SERSIC_TABLE, "image_id"),
    _loader("sersic"), done_table=SERSIC_TABLE, done_key="image_id")
TASKS["morphology"] = InferenceTask(
    IMAGE, _predict_with(morphology_rows), upsert_rows(MORPHOLOGY_TABLE, "image_id"),
    _loader("morphology"), done_table=MORPHOLOGY_TABLE, done_key="image_id")
