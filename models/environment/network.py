"""Neighbour redshift network: a galaxy's photo-z and its sky neighbours in, a redshift
posterior out — the learned alternative to SORT.

A pointer mixture density network. Each of the K reference (spec-z) neighbours of
:func:`~galcat.models.environment.neighbours.neighbour_features` owns one Gaussian
component centred *exactly* on its z_spec, with a small learned width (in units of 1 + z);
one broad "field" component sits near the photo-z. A shared per-neighbour MLP, which also
reads a DeepSets summary of all neighbours and the galaxy's own features, scores each
reference neighbour; the summary alone gives the field component's score, offset and
width (in units of the photo-z error σ). Each reference score gets −β·Δ²/2 added, with
Δ = (z_spec − z_phot)/σ and β learned (initially 1): the photo-z likelihood, so the
untrained network already starts from "photo-z times the neighbours' dN/dz" and training
learns which neighbours and how much field. Padded neighbours get a −10⁹ logit.

Drawing one redshift per galaxy from the posterior puts galaxies back onto the redshift
spikes their spec-z neighbours trace, which keeps the clustering; the median is the
per-galaxy estimate. The model uses ``keras.ops`` only, so it runs on any Keras backend,
and saves to a ``.keras`` file that loads in safe mode.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import layers, ops
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from galcat.models.batches import predict_in_batches
from galcat.models.environment.neighbours import NeighbourFeatures

Progress = Callable[[str, int, int], None]
"""Called as ``progress(message, done, total)`` after each epoch."""

MASKED_LOGIT = -1e9
REFERENCE_LOG_WIDTH = (float(np.log(2e-4)), float(np.log(0.03)))
"""Range of a reference component's log width, width in units of (1 + z)."""
INITIAL_REFERENCE_WIDTH = 0.003
FIELD_LOG_WIDTH_SPAN = 1.6
"""The field width is σ·exp(±1.6) at most: 0.2σ to 5σ."""
FIELD_MAX_OFFSET = 2.0
"""The field centre lies within z_phot ± 2σ."""
LIKELIHOOD_CLIP = 200.0
_NEGLIGIBLE_WEIGHT = 1e-12
_ROWS = 16_384
_HALF_LOG_2PI = 0.5 * float(np.log(2.0 * np.pi))


@keras.saving.register_keras_serializable(package="galcat")
class MaskedMean(layers.Layer):
    """Mean over real neighbours: ``(x (N, S, D), present (N, S)) → (N, D)``; 0 if none."""

    def call(self, x: Any, present: Any) -> Any:
        weights = ops.expand_dims(present, -1)
        total = ops.sum(x * weights, axis=1)
        return total / ops.maximum(ops.sum(weights, axis=1), 1.0)


@keras.saving.register_keras_serializable(package="galcat")
class AlongNeighbours(layers.Layer):
    """Repeat a per-galaxy vector for every neighbour: ``((N, D), (N, S, F)) → (N, S, D)``."""

    def call(self, x: Any, like: Any) -> Any:
        return ops.expand_dims(x, 1) * ops.ones_like(like[:, :, :1])


@keras.saving.register_keras_serializable(package="galcat")
class PointerMixture(layers.Layer):
    """Mixture parameters from the heads: reference scores ``(N, K, 2)`` (logit, width
    score), field ``(N, 3)`` (logit, offset score, width score), ``reference_z (N, K)``,
    ``reference_mask (N, K)`` and ``own (N, F)`` (z_phot, σ first). Returns logits,
    centres and widths ``(N, K + 1)``, the field last; widths in redshift units."""

    def build(self, *shapes: Any) -> None:
        self.likelihood_scale = self.add_weight(shape=(), initializer="ones",
                                                name="likelihood_scale")

    def call(self, reference: Any, field: Any, reference_z: Any, reference_mask: Any,
             own: Any) -> Any:
        z_phot, sigma = own[:, 0:1], own[:, 1:2]
        delta = (reference_z - z_phot) / sigma
        penalty = ops.minimum(delta * delta, LIKELIHOOD_CLIP)
        logit = reference[:, :, 0] - 0.5 * self.likelihood_scale * penalty
        real = reference_mask > 0.5
        logit = ops.where(real, logit, ops.full_like(logit, MASKED_LOGIT))
        low, high = REFERENCE_LOG_WIDTH
        start = float(np.log((np.log(INITIAL_REFERENCE_WIDTH) - low)
                             / (high - np.log(INITIAL_REFERENCE_WIDTH))))
        log_width = low + (high - low) * ops.sigmoid(reference[:, :, 1] + start)
        width = ops.where(real, (1.0 + reference_z) * ops.exp(log_width), ops.ones_like(logit))
        field_centre = z_phot + sigma * FIELD_MAX_OFFSET * ops.tanh(field[:, 1:2])
        field_width = sigma * ops.exp(FIELD_LOG_WIDTH_SPAN * ops.tanh(field[:, 2:3]))
        return (ops.concatenate([logit, field[:, 0:1]], axis=-1),
                ops.concatenate([reference_z, field_centre], axis=-1),
                ops.concatenate([width, field_width], axis=-1))


