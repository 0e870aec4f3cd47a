"""ξ(s) from TreeCorr pair counts: zero for an unclustered catalogue, the analytic shape
for Gaussian blobs, randoms that follow the footprint and n(z), and exact bin edges."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import pdist

from galcat.models.environment.clustering import (
    XiEstimate,
    default_s_edges,
    pair_counts,
    random_catalogue,
    xi_ratio,
    xi_s,
)
from galcat.models.environment.cosmology import comoving_distance, redshift_at_distance

RA_RANGE = (150.0, 160.0)
DEC_RANGE = (-5.0, 5.0)
Z_RANGE = (0.1, 0.25)
BLOB_SIGMA = 3.0
BLOB_SIZE = 15


def _uniform_in_volume(n: int, ra_range: tuple[float, float], dec_range: tuple[float, float],
                       chi_range: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """Points (n, 3) in comoving Cartesian coordinates, uniform in the volume of a sky
    rectangle between two comoving distances."""
    ra = np.radians(rng.uniform(*ra_range, n))
    dec = np.arcsin(rng.uniform(*np.sin(np.radians(dec_range)), n))
    chi = rng.uniform(chi_range[0] ** 3, chi_range[1] ** 3, n) ** (1 / 3)
    return chi[:, None] * np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra),
                                    np.sin(dec)], axis=1)


def _to_sky(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    chi = np.linalg.norm(xyz, axis=1)
    ra = np.degrees(np.arctan2(xyz[:, 1], xyz[:, 0])) % 360.0
    dec = np.degrees(np.arcsin(xyz[:, 2] / chi))
    return ra, dec, redshift_at_distance(chi)


def _in_footprint(ra: np.ndarray, dec: np.ndarray, z: np.ndarray) -> np.ndarray:
    return ((ra >= RA_RANGE[0]) & (ra < RA_RANGE[1]) & (dec >= DEC_RANGE[0])
            & (dec < DEC_RANGE[1]) & (z >= Z_RANGE[0]) & (z < Z_RANGE[1]))


def _footprint_volume() -> float:
    chi_lo, chi_hi = comoving_distance(Z_RANGE)
    solid_angle = np.radians(RA_RANGE[1] - RA_RANGE[0]) * np.ptp(np.sin(np.radians(DEC_RANGE)))
    return float(solid_angle * (chi_hi**3 - chi_lo**3) / 3.0)


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Galaxies in Gaussian blobs (σ = 3 h⁻¹ Mpc, 15 each) whose centres fill a footprint
    padded by more than 4σ, cut to the footprint so that its density is homogeneous."""
    rng = np.random.default_rng(7)
    chi_lo, chi_hi = comoving_distance(Z_RANGE)
    pad_deg = 3.0
    centres = _uniform_in_volume(
        1700, (RA_RANGE[0] - pad_deg, RA_RANGE[1] + pad_deg),
        (DEC_RANGE[0] - pad_deg, DEC_RANGE[1] + pad_deg),
        (chi_lo - 4 * BLOB_SIGMA, chi_hi + 4 * BLOB_SIGMA), rng)
    xyz = (np.repeat(centres, BLOB_SIZE, axis=0)
           + BLOB_SIGMA * rng.standard_normal((centres.shape[0] * BLOB_SIZE, 3)))
    ra, dec, z = _to_sky(xyz)
    inside = _in_footprint(ra, dec, z)
    return ra[inside], dec[inside], z[inside]


def _blob_xi_in_bins(edges: np.ndarray, n_mean: float) -> np.ndarray:
    """Pair-weighted mean over each bin of ξ(r) = (m − 1)/n̄ · (4πσ²)^(−3/2) e^(−r²/4σ²),
    the correlation of points in Gaussian blobs of m points each."""
    amplitude = (BLOB_SIZE - 1) / n_mean / (4 * np.pi * BLOB_SIGMA**2) ** 1.5
    means = []
    for lo, hi in itertools.pairwise(edges):
        r = np.linspace(lo, hi, 2001)
        weight = r**2
        xi = amplitude * np.exp(-(r**2) / (4 * BLOB_SIGMA**2))
        means.append(np.trapezoid(xi * weight, r) / np.trapezoid(weight, r))
    return np.array(means)


def test_unclustered_catalogue_gives_xi_consistent_with_zero() -> None:
    rng = np.random.default_rng(3)
    ra_range, dec_range = (150.0, 154.0), (0.0, 4.0)
    xyz = _uniform_in_volume(10_000, ra_range, dec_range,
                             tuple(comoving_distance([0.4, 0.8])), rng)
    ra, dec, z = _to_sky(xyz)

    estimate = xi_s(ra, dec, z, ra_range_deg=ra_range, dec_range_deg=dec_range,
                    s_edges_mpc_h=np.geomspace(1.0, 30.0, 13), random_factor=4, seed=1)

    assert estimate.n_data == 10_000 and estimate.n_random == 40_000
    assert np.all(estimate.xi_err > 0)
    beyond_2 = estimate.s_mpc_h > 2.0
    xi, err = estimate.xi[beyond_2], estimate.xi_err[beyond_2]
    assert np.all((np.abs(xi) < 3 * err) | (np.abs(xi) < 0.05)), (xi, err)


