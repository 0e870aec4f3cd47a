"""The H I optical depths behind the mocks: units, limits and the fast grid evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from galcat.models.dla.constants import (
    LYA,
    LYMAN_LIMIT_AA,
    PI_E2_OVER_ME_C_CM2_HZ,
    SPEED_OF_LIGHT_CMS,
)
from galcat.models.dla.mock import boss_grid
from galcat.models.dla.voigt import (
    absorber_optical_depth,
    line_optical_depth,
    lyman_limit_optical_depth,
    optical_depth_on_boss_grid,
    voigt_h,
)


def test_voigt_h_tends_to_gaussian_and_integrates_to_root_pi() -> None:
    u = np.linspace(-30, 30, 600_001)
    assert voigt_h(1e-9, 0.7) == pytest.approx(np.exp(-0.49), rel=1e-6)
    assert np.trapezoid(voigt_h(0.01, u), u) == pytest.approx(np.sqrt(np.pi), rel=2e-3)


@pytest.mark.parametrize("log_nhi", [20.3, 21.0, 22.0])
def test_damped_lya_equivalent_width_matches_the_square_root_law(log_nhi: float) -> None:
    """Damped regime: W = sqrt(N (πe²/m_e c) f Γ λ₀⁴ / (π c²)), e.g. 23.1 Å at 10^21 cm⁻²."""
    lam = np.linspace(LYA.wavelength_aa - 600, LYA.wavelength_aa + 600, 400_001)
    tau = line_optical_depth(lam, log_nhi, 20.0, LYA)
    w_numeric = np.trapezoid(1.0 - np.exp(-tau), lam)
    lam0_cm = LYA.wavelength_aa * 1e-8
    w_cm = np.sqrt(
        10**log_nhi
        * PI_E2_OVER_ME_C_CM2_HZ
        * LYA.f
        * LYA.gamma_per_s
        * lam0_cm**4
        / (np.pi * SPEED_OF_LIGHT_CMS**2)
    )
    assert w_numeric == pytest.approx(w_cm * 1e8, rel=0.02)
    if log_nhi == 21.0:
        assert w_numeric == pytest.approx(23.1, abs=0.3)


def test_lyman_limit_opacity_is_unity_at_1e17_2_and_zero_redward() -> None:
    tau = lyman_limit_optical_depth(np.array([LYMAN_LIMIT_AA - 1e-6, 900.0, 915.0]), 17.2)
    assert tau[0] == pytest.approx(10**17.2 * 6.30e-18, rel=1e-6)
    assert tau[1] == pytest.approx(tau[0] * (900.0 / LYMAN_LIMIT_AA) ** 3, rel=1e-6)
    assert tau[2] == 0.0


def test_grid_evaluation_agrees_with_the_reference_for_many_absorbers() -> None:
    first, loglam = boss_grid(3600.0, 10400.0)
    z = np.array([2.5, 3.1, 2.2, 4.0])
    log_nhi = np.array([21.8, 20.4, 19.6, 18.0])
    b = np.array([20.0, 30.0, 15.0, 25.0])
    rows = np.array([0, 1, 1, 2])
    tau = optical_depth_on_boss_grid(first, loglam.size, rows, z, log_nhi, b, n_rows=3)
    for r in range(3):
        ref = np.zeros(loglam.size)
        for i in np.nonzero(rows == r)[0]:
            ref += absorber_optical_depth(10**loglam, z[i], log_nhi[i], b[i])
        assert np.max(np.abs(np.exp(-tau[r]) - np.exp(-ref))) < 3e-3
    assert np.all(np.exp(-tau[0][10**loglam < LYMAN_LIMIT_AA * 3.5 * 0.999]) < 1e-30)
    core = np.argmin(np.abs(10**loglam - LYA.wavelength_aa * 3.5))
    assert np.exp(-tau[0][core - 10 : core + 11]).max() < 1e-10
