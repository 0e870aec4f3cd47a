"""Calibration of absorber log N_HI against the truth, fitted on held-out mocks.

A network trained with squared error regresses towards the bulk of its training
distribution: high column densities come out low. The calibration is a monotone
piecewise-linear map g⁻¹ with g(true) = median estimate at that true log N_HI, so
that after it the median estimate at any true column density is that column density.
Knots are (raw, calibrated) pairs in log10 cm⁻²; outside them the end segments extend.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from galcat.models.dla.evaluation import binned_delta, match_nearest

Knots = tuple[tuple[float, float], ...]

DEFAULT_EDGES = np.array([20.0, 20.2, 20.3, 20.4, 20.5, 20.7, 20.9, 21.1, 21.3, 21.6, 22.0, 22.6])


def fit_log_nhi_calibration(true_log_nhi: np.ndarray, est_log_nhi: np.ndarray,
                            edges: np.ndarray = DEFAULT_EDGES, min_per_bin: int = 30) -> Knots:
    """Knots (median estimate, median truth) per bin of true log N_HI with ≥ ``min_per_bin``
    matched absorbers; knots that would break monotonicity are dropped."""
    true_log_nhi = np.asarray(true_log_nhi, dtype=np.float64)
    est_log_nhi = np.asarray(est_log_nhi, dtype=np.float64)
    knots: list[tuple[float, float]] = []
    for lo, hi in itertools.pairwise(edges):
        inside = (true_log_nhi >= lo) & (true_log_nhi < hi)
        if inside.sum() < min_per_bin:
            continue
        raw = float(np.median(est_log_nhi[inside]))
        calibrated = float(np.median(true_log_nhi[inside]))
        if knots and (raw <= knots[-1][0] or calibrated <= knots[-1][1]):
            continue
        knots.append((round(raw, 5), round(calibrated, 5)))
    if len(knots) < 2:
        raise ValueError(f"only {len(knots)} bin(s) of true log N_HI have ≥ {min_per_bin} "
                         "matched absorbers: calibrate on more mock sightlines")
    return tuple(knots)


def calibrate_log_nhi(log_nhi: np.ndarray | float, knots: Sequence[Sequence[float]]) -> np.ndarray:
    """Calibrated log N_HI (identity when there are no knots)."""
    values = np.asarray(log_nhi, dtype=np.float64)
    if len(knots) < 2:
        return values
    raw, cal = (np.asarray(column, dtype=np.float64) for column in zip(*knots, strict=True))
    out = np.interp(values, raw, cal)
    low_slope = (cal[1] - cal[0]) / (raw[1] - raw[0])
    high_slope = (cal[-1] - cal[-2]) / (raw[-1] - raw[-2])
    out = np.where(values < raw[0], cal[0] + low_slope * (values - raw[0]), out)
    return np.where(values > raw[-1], cal[-1] + high_slope * (values - raw[-1]), out)


def calibration_slope(log_nhi: np.ndarray | float, knots: Sequence[Sequence[float]]) -> np.ndarray:
    """d(calibrated)/d(raw) at ``log_nhi``: the factor that carries an error through the map."""
    values = np.asarray(log_nhi, dtype=np.float64)
    if len(knots) < 2:
        return np.ones_like(values)
    raw, cal = (np.asarray(column, dtype=np.float64) for column in zip(*knots, strict=True))
    slopes = np.diff(cal) / np.diff(raw)
    segment = np.clip(np.searchsorted(raw, values) - 1, 0, slopes.size - 1)
    return np.asarray(slopes[segment])


LOG_NHI_HI_MIN = 19.5
BIAS_EDGES = (20.3, 20.5, 20.7, 21.0, 21.5, 22.6)


MATCHED_DTYPE = np.dtype([("true_log_nhi", np.float64), ("log_nhi", np.float64),
                          ("log_nhi_err", np.float64), ("true_z", np.float64),
                          ("z_dla", np.float64), ("z_dla_err", np.float64),
                          ("snr", np.float64)])


def matched_absorbers(truth: np.ndarray, absorbers: np.ndarray,
                      snr: np.ndarray | None = None) -> np.ndarray:
    """Every true H I absorber (log N_HI ≥ 19.5) matched by a non-LYB absorber
    (``MATCHED_DTYPE``): truth and estimate of log N_HI and z, the stated error, and the
    sightline's median S/N (``snr`` indexed by sightline; NaN when not given)."""
    truth = truth[truth["log_nhi"] >= LOG_NHI_HI_MIN]
    found = absorbers[absorbers["type"] != "LYB"]
    match = match_nearest(truth["sightline"], truth["z_abs"], found["sightline"], found["z_dla"])
    hit = match >= 0
    out = np.zeros(int(hit.sum()), dtype=MATCHED_DTYPE)
    out["true_log_nhi"] = truth["log_nhi"][hit]
    out["true_z"] = truth["z_abs"][hit]
    picked = found[match[hit]]
    for name in ("log_nhi", "log_nhi_err", "z_dla", "z_dla_err"):
        out[name] = picked[name]
    out["snr"] = np.nan if snr is None else np.asarray(snr)[picked["sightline"]]
    return out


def matched_log_nhi(truth: np.ndarray, absorbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(true, estimated) log N_HI of every true H I absorber matched by a non-LYB absorber."""
    pairs = matched_absorbers(truth, absorbers)
    return pairs["true_log_nhi"].copy(), pairs["log_nhi"].copy()


def bias_by_log_nhi(true: np.ndarray, estimate: np.ndarray) -> list[dict[str, float]]:
    """Mean and scatter of estimate − truth (dex) in bins of true log N_HI ≥ 20.3."""
    edges = np.asarray(BIAS_EDGES)
    count, mean, sigma = binned_delta(true, estimate, edges)
    return [{"log_nhi_lo": float(lo), "log_nhi_hi": float(hi), "n": int(n), "mean": float(m),
             "std": float(s)}
            for lo, hi, n, m, s in zip(edges[:-1], edges[1:], count, mean, sigma, strict=True)]