def test_gaussian_blobs_follow_the_analytic_correlation(blobs) -> None:
    ra, dec, z = blobs
    edges = np.geomspace(1.0, 16.0, 9)

    estimate = xi_s(ra, dec, z, ra_range_deg=RA_RANGE, dec_range_deg=DEC_RANGE,
                    s_edges_mpc_h=edges, seed=2)

    assert np.allclose(estimate.s_edges_mpc_h, edges)
    assert np.allclose(estimate.s_mpc_h, np.sqrt(edges[:-1] * edges[1:]))
    small = estimate.s_mpc_h < 6.0
    assert np.all(estimate.xi[small] > 10 * estimate.xi_err[small])
    assert np.all(np.diff(estimate.xi[estimate.s_mpc_h < 10.0]) < 0)

    expected = _blob_xi_in_bins(edges, estimate.n_data / _footprint_volume())
    tested = expected > 0.1
    assert tested.sum() >= 5
    tolerance = 0.15 * expected[tested] + 3 * estimate.xi_err[tested]
    assert np.all(np.abs(estimate.xi[tested] - expected[tested]) < tolerance), (
        estimate.xi[tested], expected[tested])

    first, fourth = 0, 3
    ratio = estimate.xi[first] / estimate.xi[fourth]
    ratio_err = ratio * np.hypot(estimate.xi_err[first] / estimate.xi[first],
                                 estimate.xi_err[fourth] / estimate.xi[fourth])
    expected_ratio = expected[first] / expected[fourth]
    assert abs(ratio - expected_ratio) < 3 * ratio_err + 0.05 * expected_ratio


def test_random_catalogue_fills_the_footprint_and_follows_n_of_z() -> None:
    rng = np.random.default_rng(11)
    z = np.concatenate([rng.normal(0.3, 0.03, 3000), rng.normal(0.7, 0.08, 2000)])

    ra, dec, z_random = random_catalogue((150.0, 160.0), (-5.0, 5.0), z, 20_000, seed=4)

    assert ra.shape == dec.shape == z_random.shape == (20_000,)
    assert np.all((ra >= 150.0) & (ra < 160.0) & (dec >= -5.0) & (dec <= 5.0))
    assert np.all((z_random >= z.min()) & (z_random <= z.max()))
    assert stats.ks_2samp(z_random, z).pvalue > 0.01
    sin_dec = np.sin(np.radians(dec))
    uniform_sin = stats.uniform(loc=sin_dec.min(), scale=np.ptp(sin_dec)).cdf
    assert stats.kstest(sin_dec, uniform_sin).pvalue > 0.01
    again = random_catalogue((150.0, 160.0), (-5.0, 5.0), z, 20_000, seed=4)
    assert all(np.array_equal(a, b) for a, b in zip((ra, dec, z_random), again, strict=True))


def test_random_catalogue_wraps_through_zero_ra() -> None:
    ra, _, _ = random_catalogue((355.0, 5.0), (0.0, 1.0), [0.5, 0.6], 5000, seed=0)

    assert np.all((ra >= 355.0) | (ra < 5.0))
    assert (ra > 355.0).any() and (ra < 5.0).any()


def test_default_footprint_is_the_data_bounding_box_across_zero_ra() -> None:
    rng = np.random.default_rng(5)
    xyz = _uniform_in_volume(3000, (-2.0, 2.0), (0.0, 4.0),
                             tuple(comoving_distance([0.4, 0.8])), rng)
    ra, dec, z = _to_sky(xyz)

    wrapped = xi_s(ra, dec, z, random_factor=2, seed=3)
    explicit = xi_s(ra, dec, z, ra_range_deg=(ra[ra > 180].min(), ra[ra < 180].max()),
                    dec_range_deg=(dec.min(), dec.max()), random_factor=2, seed=3)

    assert np.array_equal(wrapped.xi, explicit.xi)


def test_treecorr_counts_match_brute_force_in_the_edges_given() -> None:
    rng = np.random.default_rng(0)
    xyz = rng.uniform(0.0, 20.0, (300, 3))
    edges = np.array([2.0, 4.0, 8.0])

    counts = pair_counts(xyz, edges)

    expected, _ = np.histogram(pdist(xyz), bins=edges)
    assert np.array_equal(counts, expected)


def test_non_logarithmic_edges_are_refused() -> None:
    with pytest.raises(ValueError, match="logarithmically spaced"):
        pair_counts(np.zeros((3, 3)), [1.0, 2.0, 3.0])


def test_default_edges_and_xi_ratio() -> None:
    edges = default_s_edges()
    assert edges.size == 16 and edges[0] == 1.0 and np.isclose(edges[-1], 40.0)
    centres = np.sqrt(edges[:-1] * edges[1:])

    def estimate(xi: np.ndarray) -> XiEstimate:
        return XiEstimate(s_mpc_h=centres, s_edges_mpc_h=edges, xi=xi,
                          xi_err=np.ones(15), n_data=1, n_random=1)

    assert np.allclose(xi_ratio(estimate(np.full(15, 2.0)), estimate(np.full(15, 4.0))), 0.5)
    other = XiEstimate(s_mpc_h=centres[:3], s_edges_mpc_h=edges[:4], xi=np.ones(3),
                       xi_err=np.ones(3), n_data=1, n_random=1)
    with pytest.raises(ValueError, match="different separation bins"):
        xi_ratio(estimate(np.ones(15)), other)
