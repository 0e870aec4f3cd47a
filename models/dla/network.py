"""The DLA window network (after Parks et al. 2018), its training labels and training loop.

One window of ``window_pixels`` pixels (channels: normalised flux, data flag; see
:mod:`models.dla.preprocess`) goes through three conv + max-pool blocks and one
fully-connected layer into three heads:

- ``is_dla``: probability that an H I absorber (log N_HI ≥ ``label_min_log_nhi``)
  lies within ±``offset_range_pixels`` of the window centre (sigmoid, cross-entropy);
- ``offset``: that absorber's position minus the window centre, in pixels;
- ``log_nhi``: its log10 N_HI / cm⁻².

Unlike Parks (SAME padding), every layer uses VALID padding and the sizes tile the
window exactly (every stride divides the remaining length), so each output depends
only on the window's own pixels. This is what lets :mod:`models.dla.dense` evaluate
all windows of a sightline in one dilated pass that equals this model exactly.

Only ``keras.ops`` / ``keras.layers`` are used, so any Keras 3 backend works.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from .constants import BOSS_DLOGLAM, LYA, LYB
from .preprocess import N_CHANNELS, WINDOW_PIXELS, PreparedSightlines


@dataclass(frozen=True)
class NetworkConfig:
    """Architecture and training hyper-parameters (lengths in pixels).

    The default keeps Parks's filter counts (100, 96, 96), first-layer stride 3 and
    FC width 350, with kernel and pool sizes chosen so VALID padding tiles 400 pixels:
    400 →conv31/3→ 124 →pool7/3→ 40 →conv16→ 25 →pool5/2→ 11 →conv5→ 7 →pool3/2→ 3.
    """

    window_pixels: int = WINDOW_PIXELS
    n_channels: int = N_CHANNELS
    conv_filters: tuple[int, int, int] = (100, 96, 96)
    conv_kernels: tuple[int, int, int] = (31, 16, 5)
    conv1_stride: int = 3
    pool_sizes: tuple[int, int, int] = (7, 5, 3)
    pool_strides: tuple[int, int, int] = (3, 2, 2)
    dense_units: int = 350
    dropout: float = 0.1
    l2: float = 1e-5
    learning_rate: float = 1e-3
    offset_range_pixels: float = 60.0
    ignore_range_pixels: float = 120.0
    lyb_ignore_pixels: float = 60.0
    label_min_log_nhi: float = 19.5
    log_nhi_centre: float = 20.8
    offset_loss_weight: float = 1.0 / 60.0**2
    log_nhi_loss_weight: float = 1.0
    log_nhi_calibration: tuple[tuple[float, float], ...] = ()
    """(raw, calibrated) log N_HI knots applied to each absorber's estimate (see
    :mod:`models.dla.calibration`); empty until ``galcat train dla-calibration`` fits them."""
    error_model: tuple[float, ...] = ()
    """Coefficients of the calibrated σ(log N_HI) and σ(z) (see :mod:`models.dla.uncertainty`);
    empty until ``galcat train dla-calibration`` fits them (then errors are the raw spread)."""

    def stages(self) -> list[tuple[str, int, int]]:
        """(kind, kernel, stride) of each spatial stage, ending with the FC as a 'fc' stage."""
        out: list[tuple[str, int, int]] = []
        for i in range(3):
            out.append(("conv", self.conv_kernels[i], self.conv1_stride if i == 0 else 1))
            out.append(("pool", self.pool_sizes[i], self.pool_strides[i]))
        lengths = self.lengths()
        out.append(("fc", lengths[-1], 1))
        return out

    def lengths(self) -> list[int]:
        """Spatial length after each conv/pool stage; raises if VALID padding does not tile."""
        length = self.window_pixels
        lengths = []
        for i in range(3):
            for kind, kernel, stride in (
                ("conv", self.conv_kernels[i], self.conv1_stride if i == 0 else 1),
                ("pool", self.pool_sizes[i], self.pool_strides[i]),
            ):
                if length < kernel or (length - kernel) % stride:
                    raise ValueError(
                        f"{kind} {i + 1} (kernel {kernel}, stride {stride}) does not tile a "
                        f"length of {length}: choose sizes with (length − kernel) % stride == 0"
                    )
                length = (length - kernel) // stride + 1
                lengths.append(length)
        return lengths

    def total_stride(self) -> int:
        """Product of all strides: the dilation of the FC layer in the dense form."""
        return int(self.conv1_stride * np.prod(self.pool_strides))

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly hyper-parameters (for a model_version row)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> NetworkConfig:
        """The inverse of ``to_dict`` (lists back to tuples)."""
        kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                                  for k, v in values.items()}
        kwargs["log_nhi_calibration"] = tuple(
            (float(raw), float(cal)) for raw, cal in kwargs.get("log_nhi_calibration", ()))
        kwargs["error_model"] = tuple(float(v) for v in kwargs.get("error_model", ()))
        return cls(**kwargs)

    def uncalibrated(self) -> NetworkConfig:
        """The same network without its log N_HI calibration and error model (what a
        retrained or recalibrated version starts from: both are fitted to these weights)."""
        return replace(self, log_nhi_calibration=(), error_model=())


TINY_CONFIG = NetworkConfig(
    window_pixels=76,
    conv_filters=(4, 6, 6),
    conv_kernels=(4, 3, 2),
    conv1_stride=3,
    pool_sizes=(3, 2, 2),
    pool_strides=(2, 2, 2),
    dense_units=8,
    dropout=0.0,
    learning_rate=3e-3,
    offset_range_pixels=10.0,
    ignore_range_pixels=20.0,
    lyb_ignore_pixels=10.0,
    offset_loss_weight=1.0 / 10.0**2,
)
"""A ~1,000-parameter network for tests: 76 → 25 → 12 → 10 → 5 → 4 → 2, every stride > 1."""


def build_window_model(config: NetworkConfig = NetworkConfig()) -> Any:
    """Keras model: (batch, window, channels) → dict is_dla, offset, log_nhi, each (batch, 1)."""
    import keras

    config.lengths()
    reg = keras.regularizers.L2(config.l2) if config.l2 > 0 else None
    inputs = keras.Input((config.window_pixels, config.n_channels), name="flux")
    h = inputs
    for i in range(3):
        h = keras.layers.Conv1D(
            config.conv_filters[i],
            config.conv_kernels[i],
            strides=config.conv1_stride if i == 0 else 1,
            padding="valid",
            activation="relu",
            kernel_regularizer=reg,
            name=f"conv{i + 1}",
        )(h)
        h = keras.layers.MaxPooling1D(
            config.pool_sizes[i],
            strides=config.pool_strides[i],
            padding="valid",
            name=f"pool{i + 1}",
        )(h)
    h = keras.layers.Flatten(name="flatten")(h)
    h = keras.layers.Dense(
        config.dense_units, activation="relu", kernel_regularizer=reg, name="fc"
    )(h)
    h = keras.layers.Dropout(config.dropout, name="dropout")(h)
    is_dla = keras.layers.Dense(1, activation="sigmoid", name="is_dla")(h)
    offset = keras.layers.Dense(1, name="offset_unit")(h)
    offset = keras.layers.Rescaling(config.offset_range_pixels, name="offset")(offset)
    log_nhi = keras.layers.Dense(1, name="log_nhi_delta")(h)
    log_nhi = keras.layers.Rescaling(1.0, offset=config.log_nhi_centre, name="log_nhi")(log_nhi)
    return keras.Model(
        inputs, {"is_dla": is_dla, "offset": offset, "log_nhi": log_nhi}, name="dla_window"
    )


@dataclass(frozen=True)
class WindowLabels:
    """Per-search-pixel labels of a batch of sightlines, each array (n_sightlines, n_search).

    ``weight`` is 0 for ignored windows (61–120 px from an absorber, or near its Lyβ).
    """

    is_dla: np.ndarray
    offset: np.ndarray
    log_nhi: np.ndarray
    weight: np.ndarray


@dataclass(frozen=True)
class WindowSet:
    """Sampled training windows: x (n, window, channels) and flat label arrays (n,)."""

    x: np.ndarray
    is_dla: np.ndarray
    offset: np.ndarray
    log_nhi: np.ndarray
    sightline: np.ndarray
    search_pixel: np.ndarray

    def __len__(self) -> int:
        return int(self.is_dla.size)


def absorber_pixel(z_abs: np.ndarray, rest_wavelength_aa: float = LYA.wavelength_aa) -> np.ndarray:
    """Fractional global BOSS pixel index of an absorber's line (default Lyα)."""
    return np.asarray(np.log10(rest_wavelength_aa * (1.0 + np.asarray(z_abs))) / BOSS_DLOGLAM)


