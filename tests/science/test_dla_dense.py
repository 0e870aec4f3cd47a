"""The dilated fully-convolutional pass equals the window model at every window centre."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from galcat.models.dla.dense import predict_dense, predict_windows
from galcat.models.dla.mock import generate_mock_sightlines
from galcat.models.dla.network import TINY_CONFIG, NetworkConfig, build_window_model
from galcat.models.dla.preprocess import PreparedSightlines, prepare_mock


def randomised_model(config: NetworkConfig, seed: int):
    """A window model with random weights *and* biases, scaled to keep activations O(1)."""
    import keras

    keras.utils.set_random_seed(seed)
    model = build_window_model(config)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            layer.set_weights(
                [
                    rng.normal(
                        0, 0.2 if w.ndim == 1 else 1.5 / np.sqrt(np.prod(w.shape[:-1])), w.shape
                    ).astype(np.float32)
                    for w in weights
                ]
            )
    return model


def random_inputs(n: int, config: NetworkConfig, n_search: int, seed: int) -> PreparedSightlines:
    """Mock sightlines with extra random noise and random masked stretches."""
    rng = np.random.default_rng(seed)
    prepared = prepare_mock(
        generate_mock_sightlines(n, seed), window_pixels=config.window_pixels, n_search=n_search
    )
    x = prepared.inputs
    x[..., 0] += rng.normal(0, 0.5, x.shape[:2]).astype(np.float32)
    x[..., 1] = (rng.random(x.shape[:2]) > 0.1).astype(np.float32)
    x[..., 0] *= x[..., 1]
    return prepared


def assert_same(dense, windows, columns=slice(None)) -> None:
    for name in ("probability", "offset", "log_nhi"):
        a = getattr(dense, name)[:, columns]
        b = getattr(windows, name)
        assert a.shape == b.shape
        scale = max(1.0, float(np.abs(b).max()))
        assert np.max(np.abs(a - b)) <= 1e-5 * scale, name
    assert np.std(windows.probability) > 0.05 and np.std(windows.offset) > 1.0


def test_tiny_dense_equals_window_model_everywhere() -> None:
    cfg = TINY_CONFIG
    model = randomised_model(cfg, 1)
    prepared = random_inputs(3, cfg, n_search=250, seed=2)
    dense = predict_dense(model, cfg, prepared, batch_size=2)
    assert dense.probability.shape == (3, 250)
    assert_same(dense, predict_windows(model, cfg, prepared))


def test_full_size_dense_equals_window_model_on_sampled_centres() -> None:
    cfg = NetworkConfig()
    model = randomised_model(cfg, 3)
    prepared = random_inputs(2, cfg, n_search=1748, seed=4)
    dense = predict_dense(model, cfg, prepared)
    assert dense.probability.shape == (2, 1748)
    centres = np.unique(
        np.concatenate([[0, 1, 35, 36, 1747], np.random.default_rng(0).integers(0, 1748, 120)])
    )
    assert_same(dense, predict_windows(model, cfg, prepared, search_pixels=centres), centres)


def test_dense_refuses_inputs_prepared_for_another_window() -> None:
    prepared = random_inputs(1, TINY_CONFIG, n_search=50, seed=5)
    with pytest.raises(ValueError, match="windows"):
        predict_dense(build_window_model(NetworkConfig()), NetworkConfig(), prepared)
