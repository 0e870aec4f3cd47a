"""Mock galaxies: reproducible, in profile, photometrically right, with plausible votes."""


import numpy as np
import pytest

from galcat.models.galaxy.mock import KINDS, TRUTH_DTYPE, make_mocks
from galcat.models.galaxy.profile import HST_F160W_64
from galcat.models.galaxy.sersic import flux_to_mag, mag_to_flux
from galcat.models.galaxy.votes import bulge_disk_class
from galcat.vocabulary import BD_CLASSES, CANDELS_FLAGS


@pytest.fixture(scope="module")
def mocks():
    return make_mocks(160, seed=11, keep_noise_free=True)


def test_shapes_types_and_every_kind(mocks):
    assert mocks.images.shape == (160, 64, 64)
    assert mocks.images.dtype == np.float32
    assert mocks.truth.dtype == TRUTH_DTYPE
    assert set(mocks.truth["kind"]) == set(KINDS)


def test_same_seed_same_mocks_other_seed_other_mocks(mocks):
    again = make_mocks(5, seed=11)
    other = make_mocks(5, seed=12)
    first = make_mocks(5, seed=11)
    np.testing.assert_array_equal(again.images, first.images)
    for name in first.truth.dtype.names:
        np.testing.assert_array_equal(again.truth[name], first.truth[name])
    assert not np.array_equal(other.images, first.images)


def test_truth_is_inside_the_trained_ranges(mocks):
    t, p = mocks.truth, HST_F160W_64
    assert np.all((t["mag"] >= p.mag[0]) & (t["mag"] <= p.mag[1]))
    ser = t["kind"] == "sersic"
    assert np.all((t["r_eff_arcsec"][ser] >= 0.1) & (t["r_eff_arcsec"][ser] <= 1.5))
    assert np.all((t["sersic_n"][ser] >= 0.5) & (t["sersic_n"][ser] <= 6.0))
    assert np.all((t["axis_ratio"] >= 0.2) & (t["axis_ratio"] <= 1.0))
    assert np.all(np.abs(t["x0"] - 31.5) <= 1.5) and np.all(np.abs(t["y0"] - 31.5) <= 1.5)
    sb = p.sb_limit(t["sky_sigma"], 25.94)
    assert np.all((sb >= 25.0 - 1e-9) & (sb <= 27.0 + 1e-9))


def test_noise_is_gaussian_with_the_recorded_sigma(mocks):
    pulls = (mocks.images - mocks.noise_free) / mocks.truth["sky_sigma"][:, None, None]
    assert pulls.std() == pytest.approx(1.0, abs=0.01)
    assert abs(pulls.mean()) < 0.01


def test_point_sources_and_compact_galaxies_carry_their_total_magnitude(mocks):
    t = mocks.truth
    flux = mocks.noise_free.sum(axis=(1, 2))
    point = t["kind"] == "point"
    np.testing.assert_allclose(flux[point], mag_to_flux(t["mag"][point], 25.94), rtol=1e-6)
    compact = (t["kind"] == "sersic") & (t["r_eff_arcsec"] < 0.3) & (t["sersic_n"] < 2)
    assert compact.any()
    np.testing.assert_allclose(flux_to_mag(flux[compact], 25.94), t["mag"][compact], atol=2e-3)
    # light is lost outside the stamp, never gained (beyond the 3e-4 per-pixel render tolerance)
    assert np.all(flux <= mag_to_flux(t["mag"], 25.94) * (1 + 1e-4))


def test_votes_look_like_candels(mocks):
    t = mocks.truth
    n_cls = t["n_classifiers"].astype(float)
    assert np.all((n_cls >= 5) & (n_cls <= 10))
    for flag in CANDELS_FLAGS:
        counts = t[flag] * n_cls
        np.testing.assert_allclose(counts, np.round(counts), atol=1e-4)
        assert np.all((t[flag] >= 0) & (t[flag] <= 1))
    assert t["f_ps"][t["kind"] == "point"].mean() > 0.8
    assert t["f_irr"][t["kind"] == "irregular"].mean() > 0.7
    disks = (t["kind"] == "sersic") & (t["sersic_n"] < 1.2)
    assert t["f_disk"][disks].mean() > t["f_spheroid"][disks].mean() + 0.3
    every = np.stack([t[f] for f in CANDELS_FLAGS[:4]], axis=1)
    disagree = np.any((every > 0) & (every < 1), axis=1)
    assert 0.2 < disagree.mean() < 1.0


def test_bulge_disk_classes_follow_the_truth():
    kind = np.array(["sersic", "sersic", "bulge_disk", "bulge_disk", "bulge_disk",
                     "irregular", "point"])
    n = np.array([4.0, 1.0, 1.0, 1.0, 1.0, 1.0, np.nan])
    bt = np.array([np.nan, np.nan, 0.9, 0.1, 0.5, np.nan, np.nan])
    cls = bulge_disk_class(kind, n, bt)
    assert [BD_CLASSES[c] if c >= 0 else None for c in cls] == [
        "bulge", "disk", "bulge", "disk", "bulge+disk", None, None]


def test_expected_fractions_are_what_the_votes_average_to() -> None:
    from galcat.models.galaxy.votes import simulate_votes

    rng = np.random.default_rng(11)
    p = np.tile([[0.7, 0.3, 0.05, 0.02, 0.1]], (20_000, 1))
    fractions, _, expected = simulate_votes(p, rng)
    np.testing.assert_allclose(fractions.mean(axis=0), expected[0], atol=0.006)
    assert np.ptp(expected, axis=0).max() == 0.0
    assert not np.allclose(expected[0], p[0], atol=0.02)
