"""Lyα forest optical depth: a lognormal field whose mean transmission follows Becker+2013."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy.ndimage import gaussian_filter1d

from .constants import BOSS_DLOGLAM, LYA, LYB


def tau_eff(z: np.ndarray | float) -> np.ndarray:
    """Effective Lyα optical depth −ln⟨F⟩ at redshift z (Becker et al. 2013, eq. 5).

    τ_eff = 0.751 ((1+z)/4.5)^2.90 − 0.132, fitted over 2 < z < 5; floored at 1e-3.
    """
    zz = np.asarray(z, dtype=np.float64)
    return np.maximum(0.751 * ((1.0 + zz) / 4.5) ** 2.90 - 0.132, 1.0e-3)


_Z_TABLE = np.linspace(1.0, 7.0, 241)


@lru_cache(maxsize=8)
def _tau0_table(sigma_g: float) -> np.ndarray:
    """τ₀(z) on _Z_TABLE such that ⟨exp(−τ₀ e^{σg − σ²/2})⟩_g = exp(−τ_eff(z))."""
    nodes, weights = hermegauss(60)
    weights = weights / weights.sum()
    lognormal = np.exp(sigma_g * nodes - 0.5 * sigma_g**2)
    target = np.exp(-tau_eff(_Z_TABLE))
    lo = np.full_like(_Z_TABLE, -12.0)
    hi = np.full_like(_Z_TABLE, 4.0)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        mean_f = np.exp(-(10.0 ** mid[:, None]) * lognormal[None, :]) @ weights
        too_opaque = mean_f < target
        hi = np.where(too_opaque, mid, hi)
        lo = np.where(too_opaque, lo, mid)
    return np.asarray(10.0 ** (0.5 * (lo + hi)))


def forest_optical_depth(
    loglam: np.ndarray,
    z_qso: np.ndarray,
    rng: np.random.Generator,
    sigma_g: float = 1.4,
    correlation_pixels: float = 1.5,
) -> np.ndarray:
    """Lyα + Lyβ forest optical depth, shape (n_sightlines, n_pixels).

    ``loglam`` is the shared log10(λ/Å) grid (BOSS spacing). The Lyα optical depth of
    gas at z = λ/λ_Lyα − 1 is τ₀(z) exp(σ g − σ²/2) with g a unit Gaussian field
    smoothed over ``correlation_pixels``; gas at z ≥ z_qso is absent. The same gas
    absorbs in Lyβ with τ_β = (f_β λ_β)/(f_α λ_α) τ_α at λ λ_β/λ_α.
    """
    z_qso = np.asarray(z_qso, dtype=np.float64)
    n_pix = loglam.size
    z_lya = 10.0**loglam / LYA.wavelength_aa - 1.0
    white = rng.standard_normal((z_qso.size, n_pix))
    field = gaussian_filter1d(white, correlation_pixels, axis=1, mode="wrap")
    delta = np.zeros(4 * int(np.ceil(correlation_pixels)) * 2 + 1)
    delta[delta.size // 2] = 1.0
    field /= np.sqrt(np.sum(gaussian_filter1d(delta, correlation_pixels, mode="constant") ** 2))
    tau0 = np.interp(z_lya, _Z_TABLE, _tau0_table(float(sigma_g)))
    tau_gas = tau0[None, :] * np.exp(sigma_g * field - 0.5 * sigma_g**2)
    tau_gas *= z_lya[None, :] < z_qso[:, None]

    shift = round(float(np.log10(LYA.wavelength_aa / LYB.wavelength_aa)) / BOSS_DLOGLAM)
    ratio = (LYB.f * LYB.wavelength_aa) / (LYA.f * LYA.wavelength_aa)
    tau = tau_gas.copy()
    tau[:, : n_pix - shift] += ratio * tau_gas[:, shift:]
    return tau


@lru_cache(maxsize=8)
def _transmission_moment_table(sigma_g: float, resolution_pixels: float
                               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(z grid, mean, rms) of the forest transmission seen through the line-spread function,
    by Monte Carlo on a fixed seed (Lyα and Lyβ forest both present)."""
    loglam = np.arange(np.ceil(np.log10(3500.0) / BOSS_DLOGLAM),
                       np.floor(np.log10(10500.0) / BOSS_DLOGLAM) + 1) * BOSS_DLOGLAM
    draws = 96
    tau = forest_optical_depth(loglam, np.full(draws, 9.0), np.random.default_rng(20_130),
                               sigma_g=sigma_g)
    flux = gaussian_filter1d(np.exp(-tau), resolution_pixels, axis=1, mode="nearest")
    mean = gaussian_filter1d(flux.mean(axis=0), 40.0, mode="nearest")
    rms = gaussian_filter1d(flux.std(axis=0), 40.0, mode="nearest")
    return 10.0**loglam / LYA.wavelength_aa - 1.0, mean, rms


def transmission_moments(z: np.ndarray | float, sigma_g: float = 1.4,
                         resolution_pixels: float = 1.08) -> tuple[np.ndarray, np.ndarray]:
    """Mean and rms of the forest transmission at Lyα redshift(s) ``z``, at the given
    resolution (Gaussian σ in BOSS pixels): the forest's share of each pixel's variance."""
    grid, mean, rms = _transmission_moment_table(float(sigma_g), float(resolution_pixels))
    zz = np.asarray(z, dtype=np.float64)
    return np.interp(zz, grid, mean), np.interp(zz, grid, rms)


def mean_transmission(lam_obs_aa: np.ndarray, z_qso: float, sigma_g: float = 1.4) -> np.ndarray:
    """Expected forest transmission ⟨e^(−τ)⟩ at observed wavelengths (Å) of a quasar at
    ``z_qso``: Lyα of gas at λ/λ_α − 1 and Lyβ of gas at λ/λ_β − 1, each only where that
    gas lies in front of the quasar (the two treated as independent)."""
    nodes, weights = hermegauss(40)
    weights = weights / weights.sum()
    lognormal = np.exp(sigma_g * nodes - 0.5 * sigma_g**2)
    lam = np.asarray(lam_obs_aa, dtype=np.float64)
    table = _tau0_table(float(sigma_g))
    out = np.ones_like(lam)
    ratio_beta = (LYB.f * LYB.wavelength_aa) / (LYA.f * LYA.wavelength_aa)
    for rest, ratio in ((LYA.wavelength_aa, 1.0), (LYB.wavelength_aa, ratio_beta)):
        z_gas = lam / rest - 1.0
        tau0 = ratio * np.interp(z_gas, _Z_TABLE, table)
        mean = np.exp(-tau0[..., None] * lognormal) @ weights
        out *= np.where(z_gas < z_qso, mean, 1.0)
    return out

