"""Cylinder counts and n-th-neighbour distances against brute force, boundaries, NaN
redshifts, and the rank correlation that compares environment measures."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import cdist

from galcat.models.environment.cosmology import C_KM_S, comoving_distance, sky_to_cartesian
from galcat.models.environment.measures import (
    cylinder_counts,
    nth_neighbour_distance,
    spearman,
)

RADIUS = 1.0
DV = 1000.0
EPSILON = 1e-7


def _brute_cylinder_counts(ra: np.ndarray, dec: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The cylinder definition written out over all N² pairs: haversine angle times the
    central's comoving distance, and c |Δz| / (1 + mean z)."""
    ra_r, dec_r = np.radians(ra), np.radians(dec)
    hav = (np.sin((dec_r[:, None] - dec_r[None, :]) / 2) ** 2 + np.cos(dec_r[:, None])
           * np.cos(dec_r[None, :]) * np.sin((ra_r[:, None] - ra_r[None, :]) / 2) ** 2)
    theta = 2 * np.arcsin(np.sqrt(np.clip(hav, 0, 1)))
    r_p = theta * comoving_distance(z)[:, None]
    dv = C_KM_S * np.abs(z[:, None] - z[None, :]) / (1 + (z[:, None] + z[None, :]) / 2)
    valid = np.isfinite(z)
    with np.errstate(invalid="ignore"):
        inside = (r_p < RADIUS) & (dv < DV) & valid[:, None] & valid[None, :]
    np.fill_diagonal(inside, False)
    return np.where(valid, inside.sum(axis=1), -1)


def _redshift_at_velocity(z: float, dv_km_s: float) -> float:
    """The redshift whose velocity difference from ``z`` is ``dv_km_s`` (mean-z convention)."""
    return (C_KM_S * z + dv_km_s * (1 + z / 2)) / (C_KM_S - dv_km_s / 2)


def _boundary_neighbours(ra: float, dec: float, z: float) -> tuple[list, list, list]:
    """ra, dec and z of four galaxies around a central at (ra, dec, z): just inside and
    just outside its radius, then just inside and just outside its velocity limit."""
    theta_deg = np.degrees(RADIUS / comoving_distance(z))
    ras = [ra, ra, ra, ra]
    decs = [dec + theta_deg * (1 - EPSILON), dec - theta_deg * (1 + EPSILON), dec, dec]
    zs = [z, z, _redshift_at_velocity(z, DV * (1 - EPSILON)),
          _redshift_at_velocity(z, -DV * (1 + EPSILON))]
    return ras, decs, zs


