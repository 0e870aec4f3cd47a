"""Blue-nugget phase network: one camera's image of a simulated galaxy in, its history out.

After Huertas-Company et al. (2018, ApJ 858, 114). Three heads on one convolutional
encoder (:func:`~galcat.models.galaxy.nets.conv_encoder`) that reads the images as
every galcat galaxy network does (:func:`~galcat.models.galaxy.preprocess.network_inputs`,
whose three scalars are joined by the snapshot's redshift unless ``use_redshift`` is off):

* ``phase``: softmax over :data:`~galcat.models.simulation.history.PHASES`;
* ``cause``: logit of "the compaction was driven by a merger" (binary cross-entropy,
  masked before the compaction, where there is no cause);
* ``time_since_merger``: Gaussian mean (Gyr) and log-variance (log Gyr²) of the time
  since the last major merger (Gaussian negative log-likelihood, masked before the
  first major merger), so the predicted errors are calibrated.

Masked targets travel as ``(value, defined)`` pairs: an undefined label gives zero loss
and zero gradient. Training augments with random D4 elements and one-pixel shifts, as
the morphology network does; :func:`predict` averages the 8 D4 views (the Gaussian as
an equal mixture), which makes its answers invariant by construction.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from galcat.models.batches import predict_in_batches
from galcat.models.galaxy.augment import random_augment
from galcat.models.galaxy.morphology import class_crossentropy
from galcat.models.galaxy.nets import D4Mean, D4Views, RepeatRows, conv_encoder
from galcat.models.galaxy.preprocess import N_SCALARS, network_inputs
from galcat.models.galaxy.profile import HST_F160W_64, ImagingProfile
from galcat.models.simulation.history import PHASES

LOG_VAR_RANGE = (-9.0, 4.0)
LOG1PZ_CENTRE, LOG1PZ_SCALE = 0.6, 0.2
_INVARIANT: weakref.WeakKeyDictionary[keras.Model, keras.Model] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class PhaseNetConfig:
    """Hyper-parameters; the defaults are the bench size, tests use tiny ones.

    ``run_eagerly`` skips graph tracing (faster for tiny models, slower for real ones).
    """

    filters: tuple[int, ...] = (16, 32, 64)
    dense_units: int = 64
    learning_rate: float = 1e-3
    batch_size: int = 64
    epochs: int = 20
    max_shift_px: int = 1
    use_redshift: bool = True
    run_eagerly: bool = False


@keras.saving.register_keras_serializable(package="galcat")
def masked_binary_crossentropy(y_true: Any, y_pred: Any) -> Any:
    """Cross-entropy of a logit ``y_pred (N, 1)`` against ``y_true (N, 2)`` = (label, defined)."""
    label, defined = y_true[:, 0], y_true[:, 1]
    logit = y_pred[:, 0]
    loss = ops.relu(logit) - logit * label + ops.log1p(ops.exp(-ops.abs(logit)))
    return ops.where(defined > 0.5, loss, ops.zeros_like(loss))


@keras.saving.register_keras_serializable(package="galcat")
def masked_gaussian_nll(y_true: Any, y_pred: Any) -> Any:
    """``0.5 (y - mu)^2 / var + 0.5 log var`` with ``y_pred (N, 2)`` = (mu, log var),
    ``y_true (N, 2)`` = (value, defined); zero where the value is undefined."""
    value, defined = y_true[:, 0], y_true[:, 1]
    mu = y_pred[:, 0]
    log_var = ops.clip(y_pred[:, 1], *LOG_VAR_RANGE)
    ok = defined > 0.5
    residual = ops.where(ok, value - mu, ops.zeros_like(mu))
    loss = 0.5 * residual * residual * ops.exp(-log_var) + 0.5 * log_var
    return ops.where(ok, loss, ops.zeros_like(loss))


@keras.saving.register_keras_serializable(package="galcat")
class GaussianMoments(layers.Layer):
    """(mu, log var) → (mu, var + mu²): the moments whose D4 mean is the mixture's moments."""

    def call(self, x: Any) -> Any:
        mu = x[:, 0:1]
        var = ops.exp(ops.clip(x[:, 1:2], *LOG_VAR_RANGE))
        return ops.concatenate([mu, var + mu * mu], axis=-1)

    def compute_output_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(input_shape)


def n_scalars(config: PhaseNetConfig) -> int:
    """Width of the ``scalars`` input: the photometric scalars, plus redshift if used."""
    return N_SCALARS + int(config.use_redshift)


