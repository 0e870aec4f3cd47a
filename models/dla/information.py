"""How precisely any unbiased estimator could measure one absorber's log N_HI and z from
one spectrum: the Cramér–Rao bound, the inverse of the Fisher information.

The expected flux is F(N, z) = L[U · e^(−τ(N, z))] · T̄, with U the spectrum without this
absorber and its forest (continuum × the other absorbers), L the instrumental smoothing
and T̄ the mean forest transmission. The noise variance per pixel is the photon term
plus, optionally, the forest's own variance (L[U e^(−τ)])² · var(T), treated as
independent Gaussian noise: real forest pixels are correlated and carry less
information than that, so the bound is optimistic. Optionally the continuum is free:
a polynomial in x = ln(λ/λ_abs) of ``continuum_terms`` coefficients multiplies F.
Only pixels with |x| < ``half_width`` count.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .constants import LYA
from .voigt import optical_depth_on_boss_grid

_D_LOG_NHI = 1e-3
_D_Z = 1e-5


def absorber_flux(loglam: np.ndarray, pixel_first: int, unabsorbed: np.ndarray,
                  forest_mean: np.ndarray, resolution_pixels: float, z_abs: float,
                  log_nhi: float, b_kms: float) -> np.ndarray:
    """Expected flux (units of ``unabsorbed``) with the absorber at (z_abs, log N_HI / cm⁻²)."""
    tau = optical_depth_on_boss_grid(pixel_first, loglam.size, np.zeros(1, np.int64),
                                     np.array([z_abs]), np.array([log_nhi]),
                                     np.array([b_kms]), 1)[0]
    return np.asarray(gaussian_filter1d(unabsorbed * np.exp(-tau), resolution_pixels,
                                        mode="nearest") * forest_mean)


def absorber_precision_bounds(
    loglam: np.ndarray,
    pixel_first: int,
    unabsorbed: np.ndarray,
    forest_mean: np.ndarray,
    photon_sigma: np.ndarray,
    resolution_pixels: float,
    z_abs: float,
    log_nhi: float,
    cases: Sequence[tuple[np.ndarray, int]],
    b_kms: float = 25.0,
    half_width: float = 0.08,
) -> list[tuple[float, float]]:
    """(σ log N_HI in dex, σ z) that no unbiased estimator can beat, z and log N_HI (and the
    continuum coefficients) being estimated together, for each case (forest variance per
    pixel, number of free continuum terms). The profile derivatives are computed once."""
    def flux(dn: float = 0.0, dz: float = 0.0) -> np.ndarray:
        return absorber_flux(loglam, pixel_first, unabsorbed, forest_mean, resolution_pixels,
                             z_abs + dz, log_nhi + dn, b_kms)

    bare = absorber_flux(loglam, pixel_first, unabsorbed, np.ones_like(forest_mean),
                         resolution_pixels, z_abs, log_nhi, b_kms)
    x = np.log(10.0**loglam / (LYA.wavelength_aa * (1.0 + z_abs)))
    near = np.abs(x) < half_width
    x, bare, f0 = x[near], bare[near], (bare * forest_mean)[near]
    derivatives = [(flux(_D_LOG_NHI) - flux(-_D_LOG_NHI))[near] / (2 * _D_LOG_NHI),
                   (flux(0.0, _D_Z) - flux(0.0, -_D_Z))[near] / (2 * _D_Z)]
    bounds = []
    for forest_var, continuum_terms in cases:
        design = np.array(derivatives + [f0 * x**p for p in range(continuum_terms)])
        variance = photon_sigma[near] ** 2 + bare**2 * forest_var[near]
        covariance = np.linalg.inv((design / variance) @ design.T)
        bounds.append((float(np.sqrt(covariance[0, 0])), float(np.sqrt(covariance[1, 1]))))
    return bounds
