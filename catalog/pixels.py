"""Pixels of spectra and images: how they are stored, and how they are read back.

The only code that knows the blob encodings. Pixels live in tables of their own
(``spectrum_pixels``, ``image_pixels``), so catalogue queries never read them:

- a spectrum: ``loglam`` log10(λ/Å) as little-endian float64, ``flux`` (1e-17 erg s⁻¹
  cm⁻² Å⁻¹) and ``ivar`` as float32, the AND ``mask`` as int32;
- an image: row-major ``image.dtype`` (float32) of shape (H, W) or (H, W, C), its
  1σ ``rms`` in the same shape as float32, and a PSF image as float32.

Ingest writes with :func:`spectrum_pixels_row` and :func:`image_pixels_row`; everything
else reads with :func:`spectrum_arrays`, :func:`best_spectra` (the observation of a
quasar that is searched) and :func:`stored_images`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from galcat.catalog.formats.registry import is_display_image
from galcat.catalog.schema import Image, ImagePixels, Spectrum, SpectrumPixels

K = TypeVar("K", bound=Hashable)


def spectrum_pixels_row(spectrum_id: int, loglam: np.ndarray, flux: np.ndarray,
                        ivar: np.ndarray, and_mask: np.ndarray | None) -> SpectrumPixels:
    """The ``spectrum_pixels`` row of one spectrum."""
    return SpectrumPixels(
        spectrum_id=spectrum_id, loglam=np.asarray(loglam, "<f8").tobytes(),
        flux=np.asarray(flux, "<f4").tobytes(), ivar=np.asarray(ivar, "<f4").tobytes(),
        mask=None if and_mask is None else np.asarray(and_mask, "<i4").tobytes())


def spectrum_arrays(session: Session, spectrum_id: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log10 λ/Å, flux, ivar) of one stored spectrum, flux and ivar as float64."""
    row = session.get(SpectrumPixels, spectrum_id)
    if row is None:
        raise KeyError(f"spectrum {spectrum_id} has no pixels")
    return (np.frombuffer(row.loglam, "<f8"), np.frombuffer(row.flux, "<f4").astype(np.float64),
            np.frombuffer(row.ivar, "<f4").astype(np.float64))


def highest_snr(observations: Sequence[tuple[K, float | None]]) -> dict[K, int]:
    """For each key (a sightline, a THING_ID), the index of its observation with the
    highest median S/N; an unmeasured (None or NaN) S/N ranks lowest, ties keep the first.

    The one rule for which observation of a quasar is searched, by jobs and scans alike.
    """
    def rank(snr: float | None) -> float:
        return float(snr) if snr is not None and math.isfinite(snr) else -math.inf

    best: dict[K, int] = {}
    for i, (key, snr) in enumerate(observations):
        if key not in best or rank(snr) > rank(observations[best[key]][1]):
            best[key] = i
    return best


def best_spectra(session: Session, sightline_ids: Sequence[int]) -> dict[int, int]:
    """For each sightline, the id of its spectrum with the highest median S/N."""
    rows = session.execute(
        sa.select(Spectrum.sightline_id, Spectrum.id, Spectrum.snr_median)
        .where(Spectrum.sightline_id.in_(list(sightline_ids)))
    ).all()
    chosen = highest_snr([(sightline_id, snr) for sightline_id, _, snr in rows])
    return {key: rows[i][1] for key, i in chosen.items()}


def image_pixels_row(image_id: int, pixels: np.ndarray, rms: np.ndarray | None,
                     psf: np.ndarray | None) -> ImagePixels:
    """The ``image_pixels`` row of one image (pixels as float32, ``image.dtype``)."""
    return ImagePixels(
        image_id=image_id, data=np.ascontiguousarray(pixels, np.float32).tobytes(),
        rms=None if rms is None else np.ascontiguousarray(rms, np.float32).tobytes(),
        psf=None if psf is None else np.ascontiguousarray(psf, np.float32).tobytes())


@dataclass(frozen=True)
class StoredImage:
    """One stored image with what the networks need to read it.

    ``pixels`` (H, W) or (H, W, C) in flux units (scaled colours for a display image),
    ``rms`` its 1σ noise or None; ``zero_point_mag`` (AB), ``psf_fwhm_arcsec``,
    ``sky_sigma`` (flux units) and ``pixel_scale_arcsec`` as recorded, None when unknown.
    """

    image_id: int
    pixels: np.ndarray
    rms: np.ndarray | None
    zero_point_mag: float | None
    psf_fwhm_arcsec: float | None
    sky_sigma: float | None
    pixel_scale_arcsec: float | None
    display_image: bool


def stored_images(session: Session, ids: Sequence[int], batch: int = 64) -> list[StoredImage]:
    """Images ``ids`` that have pixels, by id, reading ``batch`` blobs at a time."""
    out: list[StoredImage] = []
    for start in range(0, len(ids), batch):
        rows = session.execute(
            sa.select(Image, ImagePixels.data, ImagePixels.rms)
            .join(ImagePixels, ImagePixels.image_id == Image.id)
            .where(Image.id.in_(list(ids[start:start + batch]))).order_by(Image.id)
        ).all()
        out += [_stored(r.Image, r.data, r.rms) for r in rows]
    return out


def _stored(image: Image, data: bytes, rms: bytes | None) -> StoredImage:
    shape: tuple[int, ...] = (image.height, image.width)
    if image.channels > 1:
        shape = (*shape, image.channels)
    pixels = np.frombuffer(data, dtype=np.dtype(image.dtype)).reshape(shape)
    noise = None if rms is None else np.frombuffer(rms, dtype=np.float32).reshape(shape)
    extra = image.extra or {}
    return StoredImage(int(image.id), pixels, noise, image.zero_point_mag, image.psf_fwhm_arcsec,
                       image.sky_sigma, image.pixel_scale_arcsec,
                       is_display_image(str(extra.get("format", "")) or "fits"))
