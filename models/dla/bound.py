"""The log N_HI and z precision no unbiased estimator can beat, per true DLA of a seeded
mock set (the Cramér–Rao bound of :mod:`galcat.models.dla.information`), under three
sets of assumptions each more realistic than the last; and the completeness as DLA such
an estimator would reach.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

ASSUMPTIONS = {
    "photon": "photon noise only (continuum and forest known)",
    "forest": "+ the Lyα forest as noise of known mean",
    "forest_continuum": "+ a free quadratic continuum within ±8% in λ",
}
FOREST_DRAWS = 64


def ideal_completeness(log_nhi: np.ndarray, sigma: np.ndarray) -> float:
    """Completeness as DLA of an unbiased Gaussian estimator with errors ``sigma`` (dex)."""
    from scipy.stats import norm

    return float(np.mean(norm.cdf((np.asarray(log_nhi) - 20.3) / np.asarray(sigma))))


def precision_bounds(n_sightlines: int, seed: int, snr_min: float = 5.0,
                     population: Any | None = None,
                     progress: Callable[[int, int], None] | None = None) -> Any:
    """One row per true DLA on sightlines with S/N ≥ ``snr_min``: its truth and the bound on
    σ(log N_HI) and σ(z) under each of ``ASSUMPTIONS``."""
    from astropy.table import Table
    from scipy.ndimage import gaussian_filter1d

    from galcat.models.dla.forest import forest_optical_depth
    from galcat.models.dla.information import absorber_flux, absorber_precision_bounds
    from galcat.models.dla.mock import (
        MockConfig,
        boss_grid,
        generate_mock_sightlines,
        noise_sigma,
        resolution_sigma_pixels,
    )
    from galcat.models.dla.voigt import optical_depth_on_boss_grid

    config = population or MockConfig()
    mock = generate_mock_sightlines(n_sightlines, seed, config)
    pixel_first, loglam = boss_grid(config.wavelength_min_aa, config.wavelength_max_aa)
    smoothing = resolution_sigma_pixels(config.resolution)
    truth = mock.truth
    chosen = np.nonzero((truth["log_nhi"] >= 20.3) & (mock.snr[truth["sightline"]] >= snr_min))[0]
    rng = np.random.default_rng(seed + 1)
    forest_of, mean, var = -1, np.empty(0), np.empty(0)
    rows = []
    for done, k in enumerate(chosen):
        s = int(truth["sightline"][k])
        if s != forest_of:
            tau = forest_optical_depth(loglam, np.full(FOREST_DRAWS, mock.z_qso[s]), rng,
                                       sigma_g=config.forest_sigma_g)
            transmission = gaussian_filter1d(np.exp(-tau), smoothing, axis=1, mode="nearest")
            forest_of, mean, var = s, transmission.mean(axis=0), transmission.var(axis=0)
        others = np.nonzero((truth["sightline"] == s) & (np.arange(truth.size) != k))[0]
        tau_others = optical_depth_on_boss_grid(
            pixel_first, loglam.size, np.zeros(others.size, np.int64), truth["z_abs"][others],
            truth["log_nhi"][others], truth["b_kms"][others], 1)[0]
        unabsorbed = mock.continuum[s].astype(np.float64) * np.exp(-tau_others)
        z_abs, log_nhi, b_kms = (float(truth[c][k]) for c in ("z_abs", "log_nhi", "b_kms"))
        expected = absorber_flux(loglam, pixel_first, unabsorbed, mean, smoothing, z_abs,
                                 log_nhi, b_kms)
        photon = noise_sigma(expected[None, :], mock.amplitude[s:s + 1], mock.snr[s:s + 1],
                             loglam)[0]
        bounds = absorber_precision_bounds(loglam, pixel_first, unabsorbed, mean, photon,
                                           smoothing, z_abs, log_nhi,
                                           ((np.zeros_like(var), 0), (var, 0), (var, 3)), b_kms)
        rows.append((s, float(mock.z_qso[s]), float(mock.snr[s]), z_abs, log_nhi,
                     *(bound[0] for bound in bounds), *(bound[1] for bound in bounds)))
        if progress:
            progress(done + 1, chosen.size)
    names = ["sightline", "z_qso", "snr", "z_abs", "log_nhi"]
    names += [f"sigma_log_nhi_{a}" for a in ASSUMPTIONS] + [f"sigma_z_{a}" for a in ASSUMPTIONS]
    return Table(rows=rows, names=names) if rows else Table(names=names)
