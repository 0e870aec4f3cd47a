"""CANDELS-style morphology network, exactly invariant under rotations and flips.

Two heads on one convolutional encoder: the five CANDELS vote fractions
(:data:`CANDELS_FLAGS`, independent sigmoids, binary cross-entropy against
the fractions) and the bulge / disk / bulge+disk class (softmax; objects
without a class -- irregulars, point sources -- get an all-zero one-hot and so
contribute no loss). Training augments with random D4 elements and one-pixel
shifts; :func:`predict` runs the network on all 8 D4 views of each image and
averages the probabilities, which makes the answer invariant by
construction, not just approximately by training.

:func:`finetune` keeps the encoder and fits a new head to a user's label set
(e.g. Galaxy Zoo vote fractions or a ring flag).
"""

from __future__ import annotations

import weakref
from dataclasses import asdict, dataclass
from typing import Any, Literal

import keras
import numpy as np
from keras import layers, ops

from galcat.models.batches import predict_in_batches
from galcat.models.galaxy.augment import random_augment
from galcat.models.galaxy.nets import D4Mean, D4Views, RepeatRows, conv_encoder
from galcat.models.galaxy.preprocess import N_SCALARS, NetworkInputs, network_inputs
from galcat.models.galaxy.profile import HST_F160W_64, ImagingProfile
from galcat.vocabulary import BD_CLASSES, CANDELS_FLAGS


@keras.saving.register_keras_serializable(package="galcat")
def class_crossentropy(y_true: Any, y_pred: Any) -> Any:
    """Cross-entropy on probabilities; an all-zero row (no class: irregulars, point
    sources) gives zero loss and zero gradient, where Keras's built-in diverges."""
    return -ops.sum(y_true * ops.log(ops.clip(y_pred, 1e-7, 1.0)), axis=-1)

HeadKind = Literal["fractions", "classes", "regression"]
_INVARIANT: weakref.WeakKeyDictionary[keras.Model, keras.Model] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class MorphologyConfig:
    """Hyper-parameters; defaults are the shipped size, tests use tiny ones.

    ``run_eagerly`` skips graph tracing (faster for tiny models, slower for real ones).
    """

    filters: tuple[int, ...] = (16, 32, 64)
    dense_units: int = 64
    learning_rate: float = 1e-3
    batch_size: int = 64
    epochs: int = 30
    max_shift_px: int = 1
    run_eagerly: bool = False


def build_morphology(config: MorphologyConfig = MorphologyConfig(),
                     profile: ImagingProfile = HST_F160W_64) -> keras.Model:
    """Single-view model; outputs ``{"candels": (N, 5), "bd": (N, 3)}`` probabilities."""
    size = profile.size_px
    image = keras.Input((size, size, 2), name="image")
    scalars = keras.Input((N_SCALARS,), name="scalars")
    x = conv_encoder(image, config.filters, name="morph")
    x = layers.Concatenate(name="with_scalars")([x, scalars])
    features = layers.Dense(config.dense_units, activation="relu", name="features")(x)
    candels = layers.Dense(len(CANDELS_FLAGS), activation="sigmoid", name="candels")(features)
    bd = layers.Dense(len(BD_CLASSES), activation="softmax", name="bd")(features)
    model = keras.Model({"image": image, "scalars": scalars}, {"candels": candels, "bd": bd},
                        name="morphology")
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  loss={"candels": "binary_crossentropy", "bd": class_crossentropy},
                  run_eagerly=config.run_eagerly)
    return model


def d4_invariant(model: keras.Model) -> keras.Model:
    """A model sharing ``model``'s weights that averages its outputs over the 8 D4 views."""
    image = keras.Input(model.input["image"].shape[1:], name="image")
    scalars = keras.Input(model.input["scalars"].shape[1:], name="scalars")
    out = model({"image": D4Views(name="d4_views")(image),
                 "scalars": RepeatRows(name="repeat_scalars")(scalars)})
    if isinstance(out, dict):
        averaged: Any = {k: D4Mean(name=f"d4_mean_{k}")(v) for k, v in out.items()}
    else:
        averaged = D4Mean(name="d4_mean")(out)
    return keras.Model({"image": image, "scalars": scalars}, averaged, name=f"{model.name}_d4")


def _one_hot(bd_class: np.ndarray) -> np.ndarray:
    cls = np.asarray(bd_class, dtype=int)
    out = np.zeros((cls.size, len(BD_CLASSES)), dtype=np.float32)
    ok = cls >= 0
    out[np.flatnonzero(ok), cls[ok]] = 1.0
    return out


def _fit_augmented(model: keras.Model, inputs: NetworkInputs, targets: Any, *, epochs: int,
                   batch_size: int, max_shift_px: int, rng: np.random.Generator,
                   verbose: int) -> list[float]:
    losses = []
    for _ in range(epochs):
        image, _aug = random_augment(inputs.image, rng, max_shift_px=max_shift_px)
        h = model.fit({"image": image, "scalars": inputs.scalars}, targets,
                      batch_size=batch_size, epochs=1, shuffle=True, verbose=verbose)
        losses.append(float(h.history["loss"][-1]))
    return losses


