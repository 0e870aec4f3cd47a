"""``predict_in_batches`` gives what ``model.predict`` gives, batch by batch or not, for
every input structure the models use, and an empty answer for no objects."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from galcat.models.batches import predict_in_batches


def _two_in_two_out() -> keras.Model:
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    x = keras.layers.Dense(5, activation="relu")(keras.layers.Concatenate()([a, b]))
    return keras.Model({"a": a, "b": b}, {"p": keras.layers.Dense(4, name="p")(x),
                                          "q": keras.layers.Dense(1, name="q")(x)})


@pytest.mark.parametrize("per_batch", [True, False])
@pytest.mark.parametrize("n", [1, 16, 103])
def test_batches_give_what_predict_gives(n: int, per_batch: bool) -> None:
    keras.utils.set_random_seed(0)
    model = _two_in_two_out()
    rng = np.random.default_rng(n)
    inputs = {"a": rng.normal(size=(n, 3)).astype("float32"),
              "b": rng.normal(size=(n, 2)).astype("float32")}
    want = model.predict(inputs, batch_size=16, verbose=0)
    got = predict_in_batches(model, inputs, 16, per_batch=per_batch)
    assert set(got) == {"p", "q"}
    for name in want:
        assert got[name].shape == (n, want[name].shape[1])
        np.testing.assert_allclose(got[name], want[name], rtol=1e-6, atol=1e-7)


def test_a_plain_array_and_no_objects() -> None:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    x = np.arange(30, dtype="float32").reshape(10, 3)
    for per_batch in (True, False):
        np.testing.assert_allclose(predict_in_batches(model, x, 4, per_batch=per_batch),
                                   model.predict(x, batch_size=4, verbose=0), rtol=1e-6)
        assert predict_in_batches(model, x[:0], 4, per_batch=per_batch).shape == (0, 2)
    with pytest.raises(ValueError, match="batch_size"):
        predict_in_batches(model, x, 0)