def pixel_labels(
    prepared: PreparedSightlines, truth: np.ndarray, config: NetworkConfig = NetworkConfig()
) -> WindowLabels:
    """Labels of every window centre from a truth table (fields sightline, z_abs, log_nhi).

    Truth rows index sightlines of ``prepared`` by position. Absorbers below
    ``label_min_log_nhi`` are neither positives nor ignored.
    """
    n, n_search = len(prepared), prepared.n_search
    is_dla = np.zeros((n, n_search), dtype=np.float32)
    offset = np.zeros((n, n_search), dtype=np.float32)
    log_nhi = np.zeros((n, n_search), dtype=np.float32)
    weight = np.ones((n, n_search), dtype=np.float32)
    strong = truth[truth["log_nhi"] >= config.label_min_log_nhi]
    for i in np.unique(strong["sightline"]):
        rows = strong[strong["sightline"] == i]
        centre = prepared.pixel_first[i] + np.arange(n_search)
        d = absorber_pixel(rows["z_abs"])[:, None] - centre[None, :]
        d_lyb = absorber_pixel(rows["z_abs"], LYB.wavelength_aa)[:, None] - centre[None, :]
        nearest = np.argmin(np.abs(d), axis=0)
        d_near = d[nearest, np.arange(n_search)]
        positive = np.abs(d_near) <= config.offset_range_pixels
        ignored = ~positive & (
            (np.abs(d_near) <= config.ignore_range_pixels)
            | (np.abs(d_lyb).min(axis=0) <= config.lyb_ignore_pixels)
        )
        is_dla[i] = positive
        offset[i] = np.where(positive, d_near, 0.0)
        log_nhi[i] = np.where(positive, rows["log_nhi"][nearest], 0.0)
        weight[i] = np.where(ignored, 0.0, 1.0)
    return WindowLabels(is_dla=is_dla, offset=offset, log_nhi=log_nhi, weight=weight)


