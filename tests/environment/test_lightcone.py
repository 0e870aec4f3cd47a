"""The mock light-cone: one seed one sky, the footprint and counts asked for, photo-z and
spec-z as specified, a σ₈-normalised EH98 spectrum, clustering that a control without
bias lacks, and linear redshift-space distortions of the right size and sign."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import integrate

from galcat.models.environment.cosmology import (
    C_KM_S,
    comoving_distance,
    hubble_distance_ratio,
)
from galcat.models.environment.lightcone import (
    Lightcone,
    LightconeSpec,
    linear_power_spectrum,
    make_lightcone,
)
from galcat.models.environment.power_spectrum import growth_factor, growth_rate

SMALL = LightconeSpec(n_galaxies=20_000, field_deg=2.0, cell_mpc_h=3.0, seed=7)
FIELDS = ("ra_deg", "dec_deg", "z_cosmo", "z_true", "z_phot", "z_phot_err", "z_spec",
          "delta_true")


@pytest.fixture(scope="module")
def cone() -> Lightcone:
    return make_lightcone(SMALL)


def counts_in_cells(cone: Lightcone, z: np.ndarray, cell_deg: float = 0.4,
                    depth_mpc_h: float = 10.0) -> tuple[float, float]:
    """Counts in (RA, Dec, comoving depth) cells of ≈10 h⁻¹ Mpc, away from the redshift
    edges: Σ (N − μ)²/μ per cell (1 for a Poisson process) and the mean count μ."""
    spec = cone.spec
    chi_lo, chi_hi = comoving_distance([spec.z_min, spec.z_max])
    chi_edges = np.arange(chi_lo + 20.0, chi_hi - 20.0, depth_mpc_h)
    n_ra = n_dec = round(spec.field_deg / cell_deg)
    (ra_lo, ra_hi), (dec_lo, dec_hi) = spec.ra_range_deg, spec.dec_range_deg
    ra_edges = np.linspace(ra_lo, ra_hi, n_ra + 1)
    dec_edges = np.linspace(dec_lo, dec_hi, n_dec + 1)
    counts, _ = np.histogramdd(
        np.column_stack([cone.ra_deg, cone.dec_deg, comoving_distance(z)]),
        bins=[ra_edges, dec_edges, chi_edges])
    solid_angle = (np.radians(np.diff(ra_edges))[:, None]
                   * np.diff(np.sin(np.radians(dec_edges)))[None, :])
    volume = solid_angle[:, :, None] * np.diff(chi_edges ** 3)[None, None, :] / 3.0
    expected = counts.sum() * volume / volume.sum()
    return float(np.mean((counts - expected) ** 2 / expected)), float(expected.mean())


def test_one_seed_gives_one_sky_and_other_seeds_other_skies(cone):
    again = make_lightcone(SMALL)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(again, name), getattr(cone, name), err_msg=name)
    other = make_lightcone(replace(SMALL, seed=8))
    n = min(len(other), len(cone))
    assert not np.array_equal(other.ra_deg[:n], cone.ra_deg[:n])
    assert not np.array_equal(other.z_cosmo[:n], cone.z_cosmo[:n])


def test_seed_fixes_the_structures_and_distinct_seeds_are_independent(cone):
    def cell_counts(c: Lightcone) -> np.ndarray:
        """Counts in cells less the mean of their redshift slice (the volume trend)."""
        (ra_lo, ra_hi), (dec_lo, dec_hi) = SMALL.ra_range_deg, SMALL.dec_range_deg
        bins = [np.linspace(ra_lo, ra_hi, 6), np.linspace(dec_lo, dec_hi, 6),
                np.linspace(SMALL.z_min, SMALL.z_max, 41)]
        counts = np.histogramdd(np.column_stack([c.ra_deg, c.dec_deg, c.z_cosmo]), bins)[0]
        return (counts - counts.mean(axis=(0, 1))).ravel()

    denser = make_lightcone(replace(SMALL, n_galaxies=60_000))
    other = make_lightcone(replace(SMALL, seed=8))
    assert np.corrcoef(cell_counts(cone), cell_counts(denser))[0, 1] > 0.6
    assert abs(np.corrcoef(cell_counts(cone), cell_counts(other))[0, 1]) < 0.15


def test_footprint_redshift_range_and_count(cone):
    spec = cone.spec
    assert all(len(getattr(cone, name)) == len(cone) for name in FIELDS)
    assert abs(len(cone) - spec.n_galaxies) < 5 * np.sqrt(spec.n_galaxies)
    ra_lo, ra_hi = spec.ra_range_deg
    dec_lo, dec_hi = spec.dec_range_deg
    assert np.all((cone.ra_deg >= ra_lo) & (cone.ra_deg <= ra_hi))
    assert np.all((cone.dec_deg >= dec_lo) & (cone.dec_deg <= dec_hi))
    assert np.all((cone.z_cosmo >= spec.z_min) & (cone.z_cosmo <= spec.z_max))
    assert np.all(np.diff(cone.z_cosmo) >= 0)
    # the field is filled: every quarter of it holds about a quarter of the galaxies
    quarter = ((cone.ra_deg > spec.ra_center_deg).astype(int)
               + 2 * (cone.dec_deg > spec.dec_center_deg))
    assert np.all(np.abs(np.bincount(quarter, minlength=4) / len(cone) - 0.25) < 0.05)


def test_photo_z_scatter_without_outliers_is_sigma_z():
    clean = make_lightcone(replace(SMALL, outlier_fraction=0.0))
    scaled = (clean.z_phot - clean.z_true) / (1 + clean.z_true)
    assert np.std(scaled) == pytest.approx(SMALL.sigma_z, rel=0.03)
    assert abs(np.mean(scaled)) < 4 * SMALL.sigma_z / np.sqrt(len(clean))
    np.testing.assert_allclose(clean.z_phot_err, SMALL.sigma_z * (1 + clean.z_phot))


def test_outliers_are_the_asked_fraction_and_uniform_over_the_stated_range():
    exact = make_lightcone(replace(SMALL, sigma_z=0.0))
    outlier = exact.z_phot != exact.z_true
    n, f = len(exact), SMALL.outlier_fraction
    assert abs(outlier.mean() - f) < 4 * np.sqrt(f * (1 - f) / n)
    lo, hi = SMALL.z_min - 0.3, SMALL.z_max + 0.3
    z_out = exact.z_phot[outlier]
    assert np.all((z_out >= lo) & (z_out <= hi))
    assert abs(z_out.mean() - (lo + hi) / 2) < 4 * (hi - lo) / np.sqrt(12 * len(z_out))


def test_spectroscopic_subset_is_the_asked_fraction_with_true_redshifts(cone):
    has = np.isfinite(cone.z_spec)
    n, f = len(cone), SMALL.spec_fraction
    assert abs(has.mean() - f) < 4 * np.sqrt(f * (1 - f) / n)
    np.testing.assert_array_equal(cone.z_spec[has], cone.z_true[has])
    np.testing.assert_array_equal(cone.has_spec_z, has)
    assert np.all(cone.z_phot >= 0)


def test_power_spectrum_is_sigma8_normalised_eh98():
    def integrand(ln_k: float) -> float:
        k = np.exp(ln_k)
        x = 8.0 * k
        window = 3 * (np.sin(x) - x * np.cos(x)) / x ** 3
        return float(k ** 3 * linear_power_spectrum(k) * window ** 2 / (2 * np.pi ** 2))

    sigma8 = np.sqrt(integrate.quad(integrand, np.log(1e-5), np.log(1e2), limit=500)[0])
    assert sigma8 == pytest.approx(0.8102, abs=1e-3)

    k = np.geomspace(1e-3, 1.0, 3001)
    k_peak = k[np.argmax(linear_power_spectrum(k))]
    assert 0.014 < k_peak < 0.020
    k_large_scale = np.array([1e-5, 2e-5])
    slope = np.diff(np.log(linear_power_spectrum(k_large_scale))) / np.diff(np.log(k_large_scale))
    assert float(slope[0]) == pytest.approx(0.9665, abs=0.01)
    assert 3000 < float(linear_power_spectrum(0.1)) < 8000


def test_growth_factor_matches_carroll_press_turner_and_scales_power():
    om = 0.30966

    def carroll(z: float) -> float:
        e2 = om * (1 + z) ** 3 + 1 - om
        om_z, ol_z = om * (1 + z) ** 3 / e2, (1 - om) / e2
        return 2.5 * om_z / (om_z ** (4 / 7) - ol_z + (1 + om_z / 2) * (1 + ol_z / 70)) / (1 + z)

    for z in (0.5, 1.0, 2.0):
        assert float(growth_factor(z)) == pytest.approx(carroll(z) / carroll(0.0), rel=0.01)
    ratio = linear_power_spectrum(0.05, z=1.0) / linear_power_spectrum(0.05)
    assert float(ratio) == pytest.approx(float(growth_factor(1.0)) ** 2, rel=1e-9)


def test_mock_is_clustered_and_an_unbiased_control_is_not(cone):
    clustered, mean_count = counts_in_cells(cone, cone.z_cosmo)
    assert mean_count > 5
    assert clustered > 1.5
    control = make_lightcone(replace(SMALL, galaxy_bias=1e-3))
    poisson, _ = counts_in_cells(control, control.z_cosmo)
    assert poisson == pytest.approx(1.0, abs=0.15)
    assert np.mean(cone.delta_true) > 1.5
    assert np.mean(control.delta_true) == pytest.approx(1.0, abs=0.01)


def test_peculiar_velocities_have_linear_theory_size_and_kaiser_sign(cone):
    z_mid = (SMALL.z_min + SMALL.z_max) / 2
    v_los = (cone.z_true - cone.z_cosmo) * C_KM_S / (1 + cone.z_cosmo)
    rms = float(np.sqrt(np.mean(v_los ** 2)))
    assert 100 < rms < 1000

    def displacement_power(ln_k: float) -> float:
        k = np.exp(ln_k)
        return float(k * linear_power_spectrum(k, z=z_mid) / (2 * np.pi ** 2) / 3)

    a_hubble = C_KM_S / float(hubble_distance_ratio(z_mid)) / (1 + z_mid)
    psi_rms = np.sqrt(integrate.quad(displacement_power, np.log(1e-4), np.log(2.0),
                                     limit=400)[0])
    linear_rms = float(growth_rate(z_mid)) * a_hubble * psi_rms
    assert 0.6 * linear_rms < rms < 1.5 * linear_rms

    # infall into overdensities raises the counts-in-cells variance in redshift space
    real, _ = counts_in_cells(cone, cone.z_cosmo)
    redshift, _ = counts_in_cells(cone, cone.z_true)
    assert redshift - 1 > 1.1 * (real - 1)