def train(images: np.ndarray, truth: Any, seed: int, *,
          config: MorphologyConfig = MorphologyConfig(), zero_point: float | None = None,
          profile: ImagingProfile = HST_F160W_64, verbose: int = 0,
          ) -> tuple[keras.Model, dict[str, Any]]:
    """Train on images ``(N, S, S)`` with columns :data:`CANDELS_FLAGS` and ``bd_class``.

    Optional columns ``zero_point``, ``psf_fwhm_arcsec``, ``sky_sigma``. Returns
    the single-view model (wrap with :func:`d4_invariant` or use :func:`predict`).
    """
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    names = truth.dtype.names if hasattr(truth, "dtype") else list(truth)

    def col(name: str) -> np.ndarray | None:
        return np.asarray(truth[name], dtype=float) if name in names else None

    zp = col("zero_point")
    inputs = network_inputs(images, zero_point=zp if zp is not None else zero_point,
                            psf_fwhm_arcsec=col("psf_fwhm_arcsec"),
                            sky_sigma=col("sky_sigma"), profile=profile)
    targets = {"candels": np.stack([np.asarray(truth[f], dtype=np.float32)
                                    for f in CANDELS_FLAGS], axis=-1),
               "bd": _one_hot(np.asarray(truth["bd_class"]))}
    model = build_morphology(config, profile)
    losses = _fit_augmented(model, inputs, targets, epochs=config.epochs,
                            batch_size=config.batch_size, max_shift_px=config.max_shift_px,
                            rng=rng, verbose=verbose)
    return model, {"loss": losses, "config": asdict(config), "n_train": len(images)}


def predict(model: keras.Model, images: np.ndarray, *,
            zero_point: float | np.ndarray | None = None,
            psf_fwhm_arcsec: float | np.ndarray | None = None,
            sky_sigma: float | np.ndarray | None = None, batch_size: int = 64,
            profile: ImagingProfile = HST_F160W_64) -> dict[str, np.ndarray]:
    """D4-averaged outputs: ``f_spheroid … f_unc``, ``p_bulge, p_disk, p_bulge_disk``.

    For a fine-tuned model the single head comes back as ``head`` (N, K).
    """
    inputs = network_inputs(images, zero_point=zero_point, psf_fwhm_arcsec=psf_fwhm_arcsec,
                            sky_sigma=sky_sigma, profile=profile)
    if model not in _INVARIANT:
        _INVARIANT[model] = d4_invariant(model)
    out = predict_in_batches(_INVARIANT[model], inputs.as_dict(), batch_size)
    if not isinstance(out, dict):
        return {"head": np.asarray(out)}
    result = {name: np.asarray(out["candels"])[:, i] for i, name in enumerate(CANDELS_FLAGS)}
    for i, name in enumerate(("p_bulge", "p_disk", "p_bulge_disk")):
        result[name] = np.asarray(out["bd"])[:, i]
    return result


def finetune(model: keras.Model, images: np.ndarray, labels: np.ndarray, *,
             train_head_only: bool = True, head: HeadKind = "fractions", seed: int = 0,
             epochs: int = 10, learning_rate: float | None = None, batch_size: int = 32,
             zero_point: float | np.ndarray | None = None,
             psf_fwhm_arcsec: float | np.ndarray | None = None,
             sky_sigma: float | np.ndarray | None = None, max_shift_px: int = 1,
             profile: ImagingProfile = HST_F160W_64, run_eagerly: bool = False,
             verbose: int = 0) -> keras.Model:
    """A new single-output model: ``model``'s encoder plus a fresh head fitted to ``labels``.

    ``labels`` is (N, K). ``head``: ``"fractions"`` (sigmoids, vote fractions or
    binary flags; binary cross-entropy), ``"classes"`` (softmax over one-hot
    classes) or ``"regression"`` (linear, mean squared error). With
    ``train_head_only`` the encoder is frozen (default learning rate 1e-3);
    otherwise everything trains (default learning rate 1e-4, gentler on the
    pretrained weights). ``model`` itself is not modified.
    """
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    y = np.asarray(labels, dtype=np.float32)
    y = y[:, None] if y.ndim == 1 else y
    encoder = keras.Model(model.input, model.get_layer("features").output,
                          name="pretrained_encoder")
    clone = keras.models.clone_model(encoder)
    clone.set_weights(encoder.get_weights())
    clone.trainable = not train_head_only
    activation, loss = {"fractions": ("sigmoid", "binary_crossentropy"),
                        "classes": ("softmax", class_crossentropy),
                        "regression": (None, "mse")}[head]
    image = keras.Input(model.input["image"].shape[1:], name="image")
    scalars = keras.Input(model.input["scalars"].shape[1:], name="scalars")
    features = clone({"image": image, "scalars": scalars})
    out = layers.Dense(y.shape[1], activation=activation, name="head")(features)
    tuned = keras.Model({"image": image, "scalars": scalars}, out, name="finetuned")
    lr = learning_rate if learning_rate is not None else (1e-3 if train_head_only else 1e-4)
    tuned.compile(optimizer=keras.optimizers.Adam(lr), loss=loss, run_eagerly=run_eagerly)
    inputs = network_inputs(images, zero_point=zero_point, psf_fwhm_arcsec=psf_fwhm_arcsec,
                            sky_sigma=sky_sigma, profile=profile)
    _fit_augmented(tuned, inputs, y, epochs=epochs, batch_size=batch_size,
                   max_shift_px=max_shift_px, rng=rng, verbose=verbose)
    return tuned
