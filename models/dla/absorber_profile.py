"""A catalogued absorber drawn on its own spectrum, so that a person can check it by eye.

Nothing is fitted but a continuum: for the catalogued (z, log N_HI) the flux near one
of the absorber's Lyman lines is the Voigt refinement's model (:mod:`models.dla.refine`)

    F(λ) = C(x) · T̄(λ) · L[exp(−τ(λ; N, z, b) − τ_others(λ))],   x = ln(λ / λ_line(1+z)),

with every Lyman line and the Lyman limit of the absorber in τ (so Lyβ's region shows
Lyβ at the same z), the sightline's other absorbers in τ_others, T̄ the forest's mean
transmission, L the line-spread function and C a polynomial in x solved by weighted
least squares; forest pixels absorbed more than ``mask_sigma`` below the model are
dropped, ``mask_passes`` times, and pixels on the quasar's Lyα emission are left out,
as in the refinement. b and the region widths are the refinement's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .constants import BOSS_DLOGLAM, LYA, Transition
from .forest import mean_transmission, transmission_moments
from .preprocess import snap_to_boss_grid
from .refine import RefineConfig, lya_half_width
from .voigt import absorber_optical_depth


@dataclass(frozen=True)
class LineRegion:
    """One Lyman line of an absorber on the spectrum: observed wavelength (Å), flux and
    its 1σ error (NaN where there is no data, flux units of the spectrum), the model at
    the catalogued log N_HI, at log N_HI − 1σ (``model_low``) and + 1σ (``model_high``;
    both None without an error), the continuum C·T̄ (with the other absorbers'
    absorption), and which pixels the continuum was solved on."""

    line: Transition
    wavelength_aa: np.ndarray
    flux: np.ndarray
    error: np.ndarray
    model: np.ndarray
    model_low: np.ndarray | None
    model_high: np.ndarray | None
    continuum: np.ndarray
    fitted: np.ndarray


def line_centre_aa(line: Transition, z_abs: float) -> float:
    """Observed wavelength (Å) of ``line`` at redshift ``z_abs``."""
    return line.wavelength_aa * (1.0 + z_abs)


def line_region(loglam: np.ndarray, flux: np.ndarray, ivar: np.ndarray, z_qso: float,
                z_abs: float, log_nhi: float, log_nhi_err: float | None = None,
                line: Transition = LYA, others: Sequence[tuple[float, float]] = (),
                config: RefineConfig = RefineConfig()) -> LineRegion | None:
    """The region of ``line`` of the absorber (z_abs, log_nhi) on one spectrum (log10 λ/Å,
    flux, ivar), or None when fewer than ``config.min_pixels`` pixels there hold data.

    ``others``: (z, log N_HI) of the sightline's other absorbers. The region is the
    refinement's: half-width :func:`lya_half_width` in ln λ for Lyα, at most
    ``config.other_lines_max_half_width`` for the other lines.
    """
    pixel, flux_g, ivar_g = snap_to_boss_grid(loglam, flux, ivar)
    half_width = lya_half_width(log_nhi, config)
    if line != LYA:
        half_width = min(half_width, config.other_lines_max_half_width)
    centre = np.log10(line_centre_aa(line, z_abs)) / BOSS_DLOGLAM
    half = half_width / (np.log(10.0) * BOSS_DLOGLAM)
    inside = (pixel >= centre - half) & (pixel <= centre + half)
    lam = 10.0 ** (pixel * BOSS_DLOGLAM)
    edge = LYA.wavelength_aa * (1.0 + z_qso) * np.exp(-config.emission_margin)
    usable = inside & (ivar_g > 0) & (lam < edge)
    if usable.sum() < config.min_pixels:
        return None
    pad = int(np.ceil(5 * config.resolution_pixels))
    idx = np.nonzero(inside)[0]
    span = np.arange(max(idx[0] - pad, 0), min(idx[-1] + pad + 1, pixel.size))
    keep = inside[span]
    lam_s = lam[span]

    tau_others = np.zeros(span.size)
    for z_other, n_other in others:
        tau_others += absorber_optical_depth(lam_s, z_other, n_other, config.b_kms)

    def transmission(n_hi: float | None) -> np.ndarray:
        tau = tau_others if n_hi is None else (
            tau_others + absorber_optical_depth(lam_s, z_abs, n_hi, config.b_kms))
        smooth = gaussian_filter1d(np.exp(-tau), config.resolution_pixels, mode="nearest")
        return np.asarray(smooth[keep])

    lam_r = lam_s[keep]
    x = np.log(lam_r / line_centre_aa(line, z_abs)) / half_width
    terms = config.continuum_terms if line == LYA else 2
    basis = np.stack([x**p for p in range(terms)], axis=1)
    basis *= mean_transmission(lam_r, z_qso, config.forest_sigma_g)[:, None]
    shape = transmission(log_nhi)
    data, inverse = flux_g[span][keep], ivar_g[span][keep]
    photon_var = np.zeros_like(inverse)
    np.divide(1.0, inverse, out=photon_var, where=inverse > 0)
    z_pixel = lam_r / LYA.wavelength_aa - 1.0
    mean, rms = transmission_moments(z_pixel, config.forest_sigma_g, config.resolution_pixels)
    forest_rms = np.where(z_pixel < z_qso, rms / mean, 0.0)
    fitted = usable[span][keep]
    coefficients = _solve(shape[:, None] * basis, data, photon_var, fitted)
    for _ in range(config.mask_passes):
        model = shape * (basis @ coefficients)
        variance = photon_var + config.forest_variance_scale * (
            forest_rms * np.clip(model, 0.0, None)) ** 2
        pulls = (data - model) / np.sqrt(np.where(photon_var > 0, variance, np.inf))
        fitted = usable[span][keep] & (pulls >= -config.mask_sigma)
        coefficients = _solve(shape[:, None] * basis, data, variance, fitted)
    continuum = basis @ coefficients

    def at(n_hi: float) -> np.ndarray:
        return transmission(n_hi) * continuum

    spread = log_nhi_err if log_nhi_err and np.isfinite(log_nhi_err) and log_nhi_err > 0 \
        else None
    has_data = photon_var > 0
    return LineRegion(
        line, lam_r, np.where(has_data, data, np.nan),
        np.where(has_data, np.sqrt(photon_var), np.nan), at(log_nhi),
        None if spread is None else at(log_nhi - spread),
        None if spread is None else at(log_nhi + spread),
        continuum * transmission(None), fitted)


def _solve(design: np.ndarray, data: np.ndarray, variance: np.ndarray,
           use: np.ndarray) -> np.ndarray:
    weight = np.zeros_like(variance)
    np.divide(1.0, np.sqrt(variance), out=weight, where=use & (variance > 0))
    coefficients, *_ = np.linalg.lstsq(design * weight[:, None], data * weight, rcond=None)
    return np.asarray(coefficients)
