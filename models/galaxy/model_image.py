"""A catalogued single-Sérsic model drawn on its own image, so that a person can check it.

The model is rendered from the catalogued parameters alone (GALFIT conventions, see
:mod:`models.galaxy.profile`) with the mocks' and the fitter's renderer
(:func:`models.galaxy.render.render_scene`), through a Gaussian PSF of the FWHM the
networks read the image with. The catalogue stores no centre: the model sits at the
light-weighted centroid of the stamp (:func:`light_centre`), kept within
``centre_offset_px`` of the stamp's centre (how far off centre the networks' training
galaxies were).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from galcat.models.galaxy.fitter import initial_guess
from galcat.models.galaxy.profile import HST_F160W_64, ImagingProfile
from galcat.models.galaxy.render import SersicComponent, render_scene
from galcat.models.galaxy.sersic import mag_to_flux


@dataclass(frozen=True)
class SersicModelImage:
    """Image, model and residual (image − model), flux units, FITS orientation; the
    model's centre (pixels) and what it was drawn with."""

    image: np.ndarray
    model: np.ndarray
    residual: np.ndarray
    x0: float
    y0: float
    zero_point: float
    psf_fwhm_arcsec: float
    pixel_scale_arcsec: float


def light_centre(image: np.ndarray, sky_sigma: float | None, max_offset_px: float,
                 window_sigma_px: float = 1.5, passes: int = 10) -> tuple[float, float]:
    """The light-weighted centroid (x, y pixels), within ``max_offset_px`` of the stamp
    centre: first of the pixels above 2σ, then ``passes`` times weighted by a Gaussian of
    ``window_sigma_px`` around the last centroid, whose fixed point is the centre of any
    symmetric profile."""
    cx, cy = (image.shape[1] - 1) / 2.0, (image.shape[0] - 1) / 2.0
    x0, y0 = (float(v) for v in initial_guess(image, sky_sigma)[:2])
    yy, xx = np.mgrid[0:image.shape[0], 0:image.shape[1]]
    for _ in range(passes):
        x0, y0 = _within(x0, y0, cx, cy, max_offset_px)
        weight = np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * window_sigma_px**2)) * image
        if weight.sum() <= 0:
            break
        x0, y0 = float((weight * xx).sum() / weight.sum()), float((weight * yy).sum()
                                                                  / weight.sum())
    return _within(x0, y0, cx, cy, max_offset_px)


def _within(x: float, y: float, cx: float, cy: float, radius: float) -> tuple[float, float]:
    offset = float(np.hypot(x - cx, y - cy))
    if offset <= radius:
        return x, y
    return cx + (x - cx) * radius / offset, cy + (y - cy) * radius / offset


def sersic_model_image(image: np.ndarray, *, mag: float, r_eff_arcsec: float,
                       sersic_n: float, axis_ratio: float, pa_deg: float, zero_point: float,
                       psf_fwhm_arcsec: float, sky_sigma: float | None,
                       profile: ImagingProfile = HST_F160W_64,
                       rel_tol: float = 3e-4) -> SersicModelImage:
    """The catalogued Sérsic model (AB ``mag``, ``r_eff_arcsec`` along the major axis,
    ``sersic_n``, ``axis_ratio`` b/a, ``pa_deg`` east of north) on ``image`` (flux units
    at ``zero_point``, the profile's pixel scale), seen through a Gaussian PSF of
    ``psf_fwhm_arcsec``. Raises ValueError for parameters no profile has (r_eff or n
    not positive, b/a outside (0, 1])."""
    data = np.asarray(image, dtype=np.float64)
    scale = profile.pixel_scale_arcsec
    x0, y0 = light_centre(data, sky_sigma, profile.centre_offset_px)
    component = SersicComponent(x0, y0, float(mag_to_flux(mag, zero_point)),
                                r_eff_arcsec / scale, sersic_n, axis_ratio, pa_deg)
    model = render_scene((data.shape[0], data.shape[1]), [component],
                         psf_fwhm_px=psf_fwhm_arcsec / scale, rel_tol=rel_tol)
    return SersicModelImage(data, model, data - model, x0, y0, zero_point, psf_fwhm_arcsec,
                            scale)
