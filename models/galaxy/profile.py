"""The imaging profile the shipped galaxy models were trained for.

A network trained on one kind of image answers garbage on another without
saying so. :data:`HST_F160W_64` writes down what "one kind of image" means for
galcat's galaxy models, and :func:`check_profile` lists every way an input
departs from it, so that a caller can refuse or flag the input.

Conventions (GALFIT's, so that fits and catalogues compare directly)
------------------------------------------------------------------
* Pixels are fluxes such that ``mag_AB = MAGZERO - 2.5 log10(sum of pixels)``.
* Arrays are ``image[y, x]`` in FITS orientation: row 0 is the *bottom* row,
  ``+y`` is north, ``+x`` is west (RA increases to the left).
* Pixel centres sit at integer coordinates, 0-indexed (GALFIT/FITS pixel
  ``i`` is our ``i - 1``). ``x0, y0`` are in these coordinates.
* ``r_eff`` is the half-light radius along the major axis; ``q = b/a``;
  ``pa_deg`` is the major-axis position angle in degrees east of north, i.e.
  counter-clockwise from ``+y``, in ``[0, 180)``.
* Magnitudes are total, integrated to infinity (not within the stamp).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

ZERO_POINT_KEYS = ("MAGZERO", "MAGZPT", "PHOTZP", "MAGZP")
PIXEL_SCALE_KEY = "PIXSCALE"


@dataclass(frozen=True)
class ImagingProfile:
    """Imaging conditions and parameter ranges a galaxy model was trained on.

    Ranges are closed intervals ``(low, high)``.
    """

    name: str = "hst-wfc3-f160w-64"
    band: str = "HST WFC3/IR F160W"
    size_px: int = 64
    pixel_scale_arcsec: float = 0.06
    pixel_scale_tolerance: float = 0.02
    magzero_default: float = 25.94
    psf_fwhm_arcsec: tuple[float, float] = (0.14, 0.22)
    sb_limit_mag_arcsec2: tuple[float, float] = (25.0, 27.0)
    mag: tuple[float, float] = (19.0, 24.5)
    r_eff_arcsec: tuple[float, float] = (0.1, 1.5)
    sersic_n: tuple[float, float] = (0.5, 6.0)
    axis_ratio: tuple[float, float] = (0.2, 1.0)
    centre_offset_px: float = 1.5

    @property
    def pixel_area_arcsec2(self) -> float:
        return self.pixel_scale_arcsec**2

    def sky_sigma(self, sb_limit_mag_arcsec2: float | np.ndarray,
                  zero_point: float | None = None) -> float | np.ndarray:
        """Per-pixel noise sigma (flux units) whose 1σ surface brightness is the given limit."""
        zp = self.magzero_default if zero_point is None else zero_point
        return self.pixel_area_arcsec2 * 10.0 ** (-0.4 * (np.asarray(sb_limit_mag_arcsec2) - zp))

    def sb_limit(self, sky_sigma: float | np.ndarray,
                 zero_point: float | None = None) -> float | np.ndarray:
        """1σ per-pixel surface-brightness limit (mag/arcsec²) of a noise sigma (flux units)."""
        zp = self.magzero_default if zero_point is None else zero_point
        return zp - 2.5 * np.log10(np.asarray(sky_sigma) / self.pixel_area_arcsec2)

    def centre_px(self) -> tuple[float, float]:
        """The nominal galaxy centre ``(x0, y0)`` of a profile stamp, in pixels."""
        c = (self.size_px - 1) / 2.0
        return c, c


HST_F160W_64 = ImagingProfile()


def _lookup(meta: Mapping[str, Any], key: str) -> Any:
    for k, v in meta.items():
        if str(k).upper() == key:
            return v
    return None


def _as_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _in(value: float, interval: tuple[float, float]) -> bool:
    return interval[0] <= value <= interval[1]


def check_profile(meta: Mapping[str, Any], profile: ImagingProfile = HST_F160W_64) -> list[str]:
    """Reasons why an image with header-like ``meta`` is outside ``profile`` (empty: in profile).

    ``meta`` is any mapping with FITS-style keys (case-insensitive), e.g. an
    ``astropy.io.fits.Header`` or a dict. Keys read: one of ``MAGZERO``,
    ``MAGZPT``, ``PHOTZP``, ``MAGZP`` (AB zero point); ``PSF_FWHM`` (arcsec);
    ``SKYSIG`` (per-pixel sigma, flux units) or ``HAS_RMS`` (true when a
    per-pixel RMS map comes with the image); ``PIXSCALE`` (arcsec/pixel, as
    derived from the WCS); ``NAXIS1``/``NAXIS2``. Other sizes are not a reason:
    they are centre-cropped or padded (:func:`crop_or_pad`).
    """
    reasons: list[str] = []
    zp = next((_as_float(_lookup(meta, k)) for k in ZERO_POINT_KEYS
               if _as_float(_lookup(meta, k)) is not None), None)
    if zp is None:
        reasons.append(
            f"no AB zero point ({'/'.join(ZERO_POINT_KEYS)}): magnitudes would assume "
            f"{profile.magzero_default}; set MAGZERO"
        )

    fwhm = _as_float(_lookup(meta, "PSF_FWHM"))
    if fwhm is None:
        reasons.append("no PSF_FWHM (arcsec) in the header")
    elif not _in(fwhm, profile.psf_fwhm_arcsec):
        lo, hi = profile.psf_fwhm_arcsec
        reasons.append(f"PSF_FWHM={fwhm:.3f} arcsec outside the trained {lo}-{hi} arcsec")

    scale = _as_float(_lookup(meta, PIXEL_SCALE_KEY))
    if scale is None:
        reasons.append("pixel scale unknown (no WCS CD/CDELT): cannot confirm "
                       f"{profile.pixel_scale_arcsec} arcsec/pixel")
    elif abs(scale / profile.pixel_scale_arcsec - 1.0) > profile.pixel_scale_tolerance:
        reasons.append(f"pixel scale {scale:.4f} arcsec/pixel, trained on "
                       f"{profile.pixel_scale_arcsec}; resample first")

    sigma = _as_float(_lookup(meta, "SKYSIG"))
    has_rms = bool(_lookup(meta, "HAS_RMS"))
    if sigma is None and not has_rms:
        reasons.append("no noise level: neither SKYSIG nor an RMS map")
    elif sigma is not None:
        if sigma <= 0:
            reasons.append(f"SKYSIG={sigma} is not positive")
        else:
            sb = float(profile.sb_limit(sigma, zp if zp is not None else None))
            if not _in(sb, profile.sb_limit_mag_arcsec2):
                lo, hi = profile.sb_limit_mag_arcsec2
                reasons.append(f"1-sigma surface-brightness limit {sb:.2f} mag/arcsec^2 "
                               f"outside the trained {lo}-{hi}")
    return reasons


def crop_or_pad(image: np.ndarray, size_px: int = HST_F160W_64.size_px,
                fill: float = 0.0) -> np.ndarray:
    """Centre-crop or pad the last two axes (y, x) of ``image`` to ``size_px``.

    The pixel at the array centre stays at the centre: for odd-to-even size
    changes the extra row/column is taken from (or added to) the high side.
    """
    out = np.asarray(image)
    for axis in (-2, -1):
        n = out.shape[axis]
        if n > size_px:
            start = (n - size_px) // 2
            out = np.take(out, np.arange(start, start + size_px), axis=axis)
        elif n < size_px:
            before = (size_px - n) // 2
            pad = [(0, 0)] * out.ndim
            pad[axis] = (before, size_px - n - before)
            out = np.pad(out, pad, constant_values=fill)
    return out
