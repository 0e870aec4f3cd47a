"""H I optical depth of absorbers: Voigt profiles of the Lyman series plus the Lyman limit.

τ(λ) = N σ(λ) with σ = (π e²/m_e c) f H(a, u) / (√π Δν_D), Δν_D = b/λ₀,
a = Γ/(4π Δν_D), u = (c/b)(λ₀/λ_rest − 1) and H(a, u) = Re w(u + i a)
(Faddeeva function, :func:`scipy.special.wofz`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import wofz

from .constants import (
    BOSS_DLOGLAM,
    LYMAN_LIMIT_AA,
    LYMAN_LIMIT_CROSS_SECTION_CM2,
    PI_E2_OVER_ME_C_CM2_HZ,
    SPEED_OF_LIGHT_CMS,
    SPEED_OF_LIGHT_KMS,
    Transition,
    lyman_series,
)

DEFAULT_LINES: tuple[Transition, ...] = lyman_series(31)
# Wings are followed until τ drops below this, and never beyond |Δλ/λ₀| = _MAX_WING_FRACTION.
_TAU_WING_MIN = 1.0e-3
_MAX_WING_FRACTION = 0.5


def voigt_h(a: np.ndarray | float, u: np.ndarray | float) -> np.ndarray:
    """Voigt–Hjerting function H(a, u) = Re w(u + i a) (dimensionless)."""
    return np.asarray(wofz(np.asarray(u) + 1j * np.asarray(a)).real)


def _line_constants(line: Transition, b_kms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Damping parameter a and σ₀ = σ/H (cm²) for Doppler parameter(s) b (km/s)."""
    lambda0_cm = line.wavelength_aa * 1e-8
    b_cms = np.asarray(b_kms, dtype=np.float64) * 1e5
    doppler_hz = b_cms / lambda0_cm
    a = line.gamma_per_s / (4.0 * np.pi * doppler_hz)
    sigma_scale_cm2 = PI_E2_OVER_ME_C_CM2_HZ * line.f / (np.sqrt(np.pi) * doppler_hz)
    return a, sigma_scale_cm2


def line_optical_depth(
    wavelength_rest_aa: np.ndarray, log_nhi: float, b_kms: float, line: Transition
) -> np.ndarray:
    """Optical depth of one Lyman line at absorber rest-frame wavelengths (Å)."""
    a, sigma_scale = _line_constants(line, np.asarray(b_kms))
    u = (SPEED_OF_LIGHT_CMS / (b_kms * 1e5)) * (
        line.wavelength_aa / np.asarray(wavelength_rest_aa, dtype=np.float64) - 1.0
    )
    return np.asarray(10.0**log_nhi * sigma_scale * voigt_h(a, u))


def lyman_limit_optical_depth(wavelength_rest_aa: np.ndarray, log_nhi: float) -> np.ndarray:
    """Photo-ionisation optical depth below 911.76 Å (rest), σ ∝ (λ/λ_LL)³."""
    lam = np.asarray(wavelength_rest_aa, dtype=np.float64)
    tau = 10.0**log_nhi * LYMAN_LIMIT_CROSS_SECTION_CM2 * (lam / LYMAN_LIMIT_AA) ** 3
    return np.where(lam < LYMAN_LIMIT_AA, tau, 0.0)


def absorber_optical_depth(
    wavelength_obs_aa: np.ndarray,
    z_abs: float,
    log_nhi: float,
    b_kms: float = 20.0,
    lines: Sequence[Transition] = DEFAULT_LINES,
    lyman_limit: bool = True,
) -> np.ndarray:
    """Total H I optical depth of one absorber on an observed wavelength grid (Å).

    Straightforward reference implementation (every line on every pixel); the mock
    generator uses :func:`optical_depth_on_boss_grid`, which must agree with it.
    """
    lam_rest = np.asarray(wavelength_obs_aa, dtype=np.float64) / (1.0 + z_abs)
    tau = np.zeros_like(lam_rest)
    for line in lines:
        tau += line_optical_depth(lam_rest, log_nhi, b_kms, line)
    if lyman_limit:
        tau += lyman_limit_optical_depth(lam_rest, log_nhi)
    return tau


def _wing_half_width_u(log_nhi: np.ndarray, b_kms: np.ndarray, line: Transition) -> np.ndarray:
    """|u| beyond which the Lorentzian wing τ ≈ N σ₀ a/(√π u²) falls below _TAU_WING_MIN."""
    a, sigma_scale = _line_constants(line, b_kms)
    tau_scale = 10.0**log_nhi * sigma_scale * a / np.sqrt(np.pi)
    return np.maximum(np.sqrt(tau_scale / _TAU_WING_MIN), 6.0)


