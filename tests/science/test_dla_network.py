"""The window network: geometry, labels, sampling and seeded training (tiny configs)."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from galcat.models.dla.constants import LYA, LYB
from galcat.models.dla.mock import TRUTH_DTYPE, MockConfig, generate_mock_sightlines
from galcat.models.dla.network import (
    TINY_CONFIG,
    NetworkConfig,
    build_window_model,
    pixel_labels,
    train,
    windows_and_labels,
)
from galcat.models.dla.preprocess import prepare_mock, prepare_sightline

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
EASY = MockConfig(
    absorber_sightline_fraction=1.0,
    dla_fraction=1.0,
    snr_range=(8.0, 30.0),
    lls_incidence_scale=0.0,
)


def test_default_geometry_tiles_400_pixels_with_valid_padding() -> None:
    cfg = NetworkConfig()
    assert cfg.lengths() == [124, 40, 25, 11, 7, 3]
    assert cfg.total_stride() == 36
    assert TINY_CONFIG.lengths() == [25, 12, 10, 5, 4, 2]
    assert TINY_CONFIG.total_stride() == 24


def test_geometry_that_does_not_tile_is_rejected() -> None:
    with pytest.raises(ValueError, match="does not tile"):
        replace(NetworkConfig(), conv_kernels=(32, 16, 16)).lengths()


def test_models_package_never_uses_tensorflow_directly() -> None:
    offenders = []
    for path in MODELS_DIR.joinpath("dla").glob("*.py"):
        text = path.read_text()
        if re.search(r"^\s*(import tensorflow|from tensorflow)|\btf\.", text, re.MULTILINE):
            offenders.append(path.name)
    assert offenders == []


def test_window_model_outputs_and_parameter_count() -> None:
    model = build_window_model(NetworkConfig())
    assert model.input_shape == (None, 400, 2)
    out = model(np.zeros((3, 400, 2), np.float32))
    assert set(out) == {"is_dla", "offset", "log_nhi"}
    assert all(tuple(v.shape) == (3, 1) for v in out.values())
    fc = model.get_layer("fc").get_weights()[0]
    assert fc.shape == (3 * 96, 350)


def one_dla_setup(z_qso: float = 3.0, log_nhi: float = 21.0):
    k = np.arange(int(np.ceil(np.log10(3600) * 1e4)), int(np.log10(10400) * 1e4))
    prepared = prepare_sightline(k * 1e-4, np.ones(k.size), np.ones(k.size), z_qso)
    centre = prepared.pixel_first[0] + 900
    z_abs = 10 ** ((centre + 0.3) * 1e-4) / LYA.wavelength_aa - 1
    truth = np.zeros(1, dtype=TRUTH_DTYPE)
    truth[0] = (0, z_qso, z_abs, log_nhi, 20.0, "DLA", True)
    return prepared, truth, z_abs


def test_labels_mark_positives_offsets_and_ignored_windows() -> None:
    cfg = NetworkConfig()
    prepared, truth, z_abs = one_dla_setup()
    labels = pixel_labels(prepared, truth, cfg)
    j = np.arange(prepared.n_search)
    d = 900.3 - j
    assert np.array_equal(labels.is_dla[0] == 1, np.abs(d) <= 60)
    assert np.allclose(labels.offset[0][np.abs(d) <= 60], d[np.abs(d) <= 60], atol=2e-3)
    assert np.all(labels.log_nhi[0][np.abs(d) <= 60] == 21.0)
    assert np.all(labels.weight[0][(np.abs(d) > 60) & (np.abs(d) <= 120)] == 0)
    lyb = np.log10(LYB.wavelength_aa * (1 + z_abs)) * 1e4 - prepared.pixel_first[0]
    assert np.all(labels.weight[0][np.abs(j - lyb) <= 60] == 0)
    far = (np.abs(d) > 120) & (np.abs(j - lyb) > 60)
    assert np.all(labels.weight[0][far] == 1) and np.all(labels.is_dla[0][far] == 0)


def test_absorbers_below_the_label_threshold_are_plain_negatives() -> None:
    prepared, truth, _ = one_dla_setup(log_nhi=19.0)
    labels = pixel_labels(prepared, truth, NetworkConfig())
    assert labels.is_dla.sum() == 0 and labels.weight.min() == 1


def test_windows_are_balanced_slices_of_the_prepared_input() -> None:
    m = generate_mock_sightlines(30, 4, EASY)
    prepared = prepare_mock(m, window_pixels=TINY_CONFIG.window_pixels)
    w = windows_and_labels(prepared, m.truth, 0, TINY_CONFIG, max_windows=600)
    assert len(w) == 600 and w.is_dla.mean() == 0.5
    for n in range(0, 600, 97):
        s, j = w.sightline[n], w.search_pixel[n]
        assert np.array_equal(w.x[n], prepared.inputs[s, j : j + TINY_CONFIG.window_pixels])
    labels = pixel_labels(prepared, m.truth, TINY_CONFIG)
    assert np.all(labels.weight[w.sightline, w.search_pixel] == 1)
    pos = w.is_dla == 1
    assert np.all(np.abs(w.offset[pos]) <= TINY_CONFIG.offset_range_pixels)
    assert np.all(w.log_nhi[pos] >= 20.3) and np.all(w.offset[~pos] == 0)


@pytest.fixture(scope="module")
def tiny_training():
    train_mock = generate_mock_sightlines(80, 0, EASY)
    val_mock = generate_mock_sightlines(30, 1, EASY)
    cfg = TINY_CONFIG
    tw = windows_and_labels(
        prepare_mock(train_mock, window_pixels=cfg.window_pixels),
        train_mock.truth,
        0,
        cfg,
        max_windows=2000,
    )
    vw = windows_and_labels(
        prepare_mock(val_mock, window_pixels=cfg.window_pixels),
        val_mock.truth,
        1,
        cfg,
        max_windows=600,
    )
    model, metrics = train(
        tw, cfg, seed=7, epochs=6, batch_size=128, validation_windows=vw, jit_compile=False
    )
    return tw, vw, model, metrics


def test_tiny_network_learns_to_find_dlas(tiny_training) -> None:
    _, _, _, metrics = tiny_training
    losses = metrics["history"]["loss"]
    assert losses[-1] < 0.6 * losses[0]
    assert metrics["validation"]["accuracy"] > 0.85
    assert metrics["validation"]["offset_rmse_pixels"] < 0.75 * np.std(vw_offsets(tiny_training))


def vw_offsets(tiny_training) -> np.ndarray:
    vw = tiny_training[1]
    return vw.offset[vw.is_dla == 1]


def test_training_is_reproducible_from_the_seed(tiny_training) -> None:
    tw = tiny_training[0]
    n = 192
    small = replace(
        tw,
        x=tw.x[:n],
        is_dla=tw.is_dla[:n],
        offset=tw.offset[:n],
        log_nhi=tw.log_nhi[:n],
        sightline=tw.sightline[:n],
        search_pixel=tw.search_pixel[:n],
    )
    kw = {"epochs": 1, "batch_size": 64, "run_eagerly": True}
    a, ma = train(small, TINY_CONFIG, seed=3, **kw)
    b, mb = train(small, TINY_CONFIG, seed=3, **kw)
    c, _ = train(small, TINY_CONFIG, seed=4, **kw)
    wa, wb, wc = (np.concatenate([w.ravel() for w in m.get_weights()]) for m in (a, b, c))
    assert np.array_equal(wa, wb) and ma["history"] == mb["history"]
    assert not np.allclose(wa, wc)


def test_trained_tiny_network_finds_mock_dlas_end_to_end(tiny_training) -> None:
    """mock → preprocess → dense pass → votes → absorbers → score, with the tiny model."""
    from galcat.models.dla.absorbers import PeakConfig, find_absorbers
    from galcat.models.dla.dense import predict_dense
    from galcat.models.dla.evaluation import score_dla_catalog

    model = tiny_training[2]
    mock = generate_mock_sightlines(40, 2, EASY)
    prepared = prepare_mock(mock, window_pixels=TINY_CONFIG.window_pixels)
    catalog = find_absorbers(
        predict_dense(model, TINY_CONFIG, prepared),
        prepared,
        PeakConfig.for_offset_range(TINY_CONFIG.offset_range_pixels),
    )
    t, a = mock.truth, catalog.absorbers
    score = score_dla_catalog(
        t["sightline"],
        t["z_abs"],
        t["log_nhi"],
        a["sightline"],
        a["z_dla"],
        a["log_nhi"],
        a["type"],
        len(mock),
    )
    assert score.n_true_dla >= 40
    assert score.completeness_hi > 0.8 and score.completeness_dla > 0.6
    assert abs(score.mean_dz) < 0.002 and score.sigma_dz < 0.006
    assert score.sigma_dlog_nhi < 0.4


def test_fresh_mocks_each_epoch_are_new_windows_and_reproducible() -> None:
    from galcat.models.dla.recipe import (
        TrainingRecipe,
        mock_windows,
        train_recipe,
        validation_windows,
    )

    recipe = TrainingRecipe(seed=3, n_train_sightlines=8, n_validation_sightlines=4,
                            chunk_sightlines=4, epochs=2, batch_size=64,
                            fresh_each_epoch=True, network=TINY_CONFIG)
    rng = np.random.default_rng(recipe.seed)
    validation_windows(recipe, rng)
    first, second = mock_windows(recipe, rng), mock_windows(recipe, rng)
    assert not np.array_equal(first.x[:10], second.x[:10])
    a, ma, fa = train_recipe(recipe)
    b, mb, fb = train_recipe(recipe)
    assert fa == fb and ma["history"] == mb["history"]
    assert all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights(), strict=True))
    assert len(ma["history"]["loss"]) == ma["epochs"] == 2
    assert ma["n_train_windows"] == len(first) + len(second)
    steps = sum(-(-len(w) // recipe.batch_size) for w in (first, second))
    import keras

    assert int(keras.ops.convert_to_numpy(a.optimizer.iterations)) == steps
    _, _, same_data = train_recipe(replace(recipe, fresh_each_epoch=False))
    assert same_data != fa