def windows_and_labels(
    prepared: PreparedSightlines,
    truth: np.ndarray,
    rng: np.random.Generator | int,
    config: NetworkConfig = NetworkConfig(),
    max_windows: int | None = None,
) -> WindowSet:
    """Balanced (50/50 positive/negative) training windows with labels, from mock truth.

    Ignored windows are never sampled. ``max_windows`` caps the total (default: all
    positives plus as many negatives).
    """
    if prepared.window_pixels != config.window_pixels:
        raise ValueError(
            f"sightlines were prepared for {prepared.window_pixels}-pixel windows, "
            f"the network expects {config.window_pixels}"
        )
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    labels = pixel_labels(prepared, truth, config)
    usable = prepared.usable[:, None] & (labels.weight > 0)
    pos = np.argwhere(usable & (labels.is_dla > 0))
    neg = np.argwhere(usable & (labels.is_dla == 0))
    n_pos = pos.shape[0] if max_windows is None else min(pos.shape[0], max_windows // 2)
    n_neg = min(neg.shape[0], max(n_pos, 1) if max_windows is None else max_windows - n_pos)
    chosen = np.concatenate(
        [
            pos[gen.choice(pos.shape[0], n_pos, replace=False)],
            neg[gen.choice(neg.shape[0], n_neg, replace=False)],
        ]
    )
    chosen = chosen[gen.permutation(chosen.shape[0])]
    s, j = chosen[:, 0], chosen[:, 1]
    take = j[:, None] + np.arange(config.window_pixels)[None, :]
    x = prepared.inputs[s[:, None], take]
    return WindowSet(
        x=x.astype(np.float32),
        is_dla=labels.is_dla[s, j],
        offset=labels.offset[s, j],
        log_nhi=labels.log_nhi[s, j],
        sightline=s,
        search_pixel=j,
    )


def compile_model(
    model: Any, config: NetworkConfig, jit_compile: bool | str = "auto", run_eagerly: bool = False
) -> None:
    """Adam, cross-entropy on is_dla and masked squared errors on offset and log N_HI."""
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss={"is_dla": "binary_crossentropy", "offset": "mse", "log_nhi": "mse"},
        loss_weights={
            "is_dla": 1.0,
            "offset": config.offset_loss_weight,
            "log_nhi": config.log_nhi_loss_weight,
        },
        metrics={"is_dla": ["binary_accuracy"]},
        jit_compile=jit_compile,
        run_eagerly=run_eagerly,
    )


def _targets(windows: WindowSet) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    y = {
        "is_dla": windows.is_dla[:, None].astype(np.float32),
        "offset": windows.offset[:, None].astype(np.float32),
        "log_nhi": windows.log_nhi[:, None].astype(np.float32),
    }
    positive = windows.is_dla.astype(np.float32)
    w = {"is_dla": np.ones_like(positive), "offset": positive, "log_nhi": positive}
    return y, w