def optical_depth_on_boss_grid(
    pixel_first: int,
    n_pixels: int,
    row: np.ndarray,
    z_abs: np.ndarray,
    log_nhi: np.ndarray,
    b_kms: np.ndarray,
    n_rows: int,
    lines: Sequence[Transition] = DEFAULT_LINES,
    lyman_limit: bool = True,
) -> np.ndarray:
    """Optical depth of many absorbers on the BOSS grid, shape (n_rows, n_pixels).

    Grid pixel j has log10(λ/Å) = (pixel_first + j)·1e-4. Absorber i lies in row
    ``row[i]``. Every (absorber, line) pair is evaluated only over the pixels where
    its profile exceeds τ = 1e-3, all pairs at once as one ragged vector.
    """
    row = np.asarray(row, dtype=np.int64)
    z_abs = np.asarray(z_abs, dtype=np.float64)
    log_nhi = np.asarray(log_nhi, dtype=np.float64)
    b_kms = np.asarray(b_kms, dtype=np.float64)
    tau = np.zeros(n_rows * n_pixels, dtype=np.float64)
    if row.size == 0:
        return tau.reshape(n_rows, n_pixels)

    seg_row, seg_start, seg_len, seg_line, seg_abs = [], [], [], [], []
    for k, line in enumerate(lines):
        u_max = _wing_half_width_u(log_nhi, b_kms, line)
        frac = np.minimum(u_max * b_kms / SPEED_OF_LIGHT_KMS, _MAX_WING_FRACTION)
        lam_obs_centre = line.wavelength_aa * (1.0 + z_abs)
        lo = np.floor(np.log10(lam_obs_centre * (1.0 - frac)) / BOSS_DLOGLAM) - pixel_first
        hi = np.ceil(np.log10(lam_obs_centre * (1.0 + frac)) / BOSS_DLOGLAM) - pixel_first
        lo = np.clip(lo, 0, n_pixels).astype(np.int64)
        hi = np.clip(hi + 1, 0, n_pixels).astype(np.int64)
        seg_row.append(row)
        seg_start.append(lo)
        seg_len.append(hi - lo)
        seg_line.append(np.full(row.size, k))
        seg_abs.append(np.arange(row.size))
    starts = np.concatenate(seg_start)
    lengths = np.concatenate(seg_len)
    rows = np.concatenate(seg_row)
    line_idx = np.concatenate(seg_line)
    abs_idx = np.concatenate(seg_abs)

    total = int(lengths.sum())
    if total:
        seg_of = np.repeat(np.arange(lengths.size), lengths)
        seg_offsets = np.cumsum(lengths) - lengths
        pix = starts[seg_of] + (np.arange(total) - seg_offsets[seg_of])
        lam_obs = 10.0 ** ((pixel_first + pix) * BOSS_DLOGLAM)
        line_lambda0 = np.array([ln.wavelength_aa for ln in lines])
        line_f = np.array([ln.f for ln in lines])
        line_gamma = np.array([ln.gamma_per_s for ln in lines])
        i_abs = abs_idx[seg_of]
        i_line = line_idx[seg_of]
        lambda0 = line_lambda0[i_line]
        b_cms = b_kms[i_abs] * 1e5
        doppler_hz = b_cms / (lambda0 * 1e-8)
        a = line_gamma[i_line] / (4.0 * np.pi * doppler_hz)
        sigma_scale = PI_E2_OVER_ME_C_CM2_HZ * line_f[i_line] / (np.sqrt(np.pi) * doppler_hz)
        lam_rest = lam_obs / (1.0 + z_abs[i_abs])
        u = (SPEED_OF_LIGHT_CMS / b_cms) * (lambda0 / lam_rest - 1.0)
        contrib = 10.0 ** log_nhi[i_abs] * sigma_scale * voigt_h(a, u)
        flat = rows[seg_of] * n_pixels + pix
        tau += np.bincount(flat, weights=contrib, minlength=n_rows * n_pixels)

    tau2d = tau.reshape(n_rows, n_pixels)
    if lyman_limit:
        tau2d += _lyman_limit_on_grid(pixel_first, n_pixels, row, z_abs, log_nhi, n_rows)
    return tau2d


def _lyman_limit_on_grid(
    pixel_first: int,
    n_pixels: int,
    row: np.ndarray,
    z_abs: np.ndarray,
    log_nhi: np.ndarray,
    n_rows: int,
) -> np.ndarray:
    """Σ_i N_i σ_LL (λ/λ_LL,i)³ over absorbers whose limit λ_LL,i = 911.76(1+z_i) lies above λ.

    The sum is a reverse cumulative sum of N_i/(1+z_i)³ placed at each limit's pixel.
    """
    lam_grid = 10.0 ** ((pixel_first + np.arange(n_pixels)) * BOSS_DLOGLAM)
    limit = LYMAN_LIMIT_AA * (1.0 + z_abs)
    first_unabsorbed = np.searchsorted(lam_grid, limit, side="left")
    weight = 10.0**log_nhi / (1.0 + z_abs) ** 3
    placed = np.zeros((n_rows, n_pixels + 1))
    np.add.at(placed, (row, first_unabsorbed), weight)
    below = np.cumsum(placed[:, ::-1], axis=1)[:, ::-1][:, 1:]
    return np.asarray(below * LYMAN_LIMIT_CROSS_SECTION_CM2 * (lam_grid / LYMAN_LIMIT_AA) ** 3)
