"""A Keras layer that respects the Galaxy Zoo 2 decision tree.

The tree is :data:`galcat.vocabulary.GZ2_TREE`, the Kaggle "Galaxy Zoo - The Galaxy
Challenge" tree (37 columns ``Class1.1 … Class11.6``) as normalised by Dieleman, Willett
& Dambre (2015, MNRAS 450, 1441): each question's answers are a distribution over the
answers, multiplied by the probability of the answer that leads to the question.

:class:`DecisionTreeLayer` maps 37 logits to 37 such probabilities with a per-question
softmax; it works for any :class:`galcat.vocabulary.DecisionTree`.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from galcat.vocabulary import GZ2_TREE, DecisionTree


@keras.saving.register_keras_serializable(package="galcat")
class DecisionTreeLayer(keras.layers.Layer):
    """Logits (N, K) to tree-consistent probabilities (N, K) in the tree's column order."""

    def __init__(self, tree: DecisionTree = GZ2_TREE, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        tree.validate()
        self.tree = tree
        self._slices = tree.slices()
        self._parents = tree.parent_index()
        self._n = len(tree.columns)

    def call(self, logits: Any) -> Any:
        columns: list[Any] = [None] * self._n
        for sl, parent in zip(self._slices, self._parents, strict=True):
            probs = ops.softmax(logits[:, sl], axis=-1)
            if parent is not None:
                probs = probs * columns[parent]
            for j in range(sl.stop - sl.start):
                columns[sl.start + j] = probs[:, j:j + 1]
        return ops.concatenate(columns, axis=-1)

    def compute_output_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        return (input_shape[0], self._n)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if self.tree != GZ2_TREE:
            raise NotImplementedError("only the GZ2 Kaggle tree is serialisable")
        return config


def tree_sums(probabilities: np.ndarray, tree: DecisionTree = GZ2_TREE,
              ) -> tuple[np.ndarray, np.ndarray]:
    """Per question: the sum of its answers (N, Q) and what it should equal (N, Q)."""
    p = np.asarray(probabilities)
    sums = np.stack([p[:, sl].sum(axis=1) for sl in tree.slices()], axis=1)
    expected = np.stack([np.ones(p.shape[0]) if i is None else p[:, i]
                         for i in tree.parent_index()], axis=1)
    return sums, expected