@keras.saving.register_keras_serializable(package="galcat")
class StackMixture(layers.Layer):
    """``(logits, centres, widths)`` → one ``(N, K + 1, 3)`` tensor, for the training loss."""

    def call(self, logits: Any, centres: Any, widths: Any) -> Any:
        return ops.stack([logits, centres, widths], axis=-1)


def mixture_log_density(z: Any, logits: Any, centres: Any, widths: Any) -> Any:
    """log p(z) (N,) under the Gaussian mixture ``(N, K + 1)``, with ``keras.ops``."""
    log_weights = logits - ops.logsumexp(logits, axis=-1, keepdims=True)
    r = (ops.expand_dims(z, -1) - centres) / widths
    log_components = -0.5 * r * r - ops.log(widths) - _HALF_LOG_2PI
    return ops.logsumexp(log_weights + log_components, axis=-1)


@keras.saving.register_keras_serializable(package="galcat")
def mixture_nll(y_true: Any, y_pred: Any) -> Any:
    """Negative log-likelihood (N,) of the true redshifts ``y_true (N,)`` or ``(N, 1)``
    under the mixture ``y_pred (N, K + 1, 3)`` = (logit, centre, width), in units of
    −log(redshift) (a density per unit z)."""
    z = ops.reshape(ops.cast(y_true, y_pred.dtype), (-1,))
    return -mixture_log_density(z, y_pred[:, :, 0], y_pred[:, :, 1], y_pred[:, :, 2])


def build_redshift_network(k_reference: int, m_photometric: int, f_reference: int,
                           f_photometric: int, f_own: int, *, width: int = 64,
                           seed: int = 0) -> keras.Model:
    """The network (uncompiled), weights seeded by ``seed``. Inputs: the dict of
    :meth:`NeighbourFeatures.as_inputs`; outputs ``logits``, ``centres`` and ``widths``,
    each ``(N, K + 1)``: the K reference components then the field (redshift units)."""
    keras.utils.set_random_seed(seed)
    inputs = {"reference": keras.Input((k_reference, f_reference), name="reference"),
              "reference_z": keras.Input((k_reference,), name="reference_z"),
              "reference_mask": keras.Input((k_reference,), name="reference_mask"),
              "photometric": keras.Input((m_photometric, f_photometric), name="photometric"),
              "photometric_mask": keras.Input((m_photometric,), name="photometric_mask"),
              "own": keras.Input((f_own,), name="own")}
    small = keras.initializers.RandomNormal(stddev=1e-3, seed=seed)

    def dense(units: int, name: str, activation: str | None = "relu", **kw: Any) -> Any:
        return layers.Dense(units, activation=activation, name=name, **kw)

    ref = dense(width, "reference_1")(inputs["reference"])
    ref = dense(width, "reference_2")(ref)
    phot = dense(width, "photometric_1")(inputs["photometric"])
    phot = dense(width, "photometric_2")(phot)
    own = dense(width, "own_1")(inputs["own"])
    pooled = layers.Concatenate(name="pooled")([
        MaskedMean(name="reference_mean")(ref, inputs["reference_mask"]),
        MaskedMean(name="photometric_mean")(phot, inputs["photometric_mask"]), own])
    context = dense(width, "context_1")(pooled)
    context = dense(width, "context_2")(context)
    field = dense(3, "field", activation=None, kernel_initializer=small)(
        dense(width, "field_1")(context))
    scored = layers.Concatenate(name="reference_context")(
        [ref, AlongNeighbours(name="context_per_reference")(context, ref)])
    scored = dense(width, "score_1")(scored)
    scored = dense(2, "score", activation=None, kernel_initializer=small)(scored)
    logits, centres, widths = PointerMixture(name="mixture")(
        scored, field, inputs["reference_z"], inputs["reference_mask"], inputs["own"])
    outputs = {"logits": layers.Identity(name="logits")(logits),
               "centres": layers.Identity(name="centres")(centres),
               "widths": layers.Identity(name="widths")(widths)}
    return keras.Model(inputs, outputs, name="redshift_network")


