"""Mock BOSS sightlines: reproducible, physically calibrated, and labelled truthfully."""

from __future__ import annotations

import numpy as np
import pytest

from galcat.models.dla.constants import LYA, LYB
from galcat.models.dla.forest import tau_eff
from galcat.models.dla.mock import MockConfig, generate_mock_sightlines
from galcat.models.dla.preprocess import prepare_mock

CLEAN = MockConfig(
    absorber_sightline_fraction=0.0,
    lls_incidence_scale=0.0,
    metals=False,
    sky_mask_probability=0.0,
    bad_chunks_mean=0.0,
    snr_range=(50.0, 50.0),
)


@pytest.fixture(scope="module")
def mocks():
    return generate_mock_sightlines(400, 11)


def test_same_seed_same_spectra_different_seed_different() -> None:
    a = generate_mock_sightlines(5, 3)
    b = generate_mock_sightlines(5, np.random.default_rng(3))
    c = generate_mock_sightlines(5, 4)
    assert np.array_equal(a.flux, b.flux) and np.array_equal(a.truth, b.truth)
    assert not np.allclose(a.flux, c.flux)


def test_shapes_grid_and_finiteness(mocks) -> None:
    n = len(mocks)
    assert mocks.flux.shape == mocks.ivar.shape == (n, mocks.loglam.size)
    assert np.allclose(np.diff(mocks.loglam), 1e-4)
    assert 10 ** mocks.loglam[0] >= 3600 and 10 ** mocks.loglam[-1] <= 10400
    assert np.isfinite(mocks.flux).all() and (mocks.ivar >= 0).all()
    assert mocks.z_qso.min() >= 2.2 and mocks.z_qso.max() <= 5.0


def test_truth_table_follows_the_parks_population(mocks) -> None:
    t = mocks.truth
    hi = t[np.isin(t["kind"], ["DLA", "SUBDLA"])]
    frac = np.unique(hi["sightline"]).size / len(mocks)
    assert abs(frac - 0.5) < 4 * np.sqrt(0.25 / len(mocks))
    dla, sub = t[t["kind"] == "DLA"], t[t["kind"] == "SUBDLA"]
    assert dla["log_nhi"].min() >= 20.3 and dla["log_nhi"].max() <= 22.5
    assert sub["log_nhi"].min() >= 19.5 and sub["log_nhi"].max() < 20.3
    assert np.array_equal(t["is_dla"], t["log_nhi"] >= 20.3)
    rest = LYA.wavelength_aa * (1 + hi["z_abs"]) / (1 + hi["z_qso"])
    assert rest.min() >= 910.0 and rest.max() <= 1213.0
    assert (LYA.wavelength_aa * (1 + hi["z_abs"])).min() >= 3600.0
    assert np.all(t["z_qso"] == mocks.z_qso[t["sightline"]])
    assert np.all(t["z_abs"] < t["z_qso"])
    # the column-density distribution falls with N: more DLAs at 20.3-20.8 than at 21.3-21.8
    assert np.sum(dla["log_nhi"] < 20.8) > 2 * np.sum(
        (dla["log_nhi"] > 21.3) & (dla["log_nhi"] < 21.8)
    )


def test_forest_mean_transmission_follows_becker_2013() -> None:
    m = generate_mock_sightlines(150, 5, CLEAN)
    lam = 10**m.loglam
    ratio = m.flux / m.continuum
    z_pix = np.broadcast_to(lam[None, :] / LYA.wavelength_aa - 1, ratio.shape)
    rest = lam[None, :] / (1 + m.z_qso[:, None])
    in_lya_only = (rest > 1.03 * LYB.wavelength_aa) & (rest < 0.97 * LYA.wavelength_aa)
    for z_lo, z_hi in [(2.0, 2.5), (2.5, 3.0), (3.0, 3.5), (3.5, 4.2)]:
        sel = in_lya_only & (z_pix >= z_lo) & (z_pix < z_hi)
        expected = np.mean(np.exp(-tau_eff(z_pix[sel])))
        assert np.mean(ratio[sel]) == pytest.approx(expected, abs=0.02), (z_lo, z_hi)


def test_dla_cores_are_black_and_absorbers_leave_continuum_elsewhere() -> None:
    cfg = MockConfig(
        absorber_sightline_fraction=1.0,
        dla_fraction=1.0,
        lls_incidence_scale=0.0,
        snr_range=(50.0, 50.0),
        sky_mask_probability=0.0,
        bad_chunks_mean=0.0,
    )
    m = generate_mock_sightlines(30, 2, cfg)
    lam = 10**m.loglam
    for row in m.truth:
        centre = np.argmin(np.abs(lam - LYA.wavelength_aa * (1 + row["z_abs"])))
        core = (
            m.flux[row["sightline"], centre - 2 : centre + 3]
            / m.continuum[row["sightline"], centre - 2 : centre + 3]
        )
        assert np.median(core) < 0.1


def test_requested_snr_is_what_the_preprocessing_measures() -> None:
    m = generate_mock_sightlines(60, 8)
    prepared = prepare_mock(m)
    assert np.median(prepared.snr / m.snr) == pytest.approx(1.0, abs=0.08)
    assert np.corrcoef(np.log(prepared.snr), np.log(m.snr))[0, 1] > 0.98


def test_masked_pixels_have_zero_ivar(mocks) -> None:
    masked = mocks.ivar == 0
    assert 0 < masked.mean() < 0.05
    sky = np.argmin(np.abs(10**mocks.loglam - 5578.5))
    assert 0.15 < masked[:, sky].mean() < 0.45
    clean = generate_mock_sightlines(20, 1, CLEAN)
    assert (clean.ivar > 0).all()
