"""Fine-tuning targets: a label set's columns mapped onto the morphology network's outputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from galcat.vocabulary import MORPHOLOGY_COLUMNS

LABEL_TARGETS: dict[str, tuple[tuple[str, ...], ...]] = {
    "f_spheroid": (("f_spheroid",), ("Class1.1",), ("smooth-or-featured_smooth_fraction",)),
    "f_disk": (("f_disk",), ("Class1.2",), ("smooth-or-featured_featured-or-disk_fraction",)),
    "f_irr": (("f_irr",), ("Class8.3", "Class8.4")),
    "f_ps": (("f_ps",), ("Class1.3",), ("smooth-or-featured_artifact_fraction",)),
    "f_unc": (("f_unc",),),
    "p_bulge": (("p_bulge",),),
    "p_disk": (("p_disk",),),
    "p_bulge_disk": (("p_bulge_disk",),),
}
"""Output column ← label keys summed (first alternative whose keys are all present).
GZ2 and GZ DECaLS answers stand in for CANDELS flags: smooth ↔ spheroid,
features/disk ↔ disk, star/artifact ↔ point source, disturbed + irregular ↔ irregular."""


def label_targets(values: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Targets (N, 8) in :data:`MORPHOLOGY_COLUMNS` order (NaN: not given) and which are given."""
    targets = np.full((len(values), len(MORPHOLOGY_COLUMNS)), np.nan)
    for i, v in enumerate(values):
        for j, column in enumerate(MORPHOLOGY_COLUMNS):
            for keys in LABEL_TARGETS[column]:
                if all(isinstance(v.get(k), int | float) for k in keys):
                    targets[i, j] = float(np.clip(sum(float(v[k]) for k in keys), 0.0, 1.0))
                    break
    return targets, np.isfinite(targets)