def _training_model(model: keras.Model) -> keras.Model:
    inputs = {name: keras.Input(tensor.shape[1:], name=name)
              for name, tensor in model.input.items()}
    out = model(inputs)
    stacked = StackMixture(name="mixture_stack")(out["logits"], out["centres"], out["widths"])
    return keras.Model(inputs, stacked, name="redshift_network_training")


def _dims(features: NeighbourFeatures) -> tuple[int, int, int, int, int]:
    return (features.reference.shape[1], features.photometric.shape[1],
            features.reference.shape[2], features.photometric.shape[2], features.own.shape[1])


def fit_redshift_network(features: NeighbourFeatures, z_true: ArrayLike, *, epochs: int = 20,
                         batch_size: int = 512, seed: int = 0,
                         validation: tuple[NeighbourFeatures, ArrayLike] | None = None,
                         progress: Progress | None = None, width: int = 64,
                         learning_rate: float = 2e-3) -> tuple[keras.Model, dict[str, float]]:
    """Train a new network on galaxies with known redshift ``z_true`` (a mock light-cone's
    truth, or spec-z galaxies whose own z_spec the features hide). Returns the model and
    the final mean NLL (``train_nll``, and ``val_nll`` with ``validation``; −log density
    per unit redshift). Everything is seeded by ``seed``."""
    keras.utils.set_random_seed(seed)
    z = np.asarray(z_true, dtype=np.float32)
    if z.shape != (len(features),) or not np.isfinite(z).all():
        raise ValueError(f"z_true must be {len(features)} finite redshifts, one per galaxy "
                         f"of the features; got shape {z.shape}")
    model = build_redshift_network(*_dims(features), width=width, seed=seed)
    trainer = _training_model(model)
    steps = max(1, epochs * int(np.ceil(len(z) / batch_size)))
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.05)
    trainer.compile(optimizer=keras.optimizers.Adam(schedule), loss=mixture_nll)
    callbacks = []
    if progress is not None:
        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: progress(
            f"epoch {epoch + 1}/{epochs}: NLL {logs.get('loss', float('nan')):.3f}",
            epoch + 1, epochs)))
    validation_data = None
    if validation is not None:
        validation_data = (validation[0].as_inputs(),
                           np.asarray(validation[1], dtype=np.float32))
    history = trainer.fit(features.as_inputs(), z, batch_size=batch_size, epochs=epochs,
                          shuffle=True, verbose=0, callbacks=callbacks,
                          validation_data=validation_data)
    metrics = {"train_nll": float(history.history["loss"][-1]), "epochs": float(epochs),
               "galaxies": float(len(z))}
    if validation is not None:
        metrics["val_nll"] = float(history.history["val_loss"][-1])
    return model, metrics


