"""Redshift ↔ comoving distance in h⁻¹ Mpc, and sky positions to comoving Cartesian
coordinates, for the cosmology every environment measure shares (Planck18 by default)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

C_KM_S = 299_792.458
"""Speed of light in km/s."""

DEFAULT_COSMOLOGY = "Planck18"
_Z_GRID_MAX = 10.0
_Z_GRID_SIZE = 20_001


@lru_cache(maxsize=8)
def _distance_table(name: str) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
    """Redshift grid, comoving distance on it (h⁻¹ Mpc), and h."""
    from astropy import cosmology

    cosmo = getattr(cosmology, name)
    z = np.linspace(0.0, _Z_GRID_MAX, _Z_GRID_SIZE)
    h = float(cosmo.H0.value) / 100.0
    distance = np.asarray(cosmo.comoving_distance(z).value) * h
    return z, distance, h


def comoving_distance(z: ArrayLike, cosmology: str = DEFAULT_COSMOLOGY) -> NDArray[np.float64]:
    """Line-of-sight comoving distance in h⁻¹ Mpc at redshift ``z`` (0 ≤ z ≤ 10)."""
    grid, distance, _ = _distance_table(cosmology)
    return np.interp(np.asarray(z, dtype=float), grid, distance)


def redshift_at_distance(distance_mpc_h: ArrayLike,
                         cosmology: str = DEFAULT_COSMOLOGY) -> NDArray[np.float64]:
    """Redshift at a line-of-sight comoving distance in h⁻¹ Mpc (inverse of the above)."""
    grid, distance, _ = _distance_table(cosmology)
    return np.interp(np.asarray(distance_mpc_h, dtype=float), distance, grid)


def hubble_distance_ratio(z: ArrayLike, cosmology: str = DEFAULT_COSMOLOGY) -> NDArray[np.float64]:
    """dχ/dz in h⁻¹ Mpc: the comoving depth of a unit redshift interval, c / H(z) · h."""
    from astropy import cosmology as cosmologies

    cosmo = getattr(cosmologies, cosmology)
    z = np.asarray(z, dtype=float)
    return C_KM_S / (100.0 * np.asarray(cosmo.efunc(z)))


def unit_vectors(ra_deg: ArrayLike, dec_deg: ArrayLike) -> NDArray[np.float64]:
    """Unit vectors (N, 3) towards sky positions in degrees."""
    ra = np.radians(np.asarray(ra_deg, dtype=float))
    dec = np.radians(np.asarray(dec_deg, dtype=float))
    cos_dec = np.cos(dec)
    return np.stack([cos_dec * np.cos(ra), cos_dec * np.sin(ra), np.sin(dec)], axis=-1)


def sky_to_cartesian(ra_deg: ArrayLike, dec_deg: ArrayLike, z: ArrayLike,
                     cosmology: str = DEFAULT_COSMOLOGY) -> NDArray[np.float64]:
    """Comoving Cartesian positions (N, 3) in h⁻¹ Mpc of sky positions at redshift ``z``."""
    return comoving_distance(z, cosmology)[..., None] * unit_vectors(ra_deg, dec_deg)
