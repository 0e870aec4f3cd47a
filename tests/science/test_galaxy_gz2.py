"""The Galaxy Zoo 2 decision-tree layer keeps every question consistent with its parent."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

keras = pytest.importorskip("keras")

from galcat.models.galaxy.gz2 import DecisionTreeLayer, tree_sums  # noqa: E402
from galcat.vocabulary import GZ2_TREE, DecisionTree, Question  # noqa: E402

LAYER = DecisionTreeLayer()


def test_tree_has_the_kaggle_columns_and_answer_counts():
    cols = GZ2_TREE.columns
    assert len(cols) == 37
    assert cols[0] == "Class1.1" and cols[-1] == "Class11.6"
    assert [len(q.answers) for q in GZ2_TREE.questions] == [3, 2, 2, 2, 4, 2, 3, 7, 3, 3, 6]
    parents = {q.number: q.parent for q in GZ2_TREE.questions}
    assert parents == {1: None, 2: "Class1.2", 3: "Class2.2", 4: "Class2.2", 5: "Class2.2",
                       6: None, 7: "Class1.1", 8: "Class6.1", 9: "Class2.1", 10: "Class4.1",
                       11: "Class4.1"}


@settings(max_examples=60, deadline=None)
@given(arrays(np.float32, (3, 37), elements=st.floats(-30, 30, width=32)))
def test_answers_are_nonnegative_and_sum_to_the_parent(logits):
    p = keras.ops.convert_to_numpy(LAYER(logits))
    assert p.shape == (3, 37)
    assert np.all(p >= 0) and np.all(p <= 1 + 1e-6)
    sums, expected = tree_sums(p)
    np.testing.assert_allclose(sums, expected, atol=1e-5)
    np.testing.assert_allclose(sums[:, 0], 1.0, atol=1e-5)


def test_a_sure_smooth_galaxy_zeroes_the_disk_branch():
    logits = np.zeros((1, 37), dtype="float32")
    logits[0, 0] = 40.0  # Class1.1 smooth
    p = keras.ops.convert_to_numpy(LAYER(logits))[0]
    col = {c: i for i, c in enumerate(GZ2_TREE.columns)}
    assert p[col["Class1.1"]] == pytest.approx(1.0, abs=1e-6)
    for name in ("Class2.1", "Class3.1", "Class4.1", "Class10.1", "Class11.6"):
        assert p[col[name]] < 1e-6
    assert p[col["Class7.1"]] == pytest.approx(1 / 3, abs=1e-5)


def test_layer_trains_inside_a_model_and_reloads(tmp_path):
    inp = keras.Input((4,))
    out = DecisionTreeLayer(name="gz2")(keras.layers.Dense(37)(inp))
    model = keras.Model(inp, out)
    model.compile(optimizer="adam", loss="mse", run_eagerly=True)
    x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    y = keras.ops.convert_to_numpy(LAYER(np.random.default_rng(1).normal(size=(8, 37))))
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "gz2.keras"
    model.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_a_tree_with_a_parent_after_its_child_is_refused():
    bad = DecisionTree((Question(1, "a", ("x", "y"), "Class2.1"), Question(2, "b", ("u", "v"))))
    with pytest.raises(ValueError, match="parent"):
        DecisionTreeLayer(bad)
