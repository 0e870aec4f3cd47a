"""Every window of a sightline in one fully-convolutional (à-trous) pass.

The window model applied at every pixel is rewritten as: each conv / pool runs with
stride 1, and every stride s of an earlier layer becomes a dilation factor s of all
later layers; the FC layer becomes a convolution whose kernel (its weights reshaped
to (L, C, units)) is dilated by the product of all strides. With VALID padding this
is exactly the same function as the window model on ``inputs[j : j + window]``,
for every j, at a fraction of the cost (no shared work is recomputed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .network import NetworkConfig, predict_window_batches
from .preprocess import PreparedSightlines


@dataclass(frozen=True)
class DensePredictions:
    """Per-window-centre outputs, each (n_sightlines, n_search).

    ``offset`` is in pixels (absorber minus window centre), ``log_nhi`` in log10 cm⁻².
    """

    probability: np.ndarray
    offset: np.ndarray
    log_nhi: np.ndarray


def window_model_weights(model: Any) -> dict[str, list[np.ndarray]]:
    """Weights of the window model's layers by name, as numpy arrays."""
    names = ("conv1", "conv2", "conv3", "fc", "is_dla", "offset_unit", "log_nhi_delta")
    return {name: [np.asarray(w) for w in model.get_layer(name).get_weights()] for name in names}


def _dilated_max_pool(x: Any, size: int, dilation: int) -> Any:
    import keras

    ops = keras.ops
    length = ops.shape(x)[1] - (size - 1) * dilation
    out = x[:, 0:length]
    for j in range(1, size):
        out = ops.maximum(out, x[:, j * dilation : j * dilation + length])
    return out


def dense_forward(
    weights: dict[str, list[np.ndarray]], config: NetworkConfig, x: Any
) -> dict[str, Any]:
    """Fully-convolutional forward pass: (batch, T, channels) → each head (batch, T − window + 1).

    Uses ``keras.ops`` only; output index j equals the window model on x[:, j : j + window].
    """
    import keras

    ops = keras.ops
    h = ops.convert_to_tensor(x, dtype="float32")
    dilation = 1
    for i in range(3):
        kernel, bias = weights[f"conv{i + 1}"]
        h = ops.conv(h, kernel, strides=1, padding="valid", dilation_rate=dilation)
        h = ops.relu(h + bias)
        dilation *= config.conv1_stride if i == 0 else 1
        h = _dilated_max_pool(h, config.pool_sizes[i], dilation)
        dilation *= config.pool_strides[i]
    fc_kernel, fc_bias = weights["fc"]
    length = config.lengths()[-1]
    fc_kernel = fc_kernel.reshape(length, config.conv_filters[2], config.dense_units)
    h = ops.conv(h, fc_kernel, strides=1, padding="valid", dilation_rate=dilation)
    h = ops.relu(h + fc_bias)

    def head(name: str) -> Any:
        kernel, bias = weights[name]
        return ops.squeeze(ops.matmul(h, kernel) + bias, axis=-1)

    return {
        "is_dla": ops.sigmoid(head("is_dla")),
        "offset": head("offset_unit") * config.offset_range_pixels,
        "log_nhi": head("log_nhi_delta") + config.log_nhi_centre,
    }


def predict_dense(
    model: Any,
    config: NetworkConfig,
    prepared: PreparedSightlines,
    batch_size: int = 32,
) -> DensePredictions:
    """Classification probability, offset and log N_HI at every window centre of every sightline."""
    import keras

    if prepared.window_pixels != config.window_pixels:
        raise ValueError(
            f"sightlines were prepared for {prepared.window_pixels}-pixel windows, "
            f"the network expects {config.window_pixels}"
        )
    weights = window_model_weights(model)
    outputs: dict[str, list[np.ndarray]] = {"is_dla": [], "offset": [], "log_nhi": []}
    for start in range(0, len(prepared), batch_size):
        result = dense_forward(weights, config, prepared.inputs[start : start + batch_size])
        for key in outputs:
            outputs[key].append(keras.ops.convert_to_numpy(result[key]))
    n_search = prepared.n_search

    def stack(key: str) -> np.ndarray:
        if not outputs[key]:
            return np.zeros((0, n_search), dtype=np.float32)
        return np.concatenate(outputs[key]).astype(np.float32)

    return DensePredictions(
        probability=stack("is_dla"), offset=stack("offset"), log_nhi=stack("log_nhi")
    )


def predict_windows(
    model: Any,
    config: NetworkConfig,
    prepared: PreparedSightlines,
    batch_size: int = 1024,
    search_pixels: np.ndarray | None = None,
) -> DensePredictions:
    """The same outputs by running the window model on every window (slow reference path).

    ``search_pixels`` restricts the evaluation to those window centres (same for all
    sightlines); the returned arrays then have that many columns.
    """
    cols = np.arange(prepared.n_search) if search_pixels is None else np.asarray(search_pixels)
    take = cols[:, None] + np.arange(config.window_pixels)[None, :]
    probs, offs, nhis = [], [], []
    for i in range(len(prepared)):
        pred = predict_window_batches(model, prepared.inputs[i][take], batch_size)
        probs.append(pred["is_dla"])
        offs.append(pred["offset"])
        nhis.append(pred["log_nhi"])
    return DensePredictions(
        probability=np.asarray(probs, dtype=np.float32).reshape(len(prepared), cols.size),
        offset=np.asarray(offs, dtype=np.float32).reshape(len(prepared), cols.size),
        log_nhi=np.asarray(nhis, dtype=np.float32).reshape(len(prepared), cols.size),
    )
