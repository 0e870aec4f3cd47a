"""Atomic data and survey constants for the DLA search.

Wavelengths are vacuum, in Å (rest frame). Oscillator strengths ``f`` are absorption
values; damping constants ``gamma_per_s`` in s⁻¹ (Morton 2003 / VPFIT atom.dat).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SPEED_OF_LIGHT_KMS = 299_792.458
SPEED_OF_LIGHT_CMS = 2.99792458e10
# π e² / (m_e c) in cm² Hz: the frequency-integrated cross section per unit f.
PI_E2_OVER_ME_C_CM2_HZ = 0.026540081

LYMAN_LIMIT_AA = 911.7633
# Photo-ionisation cross section of H I at the Lyman limit, cm²; scales as (λ/λ_LL)³.
LYMAN_LIMIT_CROSS_SECTION_CM2 = 6.30e-18


@dataclass(frozen=True)
class Transition:
    """One H I Lyman-series transition from the ground state."""

    name: str
    wavelength_aa: float
    f: float
    gamma_per_s: float


LYA = Transition("Lya", 1215.6701, 0.4164, 6.265e8)
LYB = Transition("Lyb", 1025.7223, 0.07912, 1.897e8)

_TABULATED = (
    LYA,
    LYB,
    Transition("Lyg", 972.5368, 0.02900, 8.127e7),
    Transition("Lyd", 949.7431, 0.01394, 4.204e7),
    Transition("Lye", 937.8035, 0.007799, 2.450e7),
    Transition("Ly6", 930.7483, 0.004814, 1.236e7),
    Transition("Ly7", 926.2257, 0.003183, 8.255e6),
    Transition("Ly8", 923.1504, 0.002216, 5.785e6),
    Transition("Ly9", 920.9631, 0.001605, 4.210e6),
    Transition("Ly10", 919.3514, 0.001201, 3.160e6),
)


def lyman_series(n_max: int = 31) -> tuple[Transition, ...]:
    """Lyman lines 1→n for n = 2 … n_max.

    n ≤ 11 (Lyα … Ly10) are tabulated values; higher members use the Rydberg
    wavelength λ_LL n²/(n²−1) and f, Γ scaled as n⁻³ from Ly10, which is accurate
    to a few per cent and only matters in the saturated series convergence of an
    absorber with log N_HI ≥ 17.
    """
    lines = list(_TABULATED[: max(0, n_max - 1)])
    last = _TABULATED[-1]
    for n in range(len(_TABULATED) + 2, n_max + 1):
        scale = (11.0 / n) ** 3
        lines.append(
            Transition(
                f"Ly{n - 1}",
                LYMAN_LIMIT_AA * n * n / (n * n - 1.0),
                last.f * scale,
                last.gamma_per_s * scale,
            )
        )
    return tuple(lines)


# BOSS/eBOSS coadd grid: log10(λ/Å) on integer multiples of 1e-4 (≈ 69.03 km/s per pixel).
BOSS_DLOGLAM = 1.0e-4
BOSS_PIXEL_KMS = SPEED_OF_LIGHT_KMS * np.log(10.0) * BOSS_DLOGLAM
BOSS_WAVELENGTH_MIN_AA = 3600.0
BOSS_WAVELENGTH_MAX_AA = 10400.0
BOSS_RESOLUTION = 2000.0

# Column-density classes (log10 N_HI / cm⁻²).
LOG_NHI_DLA_MIN = 20.3
LOG_NHI_SUBDLA_MIN = 19.5


def loglam_to_pixel(loglam: np.ndarray | float) -> np.ndarray:
    """Integer index of a log10(λ/Å) value on the global BOSS grid (k = log10 λ / 1e-4)."""
    return np.rint(np.asarray(loglam, dtype=np.float64) / BOSS_DLOGLAM).astype(np.int64)


def pixel_to_loglam(pixel: np.ndarray | int) -> np.ndarray:
    """log10(λ/Å) of a global BOSS grid index."""
    return np.asarray(pixel, dtype=np.float64) * BOSS_DLOGLAM
