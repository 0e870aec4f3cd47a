"""Sérsic emulator: a CNN that reads a profile image and returns GALFIT-style parameters.

Outputs, per galaxy, a Gaussian (mean, log sigma) for six standardised
targets: ``dmag = mag - m_sum`` (see :mod:`models.galaxy.preprocess`),
``log10 r_eff_arcsec``, ``log10 n``, ``q``, ``cos 2PA``, ``sin 2PA``. The
doubled angle makes PA and PA+180 the same answer. Training minimises the
heteroscedastic Gaussian negative log-likelihood, so the predicted sigmas are
per-galaxy uncertainties; :func:`train` reports how often the truth falls
within them (0.68 when calibrated). Only ``keras.ops`` is used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from galcat.models.batches import predict_in_batches
from galcat.models.galaxy.augment import d4, d4_pa_deg
from galcat.models.galaxy.nets import conv_encoder
from galcat.models.galaxy.preprocess import N_SCALARS, NetworkInputs, network_inputs
from galcat.models.galaxy.profile import HST_F160W_64, ImagingProfile

TARGETS = ("dmag", "log_r_eff", "log_n", "q", "cos2pa", "sin2pa")
TARGET_CENTRE = np.array([0.0, -0.4, 0.24, 0.6, 0.0, 0.0])
TARGET_SCALE = np.array([0.2, 0.35, 0.3, 0.23, 0.7, 0.7])
LOG_SIGMA_RANGE = (-7.0, 3.0)


@dataclass(frozen=True)
class EmulatorConfig:
    """Hyper-parameters; the defaults are the shipped size, tests use tiny ones.

    ``run_eagerly`` skips graph tracing: slower per step, but seconds faster
    for the tiny models of tests and notebooks.
    """

    filters: tuple[int, ...] = (16, 32, 64)
    dense_units: int = 128
    learning_rate: float = 1e-3
    batch_size: int = 64
    epochs: int = 40
    validation_fraction: float = 0.1
    augment: bool = True
    run_eagerly: bool = False


@keras.saving.register_keras_serializable(package="galcat")
def gaussian_nll(y_true: Any, y_pred: Any) -> Any:
    """Mean over targets of ``0.5 z^2 + log sigma`` (``y_pred``: 6 means then 6 log sigmas)."""
    k = len(TARGETS)
    mu = y_pred[:, :k]
    log_sigma = ops.clip(y_pred[:, k:], *LOG_SIGMA_RANGE)
    z = (y_true - mu) * ops.exp(-log_sigma)
    return ops.mean(0.5 * z * z + log_sigma, axis=-1)


def build_emulator(config: EmulatorConfig = EmulatorConfig(),
                   profile: ImagingProfile = HST_F160W_64) -> keras.Model:
    """Uncompiled-weights model: inputs ``image`` (S, S, 2) and ``scalars`` (3,); output (12,)."""
    size = profile.size_px
    image = keras.Input((size, size, 2), name="image")
    scalars = keras.Input((N_SCALARS,), name="scalars")
    features = conv_encoder(image, config.filters, name="emulator")
    x = layers.Concatenate(name="with_scalars")([features, scalars])
    x = layers.Dense(config.dense_units, activation="relu", name="dense1")(x)
    x = layers.Dense(config.dense_units, activation="relu", name="dense2")(x)
    out = layers.Dense(2 * len(TARGETS), name="gaussian",
                       kernel_initializer=keras.initializers.RandomNormal(stddev=1e-3))(x)
    model = keras.Model({"image": image, "scalars": scalars}, out, name="sersic_emulator")
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=gaussian_nll,
                  run_eagerly=config.run_eagerly)
    return model


def encode_targets(truth: Any, mag_sum: np.ndarray) -> np.ndarray:
    """Standardised targets (N, 6) from truth columns (structured array or mapping)."""
    two_pa = np.deg2rad(2.0 * np.asarray(truth["pa_deg"], dtype=float))
    raw = np.stack([
        np.asarray(truth["mag"], dtype=float) - mag_sum,
        np.log10(np.asarray(truth["r_eff_arcsec"], dtype=float)),
        np.log10(np.asarray(truth["sersic_n"], dtype=float)),
        np.asarray(truth["axis_ratio"], dtype=float),
        np.cos(two_pa), np.sin(two_pa)], axis=-1)
    return ((raw - TARGET_CENTRE) / TARGET_SCALE).astype(np.float32)


def decode(raw: np.ndarray, mag_sum: np.ndarray) -> dict[str, np.ndarray]:
    """Physical parameters and 1σ uncertainties from the network's (N, 12) output."""
    k = len(TARGETS)
    mu = raw[:, :k] * TARGET_SCALE + TARGET_CENTRE
    sigma = np.exp(np.clip(raw[:, k:], *LOG_SIGMA_RANGE)) * TARGET_SCALE
    r_eff = 10.0 ** mu[:, 1]
    n = 10.0 ** mu[:, 2]
    c, s = mu[:, 4], mu[:, 5]
    rho2 = np.maximum(c * c + s * s, 1e-12)
    two_pa_err = np.hypot(sigma[:, 4] * s, sigma[:, 5] * c) / rho2
    return {
        "mag": mag_sum + mu[:, 0], "mag_err": sigma[:, 0],
        "r_eff_arcsec": r_eff, "r_eff_err": math.log(10.0) * r_eff * sigma[:, 1],
        "sersic_n": n, "sersic_n_err": math.log(10.0) * n * sigma[:, 2],
        "axis_ratio": np.clip(mu[:, 3], 0.05, 1.0), "axis_ratio_err": sigma[:, 3],
        "pa_deg": np.mod(np.degrees(0.5 * np.arctan2(s, c)), 180.0),
        "pa_err_deg": np.minimum(np.degrees(0.5 * two_pa_err), 90.0),
    }