@dataclass(frozen=True)
class RedshiftPosterior:
    """A Gaussian mixture per galaxy: ``weights`` (sum 1), ``centres`` and ``widths``
    (redshift units), each ``(N, K + 1)``; padded components have weight 0."""

    weights: NDArray[np.float64]
    centres: NDArray[np.float64]
    widths: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.weights.shape[0])

    def mean(self) -> NDArray[np.float64]:
        """Posterior mean redshift (N,)."""
        return np.sum(self.weights * self.centres, axis=1)

    def sigma(self) -> NDArray[np.float64]:
        """Posterior standard deviation (N,), redshift units."""
        second = np.sum(self.weights * (self.widths ** 2 + self.centres ** 2), axis=1)
        return np.sqrt(np.maximum(second - self.mean() ** 2, 0.0))

    def cdf(self, z: ArrayLike) -> NDArray[np.float64]:
        """P(< z) (N,) for one redshift per galaxy."""
        z = np.asarray(z, dtype=float).reshape(-1, 1)
        return np.sum(self.weights * ndtr((z - self.centres) / self.widths), axis=1)

    def quantile(self, q: float, tolerance: float = 1e-6) -> NDArray[np.float64]:
        """The redshift (N,) below which a fraction ``q`` of each posterior lies, by
        vectorised bisection on the CDF to ``tolerance`` in redshift."""
        if not 0.0 < q < 1.0:
            raise ValueError(f"q must be in (0, 1), not {q}")
        return np.concatenate([_bisect_quantile(self.subset(slice(start, start + _ROWS)), q,
                                                tolerance)
                               for start in range(0, len(self), _ROWS)] or [np.zeros(0)])

    def median(self) -> NDArray[np.float64]:
        """Posterior median redshift (N,)."""
        return self.quantile(0.5)

    def sample(self, rng: np.random.Generator) -> NDArray[np.float64]:
        """One redshift per galaxy drawn from its posterior."""
        n = len(self)
        cumulative = np.cumsum(self.weights, axis=1)
        u = rng.random(n) * cumulative[:, -1]
        component = np.minimum((cumulative < u[:, None]).sum(axis=1), self.weights.shape[1] - 1)
        rows = np.arange(n)
        return (self.centres[rows, component]
                + self.widths[rows, component] * rng.standard_normal(n))

    def subset(self, rows: ArrayLike | slice) -> RedshiftPosterior:
        """The posteriors of galaxies ``rows`` (indices, a boolean mask or a slice)."""
        rows = rows if isinstance(rows, slice) else np.asarray(rows)
        return RedshiftPosterior(self.weights[rows], self.centres[rows], self.widths[rows])


def _bisect_quantile(posterior: RedshiftPosterior, q: float, tolerance: float
                     ) -> NDArray[np.float64]:
    used = posterior.weights > _NEGLIGIBLE_WEIGHT
    low = np.min(np.where(used, posterior.centres - 10.0 * posterior.widths, np.inf), axis=1)
    high = np.max(np.where(used, posterior.centres + 10.0 * posterior.widths, -np.inf), axis=1)
    steps = int(np.ceil(np.log2(max(float(np.max(high - low)), tolerance) / tolerance)))
    for _ in range(steps):
        middle = 0.5 * (low + high)
        below = posterior.cdf(middle) < q
        low = np.where(below, middle, low)
        high = np.where(below, high, middle)
    return 0.5 * (low + high)


def predict_redshift_posterior(model: keras.Model, features: NeighbourFeatures,
                               batch_size: int = 4096) -> RedshiftPosterior:
    """The posterior of every galaxy of ``features`` (meaningful for those without a
    spec-z; callers keep z_spec for the others)."""
    k = features.reference.shape[1] + 1
    if len(features) == 0:
        return RedshiftPosterior(np.zeros((0, k)), np.zeros((0, k)), np.zeros((0, k)))
    out = predict_in_batches(model, features.as_inputs(), batch_size)
    logits, centres, widths = (np.asarray(out[name], dtype=float)
                               for name in ("logits", "centres", "widths"))
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    return RedshiftPosterior(weights, centres, widths)


def save_redshift_network(model: keras.Model, path: str | Path) -> Path:
    """Save ``model`` to a ``.keras`` file; returns the path."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"{path}: the redshift network is saved as a .keras file")
    model.save(path)
    return path


def load_redshift_network(path: str | Path) -> keras.Model:
    """A network saved by :func:`save_redshift_network`, loaded in safe mode."""
    return keras.saving.load_model(Path(path), safe_mode=True, compile=False)