def build_phase_net(config: PhaseNetConfig = PhaseNetConfig(),
                    profile: ImagingProfile = HST_F160W_64) -> keras.Model:
    """Compiled single-view model: inputs ``image (S, S, 2)``, ``scalars``; outputs
    ``phase (3)`` probabilities, ``cause (1)`` logit, ``time_since_merger (2)`` (mu, log var)."""
    size = profile.size_px
    image = keras.Input((size, size, 2), name="image")
    scalars = keras.Input((n_scalars(config),), name="scalars")
    x = conv_encoder(image, config.filters, name="phase")
    x = layers.Concatenate(name="with_scalars")([x, scalars])
    features = layers.Dense(config.dense_units, activation="relu", name="features")(x)
    small = keras.initializers.RandomNormal(stddev=1e-3)
    outputs = {
        "phase": layers.Dense(len(PHASES), activation="softmax", name="phase")(features),
        "cause": layers.Dense(1, name="cause")(features),
        "time_since_merger": layers.Dense(2, name="time_since_merger",
                                          kernel_initializer=small)(features)}
    model = keras.Model({"image": image, "scalars": scalars}, outputs, name="bn_phases")
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  loss={"phase": class_crossentropy, "cause": masked_binary_crossentropy,
                        "time_since_merger": masked_gaussian_nll},
                  run_eagerly=config.run_eagerly)
    return model


def model_inputs(images: np.ndarray, *, redshift: float | np.ndarray | None,
                 use_redshift: bool, zero_point: float | np.ndarray | None = None,
                 psf_fwhm_arcsec: float | np.ndarray | None = None,
                 sky_sigma: float | np.ndarray | None = None,
                 profile: ImagingProfile = HST_F160W_64) -> dict[str, np.ndarray]:
    """``{"image", "scalars"}`` for images ``(N, H, W)`` in flux units; redshift per image."""
    inputs = network_inputs(images, zero_point=zero_point, psf_fwhm_arcsec=psf_fwhm_arcsec,
                            sky_sigma=sky_sigma, profile=profile)
    scalars = inputs.scalars
    if use_redshift:
        if redshift is None:
            raise ValueError("this phase network reads the redshift: pass redshift= "
                             "(one value, or one per image)")
        z = np.broadcast_to(np.asarray(redshift, dtype=float), (scalars.shape[0],))
        extra = ((np.log10(1.0 + z) - LOG1PZ_CENTRE) / LOG1PZ_SCALE).astype(np.float32)
        scalars = np.concatenate([scalars, extra[:, None]], axis=-1)
    return {"image": inputs.image, "scalars": scalars}


def encode_targets(labels: Any) -> dict[str, np.ndarray]:
    """Network targets from label columns ``phase``, ``cause`` (-1 undefined) and
    ``time_since_merger_gyr`` (NaN undefined): one-hot, then (value, defined) pairs."""
    phase = np.asarray(labels["phase"], dtype=int)
    cause = np.asarray(labels["cause"], dtype=float)
    tsm = np.asarray(labels["time_since_merger_gyr"], dtype=float)
    cause_ok, tsm_ok = cause >= 0, np.isfinite(tsm)
    return {"phase": np.eye(len(PHASES), dtype=np.float32)[phase],
            "cause": np.stack([np.where(cause_ok, cause, 0.0), cause_ok],
                              axis=-1).astype(np.float32),
            "time_since_merger": np.stack([np.where(tsm_ok, tsm, 0.0), tsm_ok],
                                          axis=-1).astype(np.float32)}


def _column(labels: Any, name: str) -> np.ndarray | None:
    names = labels.dtype.names if hasattr(labels, "dtype") else list(labels)
    return np.asarray(labels[name], dtype=float) if names and name in names else None