def _column(truth: Any, name: str, default: float | None = None) -> np.ndarray | None:
    names = truth.dtype.names if hasattr(truth, "dtype") else list(truth)
    if names is not None and name in names:
        return np.asarray(truth[name], dtype=float)
    return None if default is None else np.asarray(default)


def _inputs_for(images: np.ndarray, truth: Any, zero_point: float | None,
                profile: ImagingProfile) -> NetworkInputs:
    zp = _column(truth, "zero_point")
    return network_inputs(images, zero_point=zp if zp is not None else zero_point,
                          psf_fwhm_arcsec=_column(truth, "psf_fwhm_arcsec"),
                          sky_sigma=_column(truth, "sky_sigma"), profile=profile)


def _augmented(inputs: NetworkInputs, truth: Any, mag_sum: np.ndarray,
               rng: np.random.Generator) -> tuple[dict[str, np.ndarray], np.ndarray]:
    n = inputs.image.shape[0]
    ks = np.asarray(rng.integers(0, 4, size=n))
    flips = np.asarray(rng.random(size=n) < 0.5)
    image = np.empty_like(inputs.image)
    for i in range(n):
        image[i] = d4(inputs.image[i], int(ks[i]), bool(flips[i]), axes=(0, 1))
    moved = {name: np.asarray(truth[name]) for name in ("mag", "r_eff_arcsec", "sersic_n",
                                                         "axis_ratio")}
    moved["pa_deg"] = d4_pa_deg(np.asarray(truth["pa_deg"]), ks, flips)
    return {"image": image, "scalars": inputs.scalars}, encode_targets(moved, mag_sum)


def evaluate(pred: Mapping[str, np.ndarray], truth: Any) -> dict[str, float]:
    """Bias, robust scatter (1.4826 MAD) and 1σ coverage of predictions against truth."""
    out: dict[str, float] = {}
    pairs = {"mag": (pred["mag"] - truth["mag"], pred["mag_err"]),
             "log_r_eff": (np.log10(pred["r_eff_arcsec"] / truth["r_eff_arcsec"]),
                           pred["r_eff_err"] / pred["r_eff_arcsec"] / math.log(10.0)),
             "log_n": (np.log10(pred["sersic_n"] / truth["sersic_n"]),
                       pred["sersic_n_err"] / pred["sersic_n"] / math.log(10.0)),
             "q": (pred["axis_ratio"] - truth["axis_ratio"], pred["axis_ratio_err"])}
    for name, (err, sig) in pairs.items():
        err = np.asarray(err, dtype=float)
        out[f"{name}_bias"] = float(np.median(err))
        out[f"{name}_nmad"] = float(1.4826 * np.median(np.abs(err - np.median(err))))
        out[f"{name}_coverage_1sigma"] = float(np.mean(np.abs(err) <= sig))
    elongated = np.asarray(truth["axis_ratio"]) < 0.7
    dpa = np.abs(np.mod(pred["pa_deg"] - truth["pa_deg"] + 90.0, 180.0) - 90.0)
    out["pa_median_abs_err_deg_q_lt_0.7"] = float(np.median(dpa[elongated])) if elongated.any() \
        else float("nan")
    return out


