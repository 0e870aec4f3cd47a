"""Scores of the blue-nugget phase network on held-out simulated galaxies (arrays in, numbers out).

Per camera, every image is one answer. Per snapshot, the cameras of one snapshot vote:
the median over its cameras of each probability, then the argmax (phase) or a 0.5 cut
(cause). Inclinations above 90° are folded onto ``180° - i`` before binning.

Blue-nugget placement: the phases of a galaxy follow each other in time (pre-BN, BN,
post-BN, each once), so the predicted BN window is the maximum-likelihood ordered
segmentation of its snapshots, the first and last BN snapshot ``(a, b)`` that maximise
``Σ_{k<a} log p_pre + Σ_{a≤k≤b} log p_bn + Σ_{k>b} log p_post`` with the per-snapshot
median probabilities (renormalised to sum 1). Its edges sit half-way to the neighbouring
snapshots and the predicted BN time is the window's centre, as the true
``bn_time_gyr`` is the centre of the true window. This uses all three probabilities
and every snapshot, and one stray BN vote far from the nugget cannot move it.
Δ_BN = predicted − true, in Gyr and in Hubble times ``t_H = 1/H(z)`` (Planck18) at the
true blue-nugget redshift.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from galcat.models.simulation.history import PHASES

INCLINATION_EDGES_DEG = (0.0, 30.0, 60.0, 90.0)
PHASE_KEYS = ("p_pre_bn", "p_bn", "p_post_bn")
TARGETS: dict[str, tuple[float, float]] = {
    "phase_accuracy_camera": (0.85, 1.0), "phase_accuracy_snapshot": (0.95, 1.0),
    "bn_max_abs_offset_t_hubble": (0.0, 0.15), "cause_accuracy_snapshot": (0.90, 1.0),
    "time_since_merger_pull_std": (0.8, 1.2)}
"""Closed intervals the figures of :func:`score_phases` should fall in."""


def phase_probabilities(pred: Mapping[str, np.ndarray]) -> np.ndarray:
    """``(N, 3)`` probabilities in :data:`~galcat.models.simulation.history.PHASES` order."""
    return np.stack([np.asarray(pred[k], dtype=float) for k in PHASE_KEYS], axis=-1)


def per_snapshot(values: np.ndarray, galaxy: np.ndarray, snapshot: np.ndarray,
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Median over each snapshot's cameras of ``values (N, ...)``.

    Returns the index of one image of each snapshot (sorted by galaxy, then snapshot)
    and the medians ``(M, ...)``.
    """
    keys = np.stack([np.asarray(galaxy), np.asarray(snapshot)], axis=-1)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    vals = np.asarray(values, dtype=float)
    medians = np.stack([np.median(vals[inverse == m], axis=0) for m in range(first.size)])
    return first, medians


def confusion_matrix(true: np.ndarray, predicted: np.ndarray,
                     n_classes: int = len(PHASES)) -> np.ndarray:
    """Counts ``(n_classes, n_classes)``: row = true class, column = predicted class."""
    out = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(out, (np.asarray(true, dtype=int), np.asarray(predicted, dtype=int)), 1)
    return out


def fold_inclination_deg(inclination_deg: np.ndarray) -> np.ndarray:
    """Inclination in [0, 90] deg: ``i`` above 90° becomes ``180° - i``."""
    i = np.mod(np.asarray(inclination_deg, dtype=float), 180.0)
    return np.where(i > 90.0, 180.0 - i, i)


def accuracy_by_inclination(true: np.ndarray, predicted: np.ndarray,
                            inclination_deg: np.ndarray,
                            edges: Sequence[float] = INCLINATION_EDGES_DEG,
                            ) -> list[dict[str, float]]:
    """Accuracy per folded-inclination bin ``[lo, hi)`` (the last bin includes ``hi``)."""
    incl = fold_inclination_deg(inclination_deg)
    right = np.asarray(true) == np.asarray(predicted)
    rows = []
    for k, (lo, hi) in enumerate(itertools.pairwise(edges)):
        last = k == len(edges) - 2
        sel = (incl >= lo) & ((incl <= hi) if last else (incl < hi))
        rows.append({"lo_deg": float(lo), "hi_deg": float(hi), "n": int(sel.sum()),
                     "accuracy": float(right[sel].mean()) if sel.any() else float("nan")})
    return rows


