"""Images as the galaxy networks read them: one single-band :class:`Stamp` per image
(the last channel of a multi-band cutout, the mean of a PNG/JPEG's RGB) with the
reasons :func:`galcat.models.galaxy.profile.check_profile` finds for it to be outside
the imaging profile, the network input arrays, and the networks' answers as rows
(``out_of_profile`` set on each). Keras is imported only inside the prediction functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from galcat.models.galaxy.preprocess import estimate_sky_sigma
from galcat.models.galaxy.profile import HST_F160W_64, check_profile, crop_or_pad
from galcat.vocabulary import MORPHOLOGY_COLUMNS, SERSIC_COLUMNS, SERSIC_PARAMETERS

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