def train(images: np.ndarray, truth: Any, seed: int, *,
          config: EmulatorConfig = EmulatorConfig(), zero_point: float | None = None,
          profile: ImagingProfile = HST_F160W_64, verbose: int = 0,
          ) -> tuple[keras.Model, dict[str, Any]]:
    """Train on single-Sérsic images ``(N, S, S)`` with truth columns; return model and metrics.

    ``truth`` needs ``mag, r_eff_arcsec, sersic_n, axis_ratio, pa_deg`` and may
    give ``zero_point``, ``psf_fwhm_arcsec``, ``sky_sigma`` per image. A
    ``validation_fraction`` of the set is held out for the reported metrics.
    """
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    n = len(images)
    order = rng.permutation(n)
    n_val = max(1, round(config.validation_fraction * n)) if n > 1 else 0
    val_idx, train_idx = order[:n_val], order[n_val:]
    inputs = _inputs_for(images, truth, zero_point, profile)

    def subset(idx: np.ndarray) -> tuple[NetworkInputs, Any]:
        sub = NetworkInputs(inputs.image[idx], inputs.scalars[idx], inputs.mag_sum[idx],
                            inputs.sky_sigma[idx])
        return sub, {k: np.asarray(truth[k])[idx] for k in
                     ("mag", "r_eff_arcsec", "sersic_n", "axis_ratio", "pa_deg")}

    tr_in, tr_truth = subset(train_idx)
    va_in, va_truth = subset(val_idx)
    model = build_emulator(config, profile)
    y_val = encode_targets(va_truth, va_in.mag_sum)
    history: dict[str, list[float]] = {"loss": [], "val_loss": []}
    for _ in range(config.epochs):
        if config.augment:
            x, y = _augmented(tr_in, tr_truth, tr_in.mag_sum, rng)
        else:
            x, y = tr_in.as_dict(), encode_targets(tr_truth, tr_in.mag_sum)
        h = model.fit(x, y, batch_size=config.batch_size, epochs=1, shuffle=True,
                      validation_data=(va_in.as_dict(), y_val), verbose=verbose)
        history["loss"].append(float(h.history["loss"][-1]))
        history["val_loss"].append(float(h.history["val_loss"][-1]))
    pred = decode(np.asarray(model.predict(va_in.as_dict(), verbose=0)), va_in.mag_sum)
    metrics: dict[str, Any] = {"history": history, "n_train": int(train_idx.size),
                               "n_validation": int(val_idx.size), "config": asdict(config),
                               **evaluate(pred, va_truth)}
    return model, metrics


def predict(model: keras.Model, images: np.ndarray, *,
            zero_point: float | np.ndarray | None = None,
            psf_fwhm_arcsec: float | np.ndarray | None = None,
            sky_sigma: float | np.ndarray | None = None, batch_size: int = 256,
            profile: ImagingProfile = HST_F160W_64) -> dict[str, np.ndarray]:
    """Sérsic parameters in physical units for images ``(N, H, W)`` (or one ``(H, W)``).

    Returns ``mag, mag_err, r_eff_arcsec, r_eff_err, sersic_n, sersic_n_err,
    axis_ratio, axis_ratio_err, pa_deg, pa_err_deg`` and ``mag_sum``.
    """
    inputs = network_inputs(images, zero_point=zero_point, psf_fwhm_arcsec=psf_fwhm_arcsec,
                            sky_sigma=sky_sigma, profile=profile)
    raw = np.asarray(predict_in_batches(model, inputs.as_dict(), batch_size))
    out = decode(raw, inputs.mag_sum)
    out["mag_sum"] = inputs.mag_sum
    return out