def bn_window(times_gyr: np.ndarray, p_phase: np.ndarray) -> tuple[int, int]:
    """First and last BN snapshot ``(a, b)`` of the ordered segmentation (module docstring);
    ``times_gyr`` must increase and ``p_phase`` is ``(M, 3)``."""
    p = np.clip(np.asarray(p_phase, dtype=float), 1e-12, None)
    logp = np.log(p / p.sum(axis=-1, keepdims=True))
    m = logp.shape[0]
    if m != np.asarray(times_gyr).size:
        raise ValueError(f"{m} snapshots of probabilities but {np.size(times_gyr)} times")
    pre = np.concatenate([[0.0], np.cumsum(logp[:, 0])])
    bn = np.concatenate([[0.0], np.cumsum(logp[:, 1])])
    post = np.concatenate([[0.0], np.cumsum(logp[:, 2])])
    a, b = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    score = pre[a] + (bn[b + 1] - bn[a]) + (post[m] - post[b + 1])
    score = np.where(b >= a, score, -np.inf)
    best = int(np.argmax(score))
    return best // m, best % m


def bn_time_from_phases(times_gyr: np.ndarray, p_phase: np.ndarray) -> float:
    """Predicted blue-nugget time (Gyr): the centre of the :func:`bn_window`, whose edges
    lie half-way between the last pre-BN and first BN snapshot (and last BN, first post-BN)."""
    t = np.asarray(times_gyr, dtype=float)
    a, b = bn_window(t, p_phase)
    start = 0.5 * (t[a - 1] + t[a]) if a > 0 else t[a]
    end = 0.5 * (t[b] + t[b + 1]) if b + 1 < t.size else t[b]
    return float(0.5 * (start + end))


def hubble_time_gyr(redshift: float | np.ndarray) -> np.ndarray:
    """``1 / H(z)`` in Gyr (Planck18)."""
    from astropy.cosmology import Planck18

    return np.asarray((1.0 / Planck18.H(redshift)).to("Gyr").value)


def redshift_at_time(time_gyr: float) -> float:
    """Redshift whose Planck18 cosmic time is ``time_gyr`` (Gyr)."""
    import astropy.units as u
    from astropy.cosmology import Planck18, z_at_value

    return float(z_at_value(Planck18.age, time_gyr * u.Gyr).value)


def bn_offsets(p_phase: np.ndarray, labels: Any, bn_time_gyr: np.ndarray) -> dict[str, np.ndarray]:
    """Per galaxy present in ``labels``: predicted and true BN time (Gyr), Δ (Gyr), the
    Hubble time at the true BN redshift (Gyr) and Δ / t_H."""
    galaxy, snapshot = np.asarray(labels["galaxy"]), np.asarray(labels["snapshot"])
    first, medians = per_snapshot(p_phase, galaxy, snapshot)
    snap_galaxy = galaxy[first]
    times = np.asarray(labels["time_gyr"], dtype=float)[first]
    ids = np.unique(snap_galaxy)
    predicted = np.array([bn_time_from_phases(times[snap_galaxy == g], medians[snap_galaxy == g])
                          for g in ids])
    true = np.asarray(bn_time_gyr, dtype=float)[ids]
    t_h = np.array([float(hubble_time_gyr(redshift_at_time(t))) for t in true])
    delta = predicted - true
    return {"galaxy": ids, "predicted_gyr": predicted, "true_gyr": true, "delta_gyr": delta,
            "t_hubble_gyr": t_h, "delta_t_hubble": delta / t_h}