@pytest.fixture
def catalogue() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three hundred galaxies in a small field with many cylinder neighbours, galaxies at
    the radius and Δv boundaries of some, a duplicate and a few NaN redshifts."""
    rng = np.random.default_rng(21)
    ra = list(rng.uniform(180.0, 180.3, 300))
    dec = list(rng.uniform(10.0, 10.3, 300))
    z = list(rng.uniform(0.30, 0.31, 300))
    for k in range(0, 40, 4):
        extra = _boundary_neighbours(ra[k], dec[k], z[k])
        for column, values in zip((ra, dec, z), extra, strict=True):
            column.extend(values)
    ra.append(ra[5])
    dec.append(dec[5])
    z.append(z[5])
    z[7] = z[150] = np.nan
    return np.array(ra), np.array(dec), np.array(z)


def test_cylinder_counts_match_brute_force(catalogue) -> None:
    ra, dec, z = catalogue

    counts = cylinder_counts(ra, dec, z, radius_mpc_h=RADIUS, dv_km_s=DV)

    assert counts.dtype == np.int64
    assert np.array_equal(counts, _brute_cylinder_counts(ra, dec, z))
    assert counts.max() > 3


def test_chunks_over_a_wide_redshift_range_match_brute_force(monkeypatch) -> None:
    from galcat.models.environment import measures

    monkeypatch.setattr(measures, "_CHUNK", 37)
    rng = np.random.default_rng(8)
    centres = rng.uniform(0.0, 2.0, 60)
    z = np.concatenate([[0.0, 0.0], np.repeat(centres, 10) + rng.normal(0, 0.002, 600)])
    z = np.abs(z)
    ra = np.concatenate([[200.0, 200.4], rng.uniform(200.0, 200.05, 600)])
    dec = np.concatenate([[-30.0, -30.2], rng.uniform(-30.0, -29.95, 600)])

    counts = cylinder_counts(ra, dec, z, radius_mpc_h=RADIUS, dv_km_s=DV)

    assert np.array_equal(counts, _brute_cylinder_counts(ra, dec, z))
    assert counts[:2].tolist() == [1, 1]
    assert (counts[2:] > 0).mean() > 0.5


def test_boundaries_are_strict_and_the_self_is_not_counted() -> None:
    ra, dec, z = _boundary_neighbours(30.0, -20.0, 0.5)
    ra, dec, z = [30.0, *ra], [-20.0, *dec], [0.5, *z]

    counts = cylinder_counts(ra, dec, z, radius_mpc_h=RADIUS, dv_km_s=DV)

    assert counts[0] == 2
    assert np.array_equal(counts, _brute_cylinder_counts(np.array(ra), np.array(dec),
                                                         np.array(z)))
    assert cylinder_counts([30.0], [-20.0], [0.5]).tolist() == [0]
    assert cylinder_counts([30.0, 30.0], [-20.0, -20.0], [0.5, 0.5]).tolist() == [1, 1]


def test_nan_redshifts_are_flagged_and_nobodys_neighbour(catalogue) -> None:
    ra, dec, z = catalogue
    known = np.isfinite(z)

    counts = cylinder_counts(ra, dec, z)
    distances = nth_neighbour_distance(ra, dec, z, n=3)

    assert np.all(counts[~known] == -1) and np.all(np.isnan(distances[~known]))
    assert np.array_equal(counts[known], cylinder_counts(ra[known], dec[known], z[known]))
    assert np.array_equal(distances[known],
                          nth_neighbour_distance(ra[known], dec[known], z[known], n=3))


def test_denser_region_has_more_neighbours() -> None:
    rng = np.random.default_rng(2)
    n_field, n_group = 3000, 300
    ra = np.concatenate([rng.uniform(40.0, 42.0, n_field), rng.normal(41.0, 0.02, n_group)])
    dec = np.concatenate([rng.uniform(0.0, 2.0, n_field), rng.normal(1.0, 0.02, n_group)])
    z = np.concatenate([rng.uniform(0.2, 0.4, n_field), rng.normal(0.3, 0.001, n_group)])
    in_group = np.arange(ra.size) >= n_field

    counts = cylinder_counts(ra, dec, z)
    distances = nth_neighbour_distance(ra, dec, z)

    assert counts[in_group].mean() > 10 * max(counts[~in_group].mean(), 0.1)
    assert np.median(distances[in_group]) < 0.3 * np.median(distances[~in_group])
    assert spearman(counts, distances) < -0.3


@pytest.mark.parametrize("n", [1, 5])
def test_nth_neighbour_distance_matches_brute_force(catalogue, n: int) -> None:
    ra, dec, z = catalogue
    known = np.isfinite(z)
    xyz = sky_to_cartesian(ra[known], dec[known], z[known])
    expected = np.sort(cdist(xyz, xyz), axis=1)[:, n]

    distances = nth_neighbour_distance(ra, dec, z, n=n)

    assert np.allclose(distances[known], expected, rtol=1e-12, atol=1e-9)


def test_too_few_galaxies_give_infinite_distance() -> None:
    assert np.array_equal(nth_neighbour_distance([1.0, 1.1], [0.0, 0.0], [0.3, 0.3], n=2),
                          [np.inf, np.inf])


def test_spearman_ignores_nan_pairs() -> None:
    rng = np.random.default_rng(4)
    a = rng.normal(size=200)
    b = a + rng.normal(scale=0.5, size=200)
    a_nan, b_nan = a.copy(), b.copy()
    a_nan[:10] = np.nan
    b_nan[10:20] = np.nan

    assert spearman(a_nan, b_nan) == pytest.approx(stats.spearmanr(a[20:], b[20:]).statistic)
    assert spearman([1, 2, 3, np.nan], [2, 4, 8, 1]) == pytest.approx(1.0)
    assert np.isnan(spearman([1.0, np.nan], [np.nan, 2.0]))