def train(images: np.ndarray, labels: Any, seed: int, *,
          config: PhaseNetConfig = PhaseNetConfig(), profile: ImagingProfile = HST_F160W_64,
          verbose: int = 0) -> tuple[keras.Model, dict[str, Any]]:
    """Train on images ``(N, S, S)`` with label columns ``phase, cause,
    time_since_merger_gyr, redshift`` (and optionally ``zero_point, psf_fwhm_arcsec,
    sky_sigma``), e.g. :attr:`SimulationSet.labels`. Returns the single-view model
    (use :func:`predict`) and the per-epoch losses (total and per head)."""
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x = model_inputs(images, redshift=_column(labels, "redshift"),
                     use_redshift=config.use_redshift, zero_point=_column(labels, "zero_point"),
                     psf_fwhm_arcsec=_column(labels, "psf_fwhm_arcsec"),
                     sky_sigma=_column(labels, "sky_sigma"), profile=profile)
    targets = encode_targets(labels)
    model = build_phase_net(config, profile)
    history: dict[str, list[float]] = {}
    for _ in range(config.epochs):
        image, _aug = random_augment(x["image"], rng, max_shift_px=config.max_shift_px)
        h = model.fit({"image": image, "scalars": x["scalars"]}, targets,
                      batch_size=config.batch_size, epochs=1, shuffle=True, verbose=verbose)
        for key, values in h.history.items():
            history.setdefault(key, []).append(float(values[-1]))
    return model, {**history, "config": asdict(config), "n_train": len(images),
                   "n_cause_defined": int(targets["cause"][:, 1].sum()),
                   "n_time_since_merger_defined": int(targets["time_since_merger"][:, 1].sum())}


def d4_invariant(model: keras.Model) -> keras.Model:
    """A model sharing ``model``'s weights that averages over the 8 D4 views: phase and
    cause probabilities, and the first two moments of the time since merger."""
    image = keras.Input(model.input["image"].shape[1:], name="image")
    scalars = keras.Input(model.input["scalars"].shape[1:], name="scalars")
    out = model({"image": D4Views(name="d4_views")(image),
                 "scalars": RepeatRows(name="repeat_scalars")(scalars)})
    per_view = {"phase": out["phase"],
                "cause": layers.Activation("sigmoid", name="cause_probability")(out["cause"]),
                "time_since_merger": GaussianMoments(name="moments")(out["time_since_merger"])}
    averaged = {k: D4Mean(name=f"d4_mean_{k}")(v) for k, v in per_view.items()}
    return keras.Model({"image": image, "scalars": scalars}, averaged, name=f"{model.name}_d4")


def predict(model: keras.Model, images: np.ndarray, *, redshift: float | np.ndarray | None = None,
            zero_point: float | np.ndarray | None = None,
            psf_fwhm_arcsec: float | np.ndarray | None = None,
            sky_sigma: float | np.ndarray | None = None, batch_size: int = 128,
            profile: ImagingProfile = HST_F160W_64) -> dict[str, np.ndarray]:
    """D4-averaged answers per image: ``p_pre_bn, p_bn, p_post_bn`` (sum 1),
    ``p_merger_cause`` (whether the compaction was merger-driven, meaningful from the
    compaction on), ``time_since_merger_gyr`` and its 1σ ``time_since_merger_err_gyr``
    (Gyr, meaningful after a major merger). ``redshift`` is needed when the model reads it."""
    use_redshift = int(model.input["scalars"].shape[-1]) > N_SCALARS
    x = model_inputs(images, redshift=redshift, use_redshift=use_redshift,
                     zero_point=zero_point, psf_fwhm_arcsec=psf_fwhm_arcsec,
                     sky_sigma=sky_sigma, profile=profile)
    if model not in _INVARIANT:
        _INVARIANT[model] = d4_invariant(model)
    out = predict_in_batches(_INVARIANT[model], x, batch_size)
    phase = np.asarray(out["phase"], dtype=float)
    moments = np.asarray(out["time_since_merger"], dtype=float)
    variance = np.maximum(moments[:, 1] - moments[:, 0] ** 2, np.exp(LOG_VAR_RANGE[0]))
    return {"p_pre_bn": phase[:, 0], "p_bn": phase[:, 1], "p_post_bn": phase[:, 2],
            "p_merger_cause": np.asarray(out["cause"], dtype=float)[:, 0],
            "time_since_merger_gyr": moments[:, 0],
            "time_since_merger_err_gyr": np.sqrt(variance)}


def predict_set(model: keras.Model, images: np.ndarray,
                labels: Mapping[str, np.ndarray] | np.ndarray, *,
                batch_size: int = 128) -> dict[str, np.ndarray]:
    """:func:`predict` with the redshift, zero point, PSF and noise taken from ``labels``."""
    return predict(model, images, redshift=_column(labels, "redshift"),
                   zero_point=_column(labels, "zero_point"),
                   psf_fwhm_arcsec=_column(labels, "psf_fwhm_arcsec"),
                   sky_sigma=_column(labels, "sky_sigma"), batch_size=batch_size)
