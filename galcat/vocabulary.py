"""Words galcat's rooms share, declared once: label sets and prediction columns.

Pure data, no Keras, no database: ``galcat.catalog`` (label ingest, the release
columns) and ``galcat.models`` (networks, mocks, scores) both import from here and
from nowhere else for these names.

- The Galaxy Zoo 2 decision tree of the Kaggle challenge (37 columns
  ``Class1.1 … Class11.6``; Willett+2013, Dieleman+2015), with the GZ2 catalogue's
  answer numbers (``tNN_…_aNN_…``) of each answer.
- The CANDELS visual-classification flags (Kartaltepe+2015) and the bulge / disk /
  bulge+disk classes (Huertas-Company+2015): the morphology columns.
- The single-Sérsic parameters (GALFIT conventions; Tuccillo+2018): the Sérsic columns.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    """One GZ2 question: Kaggle number, text, answers, the answer (column) leading to it,
    and the GZ2 catalogue's answer number (``aNN``) of each answer."""

    number: int
    text: str
    answers: tuple[str, ...]
    parent: str | None = None
    catalogue_answers: tuple[int, ...] = ()

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
        """Each question's answers as a slice of :attr:`columns`."""
        out, start = [], 0
        for q in self.questions:
            out.append(slice(start, start + len(q.answers)))
            start += len(q.answers)
        return out

    def parent_index(self) -> list[int | None]:
        """Column index of each question's parent answer (None for root questions)."""
        index = {c: i for i, c in enumerate(self.columns)}
        return [None if q.parent is None else index[q.parent] for q in self.questions]

    def question(self, number: int) -> Question:
        return next(q for q in self.questions if q.number == number)

    def validate(self) -> None:
        seen: set[str] = set()
        for q in self.questions:
            if q.parent is not None and q.parent not in seen:
                raise ValueError(f"Q{q.number}'s parent {q.parent} is not an earlier answer")
            seen.update(q.columns())


GZ2_TREE = DecisionTree((
    Question(1, "Is the galaxy simply smooth and rounded, with no sign of a disk?",
             ("smooth", "features or disk", "star or artifact"), None, (1, 2, 3)),
    Question(2, "Could this be a disk viewed edge-on?", ("yes", "no"), "Class1.2", (4, 5)),
    Question(3, "Is there a sign of a bar feature through the centre?", ("yes", "no"),
             "Class2.2", (6, 7)),
    Question(4, "Is there any sign of a spiral arm pattern?", ("yes", "no"), "Class2.2",
             (8, 9)),
    Question(5, "How prominent is the central bulge?",
             ("no bulge", "just noticeable", "obvious", "dominant"), "Class2.2",
             (10, 11, 12, 13)),
    Question(6, "Is there anything odd?", ("yes", "no"), None, (14, 15)),
    Question(7, "How rounded is it?", ("completely round", "in between", "cigar-shaped"),
             "Class1.1", (16, 17, 18)),
    Question(8, "Is the odd feature a ring, or is the galaxy disturbed or irregular?",
             ("ring", "lens or arc", "disturbed", "irregular", "other", "merger", "dust lane"),
             "Class6.1", (19, 20, 21, 22, 23, 24, 38)),
    Question(9, "Does the galaxy have a bulge at its centre? If so, what shape?",
             ("rounded", "boxy", "no bulge"), "Class2.1", (25, 26, 27)),
    Question(10, "How tightly wound do the spiral arms appear?", ("tight", "medium", "loose"),
             "Class4.1", (28, 29, 30)),
    Question(11, "How many spiral arms are there?",
             ("1", "2", "3", "4", "more than four", "can't tell"), "Class4.1",
             (31, 32, 33, 34, 36, 37)),
))
"""The Kaggle "Galaxy Zoo - The Galaxy Challenge" tree as normalised by Dieleman, Willett
& Dambre (2015, MNRAS 450, 1441): each question's answers sum to the probability of the
answer leading to it; Q1 and Q6 have no parent and sum to 1."""

GZ2_VARIANTS = ("debiased", "weighted_fraction", "fraction")
"""The GZ2 catalogue's vote-fraction columns, in order of preference."""

CANDELS_FLAGS = ("f_spheroid", "f_disk", "f_irr", "f_ps", "f_unc")
"""Fractions of CANDELS classifiers ticking spheroid, disk, irregular/peculiar, point
source/compact and unclassifiable."""

CANDELS_SPELLINGS: dict[str, tuple[str, ...]] = {
    "f_spheroid": ("spheroid", "sph"), "f_disk": ("disk",),
    "f_irr": ("irr", "irregular", "peculiar"),
    "f_ps": ("ps", "point", "pointsource", "point_source", "compact"),
    "f_unc": ("unc", "unclass", "unclassifiable"),
}
"""How published CANDELS tables spell each flag (after an optional ``f`` or ``f_``)."""

BD_CLASSES = ("bulge", "disk", "bulge+disk")
"""Bulge / disk / bulge+disk classes, in the order of the probability columns."""

BD_COLUMNS = ("p_bulge", "p_disk", "p_bulge_disk")
"""Probability of each of :data:`BD_CLASSES`."""

MORPHOLOGY_COLUMNS = (*CANDELS_FLAGS, *BD_COLUMNS)
"""What the morphology network answers for one image, in this order."""

SERSIC_PARAMETERS = ("mag", "r_eff_arcsec", "sersic_n", "axis_ratio", "pa_deg")
"""AB magnitude, effective (half-light) radius along the major axis in arcsec, Sérsic
index, axis ratio b/a, position angle in degrees (east of north, in [0, 180))."""

SERSIC_COLUMNS = ("mag", "mag_err", "r_eff_arcsec", "r_eff_err", "sersic_n", "sersic_n_err",
                  "axis_ratio", "axis_ratio_err", "pa_deg")
"""What the Sérsic emulator answers for one image, in this order (``*_err``: 1σ)."""
