"""The neighbour redshift network: on a toy sky of thin redshift walls in small sky clumps,
trained on one sky and tested on another, its posterior beats the photo-z, is calibrated,
and its draws land galaxies back on their walls; plus the neighbour features' contract
(no galaxy sees itself, padding masked), the mixture's math, determinism and save/load."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from scipy.stats import norm

from galcat.models.environment.neighbours import NeighbourFeatures, neighbour_features
from galcat.models.environment.network import (
    RedshiftPosterior,
    build_redshift_network,
    fit_redshift_network,
    load_redshift_network,
    mixture_nll,
    predict_redshift_posterior,
    save_redshift_network,
)

WALLS = np.array([0.35, 0.45, 0.55, 0.65, 0.75, 0.85])
PHOTO_Z_SIGMA = 0.03


def toy_sky(seed: int, per_wall: int = 300, clumps: int = 3, n_field: int = 1500,
            spec_fraction: float = 0.15) -> dict[str, np.ndarray]:
    """A 1°×1° field: each wall (σ_z = 0.002) is a few sky clumps of 1.5′ radius; the field
    population is uniform in sky and in 0.3 < z < 0.9; photo-z errors 0.03(1+z)."""
    rng = np.random.default_rng(seed)
    ra, dec, z, wall = [], [], [], []
    for z_wall in WALLS:
        centres = rng.uniform(0.1, 0.9, (clumps, 2))
        position = centres[rng.integers(clumps, size=per_wall)] + rng.normal(
            0, 1.5 / 60, (per_wall, 2))
        ra.append(150 + position[:, 0])
        dec.append(position[:, 1])
        z.append(z_wall + rng.normal(0, 0.002, per_wall))
        wall.append(np.full(per_wall, z_wall))
    ra.append(rng.uniform(150, 151, n_field))
    dec.append(rng.uniform(0, 1, n_field))
    z.append(rng.uniform(0.3, 0.9, n_field))
    wall.append(np.full(n_field, np.nan))
    ra_, dec_, z_, wall_ = map(np.concatenate, (ra, dec, z, wall))
    z_phot = z_ + PHOTO_Z_SIGMA * (1 + z_) * rng.normal(size=len(z_))
    return {"ra": ra_, "dec": dec_, "z": z_, "wall": wall_, "z_phot": z_phot,
            "z_phot_err": PHOTO_Z_SIGMA * (1 + z_phot),
            "z_spec": np.where(rng.random(len(z_)) < spec_fraction, z_, np.nan)}


def features_of(sky: dict[str, np.ndarray], **kw) -> NeighbourFeatures:
    return neighbour_features(sky["ra"], sky["dec"], sky["z_phot"], sky["z_phot_err"],
                              sky["z_spec"], **kw)


def concatenate(parts: list[NeighbourFeatures]) -> NeighbourFeatures:
    return NeighbourFeatures(*(np.concatenate([getattr(p, name) for p in parts])
                               for name in NeighbourFeatures.__dataclass_fields__))


def nmad(z: np.ndarray, truth: np.ndarray) -> float:
    d = (z - truth) / (1 + truth)
    return float(1.4826 * np.median(np.abs(d - np.median(d))))


@pytest.fixture(scope="module")
def trained():
    skies = [toy_sky(seed) for seed in (1, 2)]
    model, metrics = fit_redshift_network(concatenate([features_of(s) for s in skies]),
                                          np.concatenate([s["z"] for s in skies]),
                                          epochs=10, batch_size=256, width=32, seed=0)
    test = toy_sky(99)
    features = features_of(test)
    return {"model": model, "metrics": metrics, "sky": test, "features": features,
            "posterior": predict_redshift_posterior(model, features)}


def test_posterior_median_beats_the_photo_z_on_walls(trained):
    sky, posterior = trained["sky"], trained["posterior"]
    on_wall = ~np.isfinite(sky["z_spec"]) & np.isfinite(sky["wall"])
    truth = sky["z"][on_wall]
    learned = nmad(posterior.median()[on_wall], truth)
    photo = nmad(sky["z_phot"][on_wall], truth)
    assert learned < 0.5 * photo, (learned, photo)
    assert np.isfinite(trained["metrics"]["train_nll"])


def test_68_percent_interval_is_calibrated(trained):
    sky, posterior = trained["sky"], trained["posterior"]
    uncertain = ~np.isfinite(sky["z_spec"])
    inside = (posterior.quantile(0.16) <= sky["z"]) & (sky["z"] <= posterior.quantile(0.84))
    assert 0.5 < inside[uncertain].mean() < 0.85


def test_draws_put_galaxies_back_on_their_walls(trained):
    sky, posterior = trained["sky"], trained["posterior"]
    on_wall = ~np.isfinite(sky["z_spec"]) & np.isfinite(sky["wall"])
    draws = posterior.sample(np.random.default_rng(5))
    drawn = np.mean(np.abs(draws - sky["wall"])[on_wall] < 0.005)
    photo = np.mean(np.abs(sky["z_phot"] - sky["wall"])[on_wall] < 0.005)
    assert drawn > 0.5 and drawn > 3 * photo, (drawn, photo)


def test_save_and_load_give_identical_predictions(trained, tmp_path):
    path = save_redshift_network(trained["model"], tmp_path / "redshift.keras")
    loaded = load_redshift_network(path)
    subset = trained["features"].subset(np.arange(500))
    before = predict_redshift_posterior(trained["model"], subset)
    after = predict_redshift_posterior(loaded, subset)
    for name in ("weights", "centres", "widths"):
        np.testing.assert_array_equal(getattr(before, name), getattr(after, name))


def test_a_galaxy_never_sees_its_own_spectroscopic_redshift():
    sky = toy_sky(3, per_wall=60, n_field=300, spec_fraction=0.3)
    spec = np.flatnonzero(np.isfinite(sky["z_spec"]))
    own_z = sky["z_spec"][spec].astype(np.float32)[:, None]
    hidden = features_of(sky, k_reference=8, m_photometric=8)
    assert not np.any((hidden.reference_z[spec] == own_z) & (hidden.reference_mask[spec] > 0))
    shown = features_of(sky, k_reference=8, m_photometric=8, exclude_self=False)
    np.testing.assert_array_equal(shown.reference_z[spec, 0], own_z[:, 0])


def test_padding_is_masked_when_fewer_neighbours_lie_within_reach():
    ra = np.array([10.0, 10.0 + 2 / 60, 10.0, 10.0 - 5 / 60, 10.0 + 30 / 60, 10.0 + 1 / 60])
    dec = np.array([0.0, 0.0, 4 / 60, 0.0, 0.0, 0.0])
    z_spec = np.array([np.nan, 0.5, 0.6, 0.7, 0.8, np.nan])
    z_phot = np.full(6, 0.55)
    f = neighbour_features(ra, dec, z_phot, np.full(6, 0.05), z_spec, k_reference=5,
                           m_photometric=3, max_arcmin=10.0)
    np.testing.assert_array_equal(f.reference_mask[0], [1, 1, 1, 0, 0])
    np.testing.assert_allclose(f.reference_z[0], [0.5, 0.6, 0.7, 0, 0], atol=1e-6)
    assert not f.reference[0, 3:].any()
    np.testing.assert_allclose(10 ** f.reference[0, :3, 2], [2, 4, 5], rtol=1e-3)
    np.testing.assert_array_equal(f.photometric_mask[0], [1, 0, 0])
    assert not f.photometric[0, 1:].any()
    np.testing.assert_array_equal(f.reference_mask[4], [0, 0, 0, 0, 0])
    posterior = predict_redshift_posterior(build_redshift_network(
        5, 3, f.reference.shape[2], f.photometric.shape[2], f.own.shape[1], width=8), f)
    assert np.all(posterior.weights[0, 3:5] == 0) and np.all(posterior.weights[4, :5] == 0)
    np.testing.assert_allclose(posterior.weights.sum(axis=1), 1.0)


def test_features_and_training_are_deterministic_for_a_seed():
    sky = toy_sky(4, per_wall=50, n_field=200)
    first, second = features_of(sky), features_of(sky)
    for name in NeighbourFeatures.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    calls: list[tuple[int, int]] = []
    runs = [fit_redshift_network(first, sky["z"], epochs=2, batch_size=128, width=8, seed=7,
                                 progress=lambda message, done, total: calls.append(
                                     (done, total)))
            for _ in range(2)]
    assert calls == [(1, 2), (2, 2)] * 2
    assert runs[0][1]["train_nll"] == runs[1][1]["train_nll"]
    a, b = (predict_redshift_posterior(model, first) for model, _ in runs)
    np.testing.assert_allclose(a.weights, b.weights, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(a.widths, b.widths, rtol=1e-6)


def test_mixture_summaries_match_the_mixture():
    weights = np.array([[0.3, 0.0, 0.7], [0.5, 0.5, 0.0]])
    centres = np.array([[0.5, 9.0, 0.6], [0.4, 0.6, 0.0]])
    widths = np.array([[0.01, 1.0, 0.05], [0.02, 0.02, 1.0]])
    posterior = RedshiftPosterior(weights, centres, widths)
    np.testing.assert_allclose(posterior.median()[1], 0.5, atol=1e-6)
    for q in (0.16, 0.5, 0.84):
        z = posterior.quantile(q)
        np.testing.assert_allclose(posterior.cdf(z), q, atol=1e-5)
    draws = np.stack([posterior.sample(np.random.default_rng(s)) for s in range(4000)])
    np.testing.assert_allclose(draws.mean(axis=0), posterior.mean(), atol=3e-3)
    np.testing.assert_allclose(draws.std(axis=0), posterior.sigma(), rtol=0.05)
    z_true = np.array([0.55, 0.41])
    expected = -np.log(np.sum(weights * norm.pdf(z_true[:, None], centres, widths), axis=1))
    logits = np.log(np.maximum(weights, 1e-30))
    stacked = np.stack([logits, centres, widths], axis=-1).astype(np.float32)
    got = keras.ops.convert_to_numpy(mixture_nll(z_true.astype(np.float32), stacked))
    np.testing.assert_allclose(got, expected, rtol=1e-4)
