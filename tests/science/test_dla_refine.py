"""Voigt refinement: recovers a damped profile to its stated error, falls back cleanly,
and merges with the network's estimate."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from galcat.models.dla.absorbers import ABSORBER_DTYPE, SIGHTLINE_DTYPE, AbsorberCatalog
from galcat.models.dla.constants import BOSS_DLOGLAM, LYA
from galcat.models.dla.forest import mean_transmission
from galcat.models.dla.mock import resolution_sigma_pixels
from galcat.models.dla.preprocess import prepare_sightline
from galcat.models.dla.refine import RefineConfig, refine_absorber, refine_catalog
from galcat.models.dla.voigt import optical_depth_on_boss_grid

Z_QSO = 3.2
PIXEL0 = int(np.ceil(np.log10(3600.0) / BOSS_DLOGLAM))
N_PIX = 4000
NO_FOREST = RefineConfig(forest_variance_scale=0.0)


def damped_spectrum(z_abs: float, log_nhi: float, snr: float, seed: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log10 λ, flux, 1σ noise): a power-law quasar with the forest's mean transmission (no
    fluctuations) and one absorber, at BOSS resolution, with Gaussian noise."""
    loglam = (PIXEL0 + np.arange(N_PIX)) * BOSS_DLOGLAM
    lam = 10.0**loglam
    continuum = (lam / (1450.0 * (1 + Z_QSO))) ** -1.5 * mean_transmission(lam, Z_QSO)
    tau = optical_depth_on_boss_grid(PIXEL0, N_PIX, np.zeros(1, np.int64), np.array([z_abs]),
                                     np.array([log_nhi]), np.array([25.0]), 1)[0]
    expected = gaussian_filter1d(continuum * np.exp(-tau), resolution_sigma_pixels(2000.0))
    noise = np.full(N_PIX, 1.0 / snr)
    return loglam, expected + noise * np.random.default_rng(seed).standard_normal(N_PIX), noise


def test_recovers_column_density_and_redshift_within_stated_errors() -> None:
    pulls_n, pulls_z = [], []
    for seed in range(32):
        z_abs, log_nhi = 2.8 + 0.005 * seed, 20.3 + 0.035 * seed
        _, flux, noise = damped_spectrum(z_abs, log_nhi, snr=8.0, seed=seed)
        fit = refine_absorber(flux, noise, PIXEL0, Z_QSO, z_abs + 0.002, log_nhi + 0.25,
                              config=NO_FOREST)
        assert fit["ok"], seed
        assert fit["log_nhi_sigma"] < 0.08
        pulls_n.append((fit["log_nhi"] - log_nhi) / fit["log_nhi_sigma"])
        pulls_z.append((fit["z_dla"] - z_abs) / fit["z_sigma"])
    # 32 unit-Gaussian pulls: their standard deviation lies in [0.6, 1.42] and their mean
    # within ±0.58 with probability 99.9%; errors stated 1.5× too small give ≈ 1.5.
    for pulls in (pulls_n, pulls_z):
        assert 0.6 < np.std(pulls) < 1.42
        assert abs(np.mean(pulls)) < 3.3 / np.sqrt(32)


def test_without_data_at_the_line_keeps_the_starting_values() -> None:
    _, flux, noise = damped_spectrum(2.8, 20.8, snr=8.0, seed=1)
    centre = round(np.log10(LYA.wavelength_aa * 3.8) / BOSS_DLOGLAM) - PIXEL0
    noise[centre - 400: centre + 400] = 0.0
    fit = refine_absorber(flux, noise, PIXEL0, Z_QSO, 2.8, 20.8, config=NO_FOREST)
    assert not fit["ok"]
    assert (fit["z_dla"], fit["log_nhi"]) == (2.8, 20.8)


def test_refined_catalog_moves_towards_the_truth_and_retypes() -> None:
    z_abs, log_nhi = 2.8, 20.6
    loglam, flux, noise = damped_spectrum(z_abs, log_nhi, snr=10.0, seed=3)
    prepared = prepare_sightline(loglam, flux, 1.0 / noise**2, Z_QSO)
    search_pixel = np.log10(LYA.wavelength_aa * (1 + z_abs)) / BOSS_DLOGLAM \
        - prepared.pixel_first[0]
    rows = np.zeros(2, dtype=ABSORBER_DTYPE)
    rows[0] = (0, z_abs + 0.001, 20.1, 0.15, 0.002, 0.1, 0.9, "SUBDLA", search_pixel)
    rows[1] = (0, 2.3, 19.0, 0.2, 0.002, 0.0, 0.5, "SUBDLA", 5.0)
    catalog = AbsorberCatalog(rows, np.zeros(1, dtype=SIGHTLINE_DTYPE))
    refined = refine_catalog(catalog, prepared, config=NO_FOREST).absorbers
    assert abs(refined["log_nhi"][0] - log_nhi) < 3 * refined["log_nhi_err"][0]
    assert refined["log_nhi_err"][0] < 0.1
    assert refined["type"][0] == "DLA" and refined["p_dla"][0] > 0.9
    assert refined["log_nhi"][1] == 19.0, "below log_nhi_min: not refined"


def test_refinement_in_the_mock_evaluation_keeps_every_absorber() -> None:
    from galcat.catalog.settings import load_settings
    from galcat.models.dla.recipe import evaluate_on_mocks
    from galcat.workers.dla.scan import default_refinement, open_dla

    model, network, _ = open_dla(load_settings())
    plain = evaluate_on_mocks(model, network, 40, 4_321)
    refined = evaluate_on_mocks(model, network, 40, 4_321, refine=default_refinement())
    before, after = plain.catalog.absorbers, refined.catalog.absorbers
    assert before.size == after.size > 0
    assert np.array_equal(before["sightline"], after["sightline"])
    moved = before["log_nhi"] != after["log_nhi"]
    assert moved.any()
    assert np.all(after["log_nhi_err"][moved] <= before["log_nhi_err"][moved] + 1e-12), \
        "an inverse-variance mean is never less certain than either estimate"
    assert np.all((after["p_dla"] >= 0) & (after["p_dla"] <= 1))