def time_since_merger_scores(mean_gyr: np.ndarray, err_gyr: np.ndarray,
                             true_gyr: np.ndarray) -> dict[str, float]:
    """On images with a defined truth (finite): pull ``(pred - true) / err`` standard
    deviation and 1.4826 MAD, 1σ coverage, and median |Δ| (Gyr)."""
    true = np.asarray(true_gyr, dtype=float)
    ok = np.isfinite(true)
    delta = np.asarray(mean_gyr, dtype=float)[ok] - true[ok]
    pull = delta / np.asarray(err_gyr, dtype=float)[ok]
    if not ok.any():
        nan = float("nan")
        return {"n": 0, "pull_std": nan, "pull_nmad": nan, "coverage_1sigma": nan,
                "median_abs_gyr": nan}
    return {"n": int(ok.sum()), "pull_std": float(np.std(pull)),
            "pull_nmad": float(1.4826 * np.median(np.abs(pull - np.median(pull)))),
            "coverage_1sigma": float(np.mean(np.abs(pull) <= 1.0)),
            "median_abs_gyr": float(np.median(np.abs(delta)))}


def cause_per_snapshot(p_merger_cause: np.ndarray, labels: Any,
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per snapshot with a defined cause (from the compaction on): the index of one of its
    images, the predicted cause (1 merger when the cameras' median probability > 0.5,
    else 0 inflow) and the true cause."""
    cause = np.asarray(labels["cause"], dtype=int)
    first, median = per_snapshot(np.asarray(p_merger_cause), np.asarray(labels["galaxy"]),
                                 np.asarray(labels["snapshot"]))
    defined = cause[first] >= 0
    return first[defined], (median[defined] > 0.5).astype(int), cause[first][defined]


def score_phases(pred: Mapping[str, np.ndarray], labels: Any,
                 bn_time_gyr: np.ndarray) -> dict[str, Any]:
    """Every figure of the phase network against the truth (keys as in :data:`TARGETS`,
    plus confusion matrices, accuracy per inclination bin and per-galaxy Δ_BN)."""
    true_phase = np.asarray(labels["phase"], dtype=int)
    galaxy, snapshot = np.asarray(labels["galaxy"]), np.asarray(labels["snapshot"])
    p = phase_probabilities(pred)
    camera_phase = np.argmax(p, axis=-1)
    first, medians = per_snapshot(p, galaxy, snapshot)
    snap_phase = np.argmax(medians, axis=-1)
    snap_true = true_phase[first]
    c_first, c_pred, c_true = cause_per_snapshot(pred["p_merger_cause"], labels)
    cause_right = c_pred == c_true
    bn = bn_offsets(p, labels, bn_time_gyr)
    return {
        "n_images": int(true_phase.size), "n_snapshots": int(first.size),
        "n_galaxies": int(bn["galaxy"].size),
        "phase_accuracy_camera": float(np.mean(camera_phase == true_phase)),
        "phase_accuracy_snapshot": float(np.mean(snap_phase == snap_true)),
        "confusion_camera": confusion_matrix(true_phase, camera_phase),
        "confusion_snapshot": confusion_matrix(snap_true, snap_phase),
        "accuracy_by_inclination": accuracy_by_inclination(
            true_phase, camera_phase, np.asarray(labels["inclination_deg"])),
        "cause_n_snapshots": int(c_first.size),
        "cause_accuracy_snapshot": float(np.mean(cause_right)) if c_first.size
        else float("nan"),
        "cause_accuracy_by_phase": {
            name: float(np.mean(cause_right[true_phase[c_first] == k]))
            for k, name in enumerate(PHASES) if np.any(true_phase[c_first] == k)},
        "time_since_merger": time_since_merger_scores(
            pred["time_since_merger_gyr"], pred["time_since_merger_err_gyr"],
            labels["time_since_merger_gyr"]),
        "bn": bn,
        "bn_max_abs_offset_t_hubble": float(np.max(np.abs(bn["delta_t_hubble"]))),
    }


def missed_targets(scores: Mapping[str, Any]) -> dict[str, tuple[float, tuple[float, float]]]:
    """The :data:`TARGETS` that ``scores`` miss: name → (measured, target interval)."""
    measured = {**scores, "time_since_merger_pull_std": scores["time_since_merger"]["pull_std"]}
    missed = {}
    for name, (lo, hi) in TARGETS.items():
        value = float(measured[name])
        if not lo <= value <= hi:
            missed[name] = (value, (lo, hi))
    return missed
