"""The Galaxy Zoo 2 decision tree as data, and a Keras layer that respects it.

The tree is the one of the Kaggle "Galaxy Zoo - The Galaxy Challenge" (37
columns ``Class1.1 … Class11.6``), as normalised by Dieleman, Willett &
Dambre (2015, MNRAS 450, 1441): each question's answers are a distribution
over the answers, multiplied by the probability of the answer that leads to
the question. Q1 and Q6 ("anything odd?", asked of every galaxy in the
Kaggle weighting) have no parent and sum to 1.

:class:`DecisionTreeLayer` maps 37 logits to 37 such probabilities with a
per-question softmax; it works for any tree declared as
:class:`DecisionTree`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
from keras import ops


@dataclass(frozen=True)
class Question:
    """One question: Kaggle number, text, answers, and the answer (column name) leading to it."""

    number: int
    text: str
    answers: tuple[str, ...]
    parent: str | None = None

    def columns(self) -> tuple[str, ...]:
        return tuple(f"Class{self.number}.{i + 1}" for i in range(len(self.answers)))


@dataclass(frozen=True)
class DecisionTree:
    """Questions in output-column order; parents must come before their children."""

    questions: tuple[Question, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for q in self.questions for c in q.columns())

    def slices(self) -> list[slice]:
        out, start = [], 0
        for q in self.questions:
            out.append(slice(start, start + len(q.answers)))
            start += len(q.answers)
        return out

    def parent_index(self) -> list[int | None]:
        """Column index of each question's parent answer (None for root questions)."""
        index = {c: i for i, c in enumerate(self.columns)}
        return [None if q.parent is None else index[q.parent] for q in self.questions]

    def validate(self) -> None:
        seen: set[str] = set()
        for q in self.questions:
            if q.parent is not None and q.parent not in seen:
                raise ValueError(f"Q{q.number}'s parent {q.parent} is not an earlier answer")
            seen.update(q.columns())


GZ2_KAGGLE = DecisionTree((
    Question(1, "Is the galaxy simply smooth and rounded, with no sign of a disk?",
             ("smooth", "features or disk", "star or artifact")),
    Question(2, "Could this be a disk viewed edge-on?", ("yes", "no"), "Class1.2"),
    Question(3, "Is there a sign of a bar feature through the centre?", ("yes", "no"),
             "Class2.2"),
    Question(4, "Is there any sign of a spiral arm pattern?", ("yes", "no"), "Class2.2"),
    Question(5, "How prominent is the central bulge?",
             ("no bulge", "just noticeable", "obvious", "dominant"), "Class2.2"),
    Question(6, "Is there anything odd?", ("yes", "no")),
    Question(7, "How rounded is it?", ("completely round", "in between", "cigar-shaped"),
             "Class1.1"),
    Question(8, "Is the odd feature a ring, or is the galaxy disturbed or irregular?",
             ("ring", "lens or arc", "disturbed", "irregular", "other", "merger", "dust lane"),
             "Class6.1"),
    Question(9, "Does the galaxy have a bulge at its centre? If so, what shape?",
             ("rounded", "boxy", "no bulge"), "Class2.1"),
    Question(10, "How tightly wound do the spiral arms appear?", ("tight", "medium", "loose"),
             "Class4.1"),
    Question(11, "How many spiral arms are there?",
             ("1", "2", "3", "4", "more than four", "can't tell"), "Class4.1"),
))


@keras.saving.register_keras_serializable(package="galcat")
class DecisionTreeLayer(keras.layers.Layer):
    """Logits (N, K) to tree-consistent probabilities (N, K) in the tree's column order."""

    def __init__(self, tree: DecisionTree = GZ2_KAGGLE, **kwargs: Any) -> None:
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
        if self.tree != GZ2_KAGGLE:
            raise NotImplementedError("only the GZ2 Kaggle tree is serialisable")
        return config


def tree_sums(probabilities: np.ndarray, tree: DecisionTree = GZ2_KAGGLE,
              ) -> tuple[np.ndarray, np.ndarray]:
    """Per question: the sum of its answers (N, Q) and what it should equal (N, Q)."""
    p = np.asarray(probabilities)
    sums = np.stack([p[:, sl].sum(axis=1) for sl in tree.slices()], axis=1)
    expected = np.stack([np.ones(p.shape[0]) if i is None else p[:, i]
                         for i in tree.parent_index()], axis=1)
    return sums, expected