def predict_window_batches(
    model: Any, x: np.ndarray, batch_size: int = 512
) -> dict[str, np.ndarray]:
    """Window-model outputs (each shape (n,)) by direct batched calls, without tracing."""
    import keras

    out: dict[str, list[np.ndarray]] = {"is_dla": [], "offset": [], "log_nhi": []}
    for start in range(0, len(x), batch_size):
        pred = model(x[start : start + batch_size], training=False)
        for key in out:
            out[key].append(keras.ops.convert_to_numpy(pred[key])[:, 0])
    return {k: np.concatenate(v) if v else np.zeros(0, np.float32) for k, v in out.items()}


def window_metrics(model: Any, windows: WindowSet, batch_size: int = 512) -> dict[str, float]:
    """Accuracy, offset RMSE (px) and log N_HI RMSE (dex, on positives) of a model on windows."""
    pred = predict_window_batches(model, windows.x, batch_size)
    p = pred["is_dla"]
    pos = windows.is_dla > 0
    out = {"n_windows": float(len(windows)), "accuracy": float(np.mean((p > 0.5) == pos))}
    if pos.any():
        off = pred["offset"]
        nhi = pred["log_nhi"]
        out["offset_rmse_pixels"] = float(np.sqrt(np.mean((off - windows.offset)[pos] ** 2)))
        out["log_nhi_rmse"] = float(np.sqrt(np.mean((nhi - windows.log_nhi)[pos] ** 2)))
    return out


def train(
    train_windows: WindowSet,
    config: NetworkConfig = NetworkConfig(),
    seed: int = 0,
    epochs: int = 5,
    batch_size: int = 256,
    validation_windows: WindowSet | None = None,
    model: Any | None = None,
    jit_compile: bool | str = "auto",
    run_eagerly: bool = False,
    callbacks: list[Any] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Train (or fine-tune ``model``) on windows; returns the model and a metrics dict.

    All randomness (weights, shuffling, dropout) follows ``seed`` via
    ``keras.utils.set_random_seed``. For tiny trainings on CPU, graph tracing and XLA
    compilation dominate: ``jit_compile=False`` or ``run_eagerly=True`` avoid them.
    """
    import keras

    keras.utils.set_random_seed(seed)
    if model is None:
        model = build_window_model(config)
    compile_model(model, config, jit_compile, run_eagerly)
    y, w = _targets(train_windows)
    history = model.fit(
        train_windows.x,
        y,
        sample_weight=w,
        epochs=epochs,
        batch_size=batch_size,
        verbose=0,
        shuffle=True,
        callbacks=callbacks,
    )
    metrics: dict[str, Any] = {
        "seed": seed,
        "epochs": epochs,
        "history": {k: [float(v) for v in vals] for k, vals in history.history.items()},
        "train": window_metrics(model, train_windows),
    }
    if validation_windows is not None:
        metrics["validation"] = window_metrics(model, validation_windows)
    return model, metrics


class EpochTrainer:
    """Trains one model an epoch at a time on a different window set each epoch.

    The optimiser is compiled once, so Adam's moments carry over between epochs; all
    randomness follows ``seed`` as in :func:`train`.
    """

    def __init__(self, config: NetworkConfig, seed: int, model: Any | None = None,
                 jit_compile: bool | str = "auto") -> None:
        import keras

        keras.utils.set_random_seed(seed)
        self.seed = seed
        self.model = build_window_model(config) if model is None else model
        compile_model(self.model, config, jit_compile)
        self.history: dict[str, list[float]] = {}

    def fit_epoch(self, windows: WindowSet, epoch: int, batch_size: int = 256,
                  callbacks: list[Any] | None = None) -> None:
        """One pass over ``windows`` as epoch number ``epoch`` (0-based)."""
        y, w = _targets(windows)
        history = self.model.fit(windows.x, y, sample_weight=w, initial_epoch=epoch,
                                 epochs=epoch + 1, batch_size=batch_size, verbose=0,
                                 shuffle=True, callbacks=callbacks)
        for key, values in history.history.items():
            self.history.setdefault(key, []).extend(float(v) for v in values)

    def metrics(self, validation: WindowSet | None = None,
                last: WindowSet | None = None) -> dict[str, Any]:
        """Seed, epochs, loss history, and window metrics on ``last`` (the last epoch's
        windows) and on ``validation``."""
        out: dict[str, Any] = {"seed": self.seed, "epochs": len(self.history.get("loss", [])),
                               "history": self.history}
        if last is not None:
            out["train"] = window_metrics(self.model, last)
        if validation is not None:
            out["validation"] = window_metrics(self.model, validation)
        return out
