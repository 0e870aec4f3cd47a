"""Keras building blocks shared by the galaxy networks (``keras.ops`` only, any backend)."""

from __future__ import annotations

from typing import Any

import keras
from keras import layers, ops


def conv_encoder(x: Any, filters: tuple[int, ...], *, name: str = "encoder") -> Any:
    """Two 3x3 convolutions per stage (the second strided by 2), then flatten."""
    for i, f in enumerate(filters):
        x = layers.Conv2D(f, 3, padding="same", activation="relu", name=f"{name}_conv{i}a")(x)
        x = layers.Conv2D(f, 3, strides=2, padding="same", activation="relu",
                          name=f"{name}_conv{i}b")(x)
    x = layers.Conv2D(max(4, filters[-1] // 4), 1, activation="relu", name=f"{name}_squeeze")(x)
    return layers.Flatten(name=f"{name}_flat")(x)


def _rot90(x: Any) -> Any:
    """``np.rot90`` over axes (1, 2) of an NHWC tensor."""
    return ops.flip(ops.transpose(x, (0, 2, 1, 3)), axis=1)


@keras.saving.register_keras_serializable(package="galcat")
class D4Views(layers.Layer):
    """Stack the 8 rotations/flips of square NHWC images along the batch axis (8N first-major)."""

    def call(self, x: Any) -> Any:
        views = [x]
        for _ in range(3):
            views.append(_rot90(views[-1]))
        views += [ops.flip(v, axis=2) for v in views]
        return ops.concatenate(views, axis=0)

    def compute_output_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        batch = None if input_shape[0] is None else 8 * input_shape[0]
        return (batch, *input_shape[1:])


@keras.saving.register_keras_serializable(package="galcat")
class D4Mean(layers.Layer):
    """Average over the 8 views stacked by :class:`D4Views` (undoes the batch stacking)."""

    def call(self, y: Any) -> Any:
        shape = ops.shape(y)
        return ops.mean(ops.reshape(y, (8, -1, *shape[1:])), axis=0)

    def compute_output_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        batch = None if input_shape[0] is None else input_shape[0] // 8
        return (batch, *input_shape[1:])


@keras.saving.register_keras_serializable(package="galcat")
class RepeatRows(layers.Layer):
    """Repeat a (N, F) tensor 8 times along the batch axis, matching :class:`D4Views`."""

    def call(self, x: Any) -> Any:
        return ops.concatenate([x] * 8, axis=0)

    def compute_output_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        batch = None if input_shape[0] is None else 8 * input_shape[0]
        return (batch, *input_shape[1:])
