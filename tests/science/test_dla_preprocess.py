"""Preprocessing: search region, normalisation with fallbacks, masks and S/N."""

from __future__ import annotations

import numpy as np
import pytest

from galcat.models.dla.constants import LYA
from galcat.models.dla.preprocess import (
    N_SEARCH_PIXELS,
    WINDOW_PIXELS,
    prepare_sightline,
    snap_to_boss_grid,
)

Z_QSO = 3.0


def flat_spectrum(level: float = 2.0, ivar: float = 4.0, lam_min: float = 3600.0):
    k = np.arange(int(np.ceil(np.log10(lam_min) * 1e4)), int(np.log10(10400) * 1e4))
    loglam = k * 1e-4
    return loglam, np.full(k.size, level), np.full(k.size, ivar)


def rest_pixels(loglam: np.ndarray, lo: float, hi: float, z: float = Z_QSO) -> np.ndarray:
    rest = 10**loglam / (1 + z)
    return (rest >= lo) & (rest < hi)


def test_flat_spectrum_is_normalised_to_one_with_exact_snr() -> None:
    loglam, flux, ivar = flat_spectrum(lam_min=3000.0)
    p = prepare_sightline(loglam, flux, ivar, Z_QSO)
    assert p.inputs.shape == (1, N_SEARCH_PIXELS + WINDOW_PIXELS - 1, 2)
    assert N_SEARCH_PIXELS == 1748
    assert p.snr[0] == pytest.approx(2.0 * 2.0)
    assert p.normalisation[0] == pytest.approx(2.0)
    assert tuple(p.normalisation_range_aa[0]) == (1420.0, 1480.0)
    first = int(np.ceil(np.log10(900.0 * (1 + Z_QSO)) * 1e4))
    assert p.pixel_first[0] == first
    assert 10 ** p.search_loglam(0)[0] >= 900 * (1 + Z_QSO)
    assert 10 ** p.search_loglam(0)[-1] < 1346 * (1 + Z_QSO)
    assert np.all(p.inputs[0, :, 0] == 1.0) and np.all(p.inputs[0, :, 1] == 1.0)
    assert p.z_search_min[0] == pytest.approx(10 ** (first * 1e-4) / LYA.wavelength_aa - 1)
    assert p.z_search_max[0] == Z_QSO


def test_pixels_outside_the_spectrum_and_masked_pixels_are_zero_in_both_channels() -> None:
    loglam, flux, ivar = flat_spectrum(lam_min=4000.0)
    ivar[100:130] = 0.0
    flux[140] = np.nan
    p = prepare_sightline(loglam, flux, ivar, Z_QSO)
    start = p.pixel_first[0] - WINDOW_PIXELS // 2
    k = np.rint(loglam * 1e4).astype(int) - start
    x = p.inputs[0]
    assert np.all(x[: k[0]] == 0.0)
    assert np.all(x[k[100] : k[130]] == 0.0) and np.all(x[k[140]] == 0.0)
    assert np.all(x[k[131] : k[139], 1] == 1.0)
    assert p.z_search_min[0] == pytest.approx(10 ** loglam[0] / LYA.wavelength_aa - 1)


def test_normalisation_falls_back_when_1420_1480_has_no_data() -> None:
    loglam, flux, ivar = flat_spectrum()
    ivar[rest_pixels(loglam, 1400.0, 1500.0)] = 0.0
    flux[rest_pixels(loglam, 1270.0, 1350.0)] = 5.0
    p = prepare_sightline(loglam, flux, ivar, Z_QSO)
    assert tuple(p.normalisation_range_aa[0]) == (1270.0, 1350.0)
    assert p.normalisation[0] == pytest.approx(5.0)
    assert p.snr[0] == pytest.approx(10.0)
    assert p.usable[0]


def test_spectrum_without_any_data_is_flagged_unusable() -> None:
    loglam, flux, _ = flat_spectrum()
    p = prepare_sightline(loglam, flux, np.zeros_like(flux), Z_QSO)
    assert not p.usable[0] and np.isnan(p.snr[0])
    assert np.all(p.inputs == 0.0)


def test_outliers_are_clipped() -> None:
    loglam, flux, ivar = flat_spectrum()
    region = np.nonzero(rest_pixels(loglam, 1000.0, 1100.0))[0]
    flux[region[5]] = 1e4
    flux[region[6]] = -1e4
    p = prepare_sightline(loglam, flux, ivar, Z_QSO)
    assert p.inputs[0, :, 0].max() == 10.0 and p.inputs[0, :, 0].min() == -5.0


def test_off_lattice_grids_are_resampled_and_masks_propagate() -> None:
    loglam = np.arange(3.5600, 4.0150, 1.3e-4) + 0.37e-4
    flux = np.full(loglam.size, 3.0)
    ivar = np.full(loglam.size, 1.0)
    ivar[1000] = 0.0
    pixel, f, iv = snap_to_boss_grid(loglam, flux, ivar)
    assert np.all(np.diff(pixel) == 1)
    assert np.allclose(f[iv > 0], 3.0)
    bad = np.abs(pixel * 1e-4 - loglam[1000]) < 1.3e-4
    assert bad.any() and np.all(iv[bad] == 0.0)
    p = prepare_sightline(loglam, flux, ivar, Z_QSO)
    assert p.normalisation[0] == pytest.approx(3.0)


def test_non_increasing_wavelengths_are_rejected() -> None:
    loglam, flux, ivar = flat_spectrum()
    with pytest.raises(ValueError, match="increasing"):
        prepare_sightline(loglam[::-1], flux, ivar, Z_QSO)
