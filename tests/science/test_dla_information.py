"""The log N_HI precision bound: least-squares fits on simulated noise reach it, and every
added nuisance (forest noise, a free continuum) can only loosen it."""

from __future__ import annotations

import numpy as np
import pytest

from galcat.models.dla.bound import ideal_completeness
from galcat.models.dla.information import absorber_flux, absorber_precision_bounds
from galcat.models.dla.mock import boss_grid

Z_ABS, LOG_NHI, B_KMS, SMOOTHING = 2.4, 20.5, 25.0, 1.2


def flat_spectrum(snr: float = 4.0) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    pixel_first, loglam = boss_grid(3900.0, 4600.0)
    unabsorbed = np.full(loglam.size, 10.0)
    return pixel_first, loglam, unabsorbed, np.full(loglam.size, 10.0 / snr)


def test_least_squares_fits_scatter_as_the_bound_says() -> None:
    pixel_first, loglam, unabsorbed, sigma = flat_spectrum()
    ones, zeros = np.ones(loglam.size), np.zeros(loglam.size)
    [(bound, _)] = absorber_precision_bounds(loglam, pixel_first, unabsorbed, ones, sigma,
                                             SMOOTHING, Z_ABS, LOG_NHI, [(zeros, 0)], B_KMS)
    grid = LOG_NHI + np.linspace(-0.3, 0.3, 301)
    models = np.array([absorber_flux(loglam, pixel_first, unabsorbed, ones, SMOOTHING, Z_ABS,
                                     n, B_KMS) for n in grid])
    near = np.abs(np.log(10.0**loglam / (1215.6701 * (1 + Z_ABS)))) < 0.08
    rng = np.random.default_rng(7)
    truth = models[150]
    fits = []
    for _ in range(400):
        observed = truth + sigma * rng.standard_normal(loglam.size)
        chi2 = np.sum(((observed - models) / sigma)[:, near] ** 2, axis=1)
        k = int(np.clip(np.argmin(chi2), 1, grid.size - 2))
        a, b, c = chi2[k - 1 : k + 2]
        fits.append(grid[k] + 0.5 * (a - c) / (a - 2 * b + c) * (grid[1] - grid[0]))
    assert 0.01 < bound < 0.2
    assert np.std(fits) == pytest.approx(bound, rel=0.12)
    assert abs(np.mean(fits) - LOG_NHI) < 3 * bound / np.sqrt(400) + 0.002


def test_forest_noise_and_a_free_continuum_only_loosen_the_bound() -> None:
    pixel_first, loglam, unabsorbed, sigma = flat_spectrum(snr=10.0)
    mean, var = np.full(loglam.size, 0.7), np.full(loglam.size, 0.05)
    photon, forest, both = absorber_precision_bounds(
        loglam, pixel_first, unabsorbed, mean, sigma, SMOOTHING, Z_ABS, LOG_NHI,
        [(np.zeros(loglam.size), 0), (var, 0), (var, 3)])
    assert photon[0] < forest[0] < both[0] and photon[1] < forest[1] <= both[1]


def test_ideal_completeness_of_an_unbiased_estimator() -> None:
    assert ideal_completeness(np.array([20.3]), np.array([0.1])) == pytest.approx(0.5)
    assert ideal_completeness(np.array([20.5, 21.0]), np.array([1e-6, 1e-6])) == 1.0
    assert ideal_completeness(np.array([20.4]), np.array([0.1])) == pytest.approx(0.8413, abs=1e-4)
