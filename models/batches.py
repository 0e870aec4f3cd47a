"""Run a Keras model over many objects, batch by batch."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np


def predict_in_batches(model: keras.Model, inputs: Any, batch_size: int) -> Any:
    """``model``'s outputs for ``inputs`` (an array, or a dict or list of arrays whose
    first axis is the objects), with the structure ``model.predict`` gives.

    Each batch goes through ``predict_on_batch``. ``model.predict`` builds a tf.data
    pipeline on every call, and on a worker held to one core its thread hand-offs
    leave the core idle about 40 % of the time (512 stamps through the morphology
    network: 10.3 s wall for 6.2 s of CPU, against 5.5 s wall for 5.5 s CPU here).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    n = len(keras.tree.flatten(inputs)[0])
    parts = [model.predict_on_batch(keras.tree.map_structure(
        lambda a, s=start: a[s:s + batch_size], inputs))
        for start in range(0, max(n, 1), batch_size)]
    return keras.tree.map_structure(lambda *xs: np.concatenate([np.asarray(x) for x in xs]),
                                    *parts)
