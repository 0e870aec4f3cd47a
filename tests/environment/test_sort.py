"""SORT (Tejos+2018): rank order kept, draws from the reference dN/dz of each pencil beam,
the same answer whichever part of the sky is computed, and structure recovered."""

from __future__ import annotations

import numpy as np
import pytest

from galcat.models.environment.sort import SortParameters, sky_cells, sort_redshifts

WALLS = np.array([0.45, 0.52, 0.58, 0.66, 0.74])


def walls_sky(n: int = 40_000, seed: int = 3, spec_fraction: float = 0.1,
              field_deg: float = 2.0) -> dict[str, np.ndarray]:
    """Galaxies on thin redshift walls (σ_z = 0.001) with 0.03(1+z) photo-z."""
    rng = np.random.default_rng(seed)
    z = rng.choice(WALLS, n) + rng.normal(0, 0.001, n)
    return {"ra": rng.uniform(150, 150 + field_deg, n), "dec": rng.uniform(1, 1 + field_deg, n),
            "z": z, "z_phot": z + 0.03 * (1 + z) * rng.normal(size=n),
            "z_spec": np.where(rng.random(n) < spec_fraction, z, np.nan)}


@pytest.fixture(scope="module")
def sky() -> dict[str, np.ndarray]:
    return walls_sky()


def test_one_grid_keeps_rank_order_and_draws_only_reference_redshifts(sky):
    params = SortParameters(cell_arcmin=12, overlap=0.0, kernel_dz=0.0, min_reference=3)
    result = sort_redshifts(sky["ra"], sky["dec"], sky["z_phot"], sky["z_spec"], params)
    assert result.recovered.shape == (len(sky["ra"]), 1)
    cells = sky_cells(sky["ra"], sky["dec"], 12)
    uncertain = ~np.isfinite(sky["z_spec"])
    checked = 0
    for cell in np.unique(cells)[:40]:
        here = cells == cell
        refs = set(sky["z_spec"][here & ~uncertain])
        unc = np.flatnonzero(here & uncertain)
        values = result.recovered[unc, 0]
        if len(refs) < 3:
            assert np.isnan(values).all()
            continue
        order = np.argsort(sky["z_phot"][unc], kind="stable")
        assert np.all(np.diff(values[order]) >= 0)
        assert set(values) <= refs
        checked += 1
    assert checked > 20


def test_references_keep_their_redshift_and_others_get_one_value_per_grid(sky):
    result = sort_redshifts(sky["ra"], sky["dec"], sky["z_phot"], sky["z_spec"],
                            SortParameters(cell_arcmin=12, overlap=0.5))
    ref = np.isfinite(sky["z_spec"])
    assert result.recovered.shape[1] == 4
    np.testing.assert_array_equal(result.z[ref], sky["z_spec"][ref])
    np.testing.assert_array_equal(result.z_err[ref], 0.0)
    assert result.is_reference.sum() == ref.sum()
    unc = ~ref
    assert np.mean(result.n_values[unc] == 4) > 0.9
    drawn = result.recovered[unc]
    has = np.isfinite(drawn).any(axis=1)
    assert np.all(np.isin(result.z_draw[unc][has], drawn[has]))


@pytest.mark.parametrize(("overlap", "grids"), [(0.0, 1), (0.5, 4), (0.75, 16)])
def test_overlap_sets_how_many_sub_volumes_hold_each_galaxy(overlap, grids):
    assert len(SortParameters(overlap=overlap).grids) == grids


def test_a_tile_computed_with_a_margin_equals_the_whole_sky_answer(sky):
    params = SortParameters(cell_arcmin=12, overlap=0.5, seed=5)
    ids = np.arange(len(sky["ra"])) * 7 + 11
    whole = sort_redshifts(sky["ra"], sky["dec"], sky["z_phot"], sky["z_spec"], params, ids=ids)
    margin = 12 / 60 * 1.05
    part = (sky["ra"] < 151.0 + margin) & (sky["dec"] < 2.0 + margin)
    sub = sort_redshifts(sky["ra"][part], sky["dec"][part], sky["z_phot"][part],
                         sky["z_spec"][part], params, ids=ids[part])
    inner = (sky["ra"][part] < 151.0) & (sky["dec"][part] < 2.0)
    for name in ("z", "z_err", "z_draw"):
        np.testing.assert_array_equal(getattr(whole, name)[part][inner], getattr(sub, name)[inner])
    shuffled = np.random.default_rng(0).permutation(len(ids))
    again = sort_redshifts(sky["ra"][shuffled], sky["dec"][shuffled], sky["z_phot"][shuffled],
                           sky["z_spec"][shuffled], params, ids=ids[shuffled])
    np.testing.assert_array_equal(again.z_draw, whole.z_draw[shuffled])


def test_seed_changes_the_draws_and_repeats_them(sky):
    args = (sky["ra"], sky["dec"], sky["z_phot"], sky["z_spec"])
    a = sort_redshifts(*args, SortParameters(seed=1))
    b = sort_redshifts(*args, SortParameters(seed=1))
    c = sort_redshifts(*args, SortParameters(seed=2))
    np.testing.assert_array_equal(a.z_draw, b.z_draw)
    unc = ~a.is_reference & np.isfinite(a.z_draw)
    assert np.mean(a.z_draw[unc] != c.z_draw[unc]) > 0.5


def test_sort_puts_photometric_galaxies_back_on_their_walls(sky):
    result = sort_redshifts(sky["ra"], sky["dec"], sky["z_phot"], sky["z_spec"],
                            SortParameters(cell_arcmin=12, overlap=0.5))
    unc = ~result.is_reference & np.isfinite(result.z_draw)
    nearest_wall = np.abs(result.z_draw[unc, None] - WALLS).min(axis=1)
    photo_nearest = np.abs(sky["z_phot"][unc, None] - WALLS).min(axis=1)
    on_wall_sort = np.mean(nearest_wall < 0.005)
    on_wall_photo = np.mean(photo_nearest < 0.005)
    assert on_wall_sort > 0.9 > 0.4 > on_wall_photo
    err_sort = np.median(np.abs(result.z[unc] - sky["z"][unc]))
    err_photo = np.median(np.abs(sky["z_phot"][unc] - sky["z"][unc]))
    assert err_sort < err_photo


def test_sparse_sub_volumes_give_no_value_and_nan_photo_z_stays_unknown():
    s = walls_sky(n=2000, spec_fraction=0.01)
    s["z_phot"][:10] = np.nan
    s["z_spec"][:10] = np.nan
    result = sort_redshifts(s["ra"], s["dec"], s["z_phot"], s["z_spec"],
                            SortParameters(cell_arcmin=6, min_reference=50))
    unc = ~result.is_reference
    assert np.isnan(result.z[unc]).all()
    assert (result.n_values[unc] == 0).all()


@pytest.mark.parametrize("bad", [{"cell_arcmin": 0}, {"overlap": 1.0}, {"overlap": -0.1},
                                 {"min_reference": 0}, {"kernel_dz": -1}])
def test_bad_parameters_are_refused(bad):
    with pytest.raises(ValueError):
        SortParameters(**bad)
