"""Scores of the galaxy networks against mock truth (arrays in, numbers out).

Sérsic: per parameter, Δ = prediction − truth for ``mag`` and ``axis_ratio`` and
(prediction − truth) / truth for ``r_eff`` and ``sersic_n``; bias = median Δ,
scatter = 1.4826 × MAD, and the median |Δ| that :data:`SERSIC_TARGETS` bound.

Morphology: per CANDELS flag, Δ = predicted − voted fraction; bias = mean Δ,
scatter = standard deviation of Δ, next to the scatter the votes alone imply
(``sqrt(mean f(1-f)/n_classifiers)``) and to the same bias and scatter against the
expected fraction (what the whole classifier pool would vote on average); bulge /
disk / bulge+disk top-1 accuracy on galaxies that have a true class. The targets are
judged against the votes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from galcat.models.galaxy.mockset import MAG_MAX
from galcat.vocabulary import BD_CLASSES, CANDELS_FLAGS

SERSIC_TARGETS = {"mag_median_abs": 0.10, "r_eff_rel_median_abs": 0.10,
                  "sersic_n_rel_median_abs": 0.15, "axis_ratio_median_abs": 0.05}
MORPHOLOGY_TARGETS = {"fraction_max_abs_bias": 0.02, "fraction_max_scatter": 0.10,
                      "bd_accuracy": 0.90}
SERSIC_DELTAS = ("mag", "r_eff_rel", "sersic_n_rel", "axis_ratio")


def _nmad(d: np.ndarray) -> float:
    return float(1.4826 * np.median(np.abs(d - np.median(d)))) if d.size else float("nan")


def sersic_deltas(pred: Mapping[str, np.ndarray], truth: Any) -> dict[str, np.ndarray]:
    """Δ per parameter (absolute for mag and axis ratio, relative for r_eff and n)."""
    return {
        "mag": np.asarray(pred["mag"]) - truth["mag"],
        "r_eff_rel": np.asarray(pred["r_eff_arcsec"]) / truth["r_eff_arcsec"] - 1.0,
        "sersic_n_rel": np.asarray(pred["sersic_n"]) / truth["sersic_n"] - 1.0,
        "axis_ratio": np.asarray(pred["axis_ratio"]) - truth["axis_ratio"],
    }


def sersic_scores(pred: Mapping[str, np.ndarray], truth: Any,
                  mag_max: float = MAG_MAX) -> dict[str, Any]:
    """Bias, scatter and median |Δ| per parameter for galaxies with true mag ≤ ``mag_max``."""
    deltas = sersic_deltas(pred, truth)
    keep = np.asarray(truth["mag"]) <= mag_max
    for d in deltas.values():
        keep &= np.isfinite(d)
    out: dict[str, Any] = {"n_scored": int(keep.sum()), "mag_max": mag_max}
    for name, d in deltas.items():
        sel = d[keep]
        out[f"{name}_bias"] = float(np.median(sel)) if sel.size else float("nan")
        out[f"{name}_scatter"] = _nmad(sel)
        out[f"{name}_median_abs"] = float(np.median(np.abs(sel))) if sel.size else float("nan")
    elongated = keep & (np.asarray(truth["axis_ratio"]) < 0.7)
    dpa = np.abs(np.mod(np.asarray(pred["pa_deg"]) - truth["pa_deg"] + 90.0, 180.0) - 90.0)
    out["pa_median_abs_deg_q_lt_0.7"] = float(np.median(dpa[elongated])) if elongated.any() \
        else float("nan")
    out["targets_met"] = {k: bool(out[k] <= v) for k, v in SERSIC_TARGETS.items()}
    return out


def morphology_scores(pred: Mapping[str, np.ndarray], truth: Any,
                      mag_max: float = MAG_MAX) -> dict[str, Any]:
    """Fraction bias/scatter per flag and bulge/disk accuracy for true mag ≤ ``mag_max``."""
    keep = np.asarray(truth["mag"]) <= mag_max
    out: dict[str, Any] = {"n_scored": int(keep.sum()), "mag_max": mag_max}
    n_cls = np.asarray(truth["n_classifiers"], dtype=float)[keep]
    for flag in CANDELS_FLAGS:
        voted = np.asarray(truth[flag], dtype=float)[keep]
        d = np.asarray(pred[flag], dtype=float)[keep] - voted
        out[f"{flag}_bias"] = float(np.mean(d)) if d.size else float("nan")
        out[f"{flag}_scatter"] = float(np.std(d)) if d.size else float("nan")
        out[f"{flag}_vote_noise"] = float(np.sqrt(np.mean(voted * (1 - voted) / n_cls))) \
            if d.size else float("nan")
        expected = f"{flag}_expected"
        if expected in truth.dtype.names:
            e = np.asarray(pred[flag], dtype=float)[keep] - np.asarray(truth[expected])[keep]
            out[f"{flag}_bias_vs_expected"] = float(np.mean(e)) if e.size else float("nan")
            out[f"{flag}_scatter_vs_expected"] = float(np.std(e)) if e.size else float("nan")
    out["fraction_max_abs_bias"] = max(abs(out[f"{f}_bias"]) for f in CANDELS_FLAGS)
    out["fraction_max_scatter"] = max(out[f"{f}_scatter"] for f in CANDELS_FLAGS)
    cls = np.asarray(truth["bd_class"], dtype=int)
    has = keep & (cls >= 0)
    probs = np.stack([np.asarray(pred[k]) for k in ("p_bulge", "p_disk", "p_bulge_disk")], 1)
    top1 = np.argmax(probs, axis=1)
    out["bd_n"] = int(has.sum())
    out["bd_accuracy"] = float(np.mean(top1[has] == cls[has])) if has.any() else float("nan")
    confusion = np.zeros((3, 3), dtype=int)
    np.add.at(confusion, (cls[has], top1[has]), 1)
    out["bd_confusion_true_by_predicted"] = confusion.tolist()
    for i, name in enumerate(BD_CLASSES):
        row = confusion[i].sum()
        out[f"bd_accuracy_{name}"] = float(confusion[i, i] / row) if row else float("nan")
    out["targets_met"] = {
        "fraction_max_abs_bias": bool(out["fraction_max_abs_bias"] <= 0.02),
        "fraction_max_scatter": bool(out["fraction_max_scatter"] <= 0.10),
        "bd_accuracy": bool(out["bd_accuracy"] >= 0.90),
    }
    return out


def emulator_on_mocks(model: Any, images: np.ndarray, truth: np.ndarray,
                      ) -> dict[str, np.ndarray]:
    """Emulator predictions for mocks, given the metadata their headers would carry."""
    from galcat.models.galaxy import emulator

    return emulator.predict(model, images, zero_point=truth["zero_point"],
                            psf_fwhm_arcsec=truth["psf_fwhm_arcsec"],
                            sky_sigma=truth["sky_sigma"])


def morphology_on_mocks(model: Any, images: np.ndarray, truth: np.ndarray,
                        ) -> dict[str, np.ndarray]:
    """Morphology predictions for mocks, given their header metadata."""
    from galcat.models.galaxy import morphology

    return morphology.predict(model, images, zero_point=truth["zero_point"],
                              psf_fwhm_arcsec=truth["psf_fwhm_arcsec"],
                              sky_sigma=truth["sky_sigma"])
