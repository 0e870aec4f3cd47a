"""A tiny Keras regressor on generated data: exercises training and inference jobs.

The target is a smooth function of sky position, so predictions can be checked
against the truth: ``y = sin(2π ra/360) · cos(π dec/180)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class ToyConfig:
    hidden_units: int = 16
    epochs: int = 20
    batch_size: int = 64
    learning_rate: float = 0.01
    n_train: int = 2000


def features(ra_deg: NDArray[np.float64], dec_deg: NDArray[np.float64]) -> NDArray[np.float32]:
    """Network inputs from positions in degrees."""
    ra = np.radians(np.asarray(ra_deg, dtype=np.float64))
    dec = np.radians(np.asarray(dec_deg, dtype=np.float64))
    return np.stack([np.sin(ra), np.cos(ra), np.sin(dec)], axis=1).astype(np.float32)


def truth(ra_deg: NDArray[np.float64], dec_deg: NDArray[np.float64]) -> NDArray[np.float64]:
    """The function the toy learns."""
    return np.sin(np.radians(ra_deg)) * np.cos(np.radians(dec_deg))


def generate(n: int, seed: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``n`` random sky positions (degrees), uniform on the sphere."""
    rng = np.random.default_rng(seed)
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    return ra, dec


def build(config: ToyConfig) -> Any:
    """An MLP: 3 inputs → ``hidden_units`` → 1."""
    import keras

    inputs = keras.Input(shape=(3,), name="position")
    hidden = keras.layers.Dense(config.hidden_units, activation="tanh")(inputs)
    output = keras.layers.Dense(1, name="value")(hidden)
    model = keras.Model(inputs, output, name="toy_regressor")
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="mse")
    return model


def train(
    config: ToyConfig, seed: int, callbacks: list[Any] | None = None
) -> tuple[Any, dict[str, float]]:
    """Train on generated positions; metrics are RMS errors on train and held-out sets."""
    import keras

    keras.utils.set_random_seed(seed)
    ra, dec = generate(config.n_train + 500, seed)
    x, y = features(ra, dec), truth(ra, dec).astype(np.float32)
    model = build(config)
    model.fit(x[: config.n_train], y[: config.n_train], epochs=config.epochs,
              batch_size=config.batch_size, verbose=0, shuffle=True, callbacks=callbacks)
    metrics = {
        "rms_train": _rms(model, x[: config.n_train], y[: config.n_train]),
        "rms_test": _rms(model, x[config.n_train:], y[config.n_train:]),
    }
    return model, metrics


def predict(
    model: Any, ra_deg: NDArray[np.float64], dec_deg: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Predicted values for positions in degrees."""
    out = model.predict(features(ra_deg, dec_deg), verbose=0, batch_size=4096)
    return np.asarray(out, dtype=np.float64).reshape(-1)


def hyperparameters(config: ToyConfig) -> dict[str, Any]:
    return asdict(config)


def fingerprint(config: ToyConfig, seed: int) -> str:
    """sha256 of the ordered training inputs and targets."""
    import hashlib

    ra, dec = generate(config.n_train + 500, seed)
    digest = hashlib.sha256()
    digest.update(features(ra, dec)[: config.n_train].tobytes())
    digest.update(truth(ra, dec)[: config.n_train].astype(np.float32).tobytes())
    return digest.hexdigest()


def _rms(model: Any, x: NDArray[np.float32], y: NDArray[np.float32]) -> float:
    pred = np.asarray(model.predict(x, verbose=0)).reshape(-1)
    return float(np.sqrt(np.mean((pred - y) ** 2)))
