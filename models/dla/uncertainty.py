"""Calibrated uncertainties of DLA estimates, and the probability that an absorber is a DLA.

The network's own spread (the probability-weighted standard deviation of the log N_HI
its voting windows predict) is too small and does not grow with the noise. The error
model, fitted by maximum likelihood on fresh mocks (``galcat train dla-calibration``),
widens it with the sightline's median S/N per pixel, a floor, and a trend with the
estimate N itself:

    σ(log N_HI) = √((a · spread)² + (b / S/N)² + c²) · exp(k · (N − 20.8))   (dex)
    σ(z)        = (1 + z) · √((d / S/N)² + e²)                            (redshift)

so that on held-out mocks the pulls Δ/σ have unit spread. ``p_dla``, the probability
that the true column density is at least 10^20.3 cm⁻², is a monotone map of the distance
to the threshold in σ, t = (N − 20.3)/σ: on the same mocks, the found absorbers are
cut into quantile bins of t and each bin's share of true DLAs (smoothed by half a count
each way) becomes a knot, interpolated linearly (a Gaussian Φ(t) alone would ignore how
many more sub-DLAs than DLAs there are, and a logistic in t is measurably too flat).
Without a fitted model, p = Φ(t) with σ the raw spread.

Pull spreads are reported as the standard deviation of the pulls within ±5 (a gross
mismatch of two absorbers is not an error bar to calibrate), with the fraction
beyond.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import ndtr

from .calibration import calibrate_log_nhi, calibration_slope, matched_absorbers
from .constants import LOG_NHI_DLA_MIN
from .evaluation import match_nearest

PULL_CLIP = 5.0
NHI_PULL_EDGES = (19.5, 20.3, 20.5, 20.7, 21.0, 21.5, 22.6)
"""Bins of true log N_HI in which pulls are reported."""
MIN_BIN = 20
"""A reliability bin with fewer absorbers is reported but not judged."""
PARAMETERS = ("nhi_spread_scale", "nhi_noise", "nhi_floor", "nhi_slope", "z_noise", "z_floor")
"""The σ coefficients; a stored error model is these, then the p_dla knots (t, p) flattened."""
P_BINS = 12
NHI_PIVOT = 20.8


@dataclass(frozen=True)
class ErrorModel:
    """Coefficients of σ(log N_HI) (dex) and σ(z)/(1+z) (see the module docstring)."""

    nhi_spread_scale: float
    nhi_noise: float
    nhi_floor: float
    nhi_slope: float
    z_noise: float
    z_floor: float
    p_knots: tuple[tuple[float, float], ...] = ()

    def log_nhi_sigma(self, spread: np.ndarray, snr: np.ndarray,
                      log_nhi: np.ndarray) -> np.ndarray:
        """σ(log N_HI) in dex for the network's ``spread`` (dex) at median ``snr`` and
        estimate ``log_nhi``."""
        snr = np.maximum(np.asarray(snr, dtype=np.float64), 0.5)
        base = np.sqrt((self.nhi_spread_scale * np.asarray(spread, dtype=np.float64)) ** 2
                       + (self.nhi_noise / snr) ** 2 + self.nhi_floor ** 2)
        return base * np.exp(self.nhi_slope * (np.asarray(log_nhi, float) - NHI_PIVOT))

    def p_dla(self, log_nhi: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """P(true log N_HI ≥ 20.3) for estimate ``log_nhi`` with calibrated ``sigma``."""
        t = threshold_distance(log_nhi, sigma)
        if not self.p_knots:
            return ndtr(t)
        knots = np.asarray(self.p_knots, dtype=np.float64)
        return np.interp(t, knots[:, 0], knots[:, 1])

    def z_sigma(self, z: np.ndarray, snr: np.ndarray) -> np.ndarray:
        """σ(z_dla) at absorber redshift ``z`` and median ``snr``."""
        snr = np.maximum(np.asarray(snr, dtype=np.float64), 0.5)
        return (1.0 + np.asarray(z, dtype=np.float64)) * np.sqrt(
            (self.z_noise / snr) ** 2 + self.z_floor ** 2)

    def to_tuple(self) -> tuple[float, ...]:
        """The coefficients, then the p_dla knots flattened (how a network stores them)."""
        return (*(float(getattr(self, name)) for name in PARAMETERS),
                *(float(v) for knot in self.p_knots for v in knot))

    @classmethod
    def from_sequence(cls, values: Sequence[float]) -> ErrorModel:
        """The inverse of :meth:`to_tuple`."""
        n = len(PARAMETERS)
        if len(values) < n or (len(values) - n) % 2:
            raise ValueError(f"an error model is {n} coefficients ({', '.join(PARAMETERS)}) "
                             f"and (t, p) knot pairs, not {len(values)} numbers")
        a, b, c, k, d, e = (float(v) for v in values[:n])
        rest = [float(v) for v in values[n:]]
        return cls(a, b, c, k, d, e, tuple(zip(rest[0::2], rest[1::2], strict=True)))


def threshold_distance(log_nhi: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """(log N_HI − 20.3) / σ: how many standard errors an estimate lies above the DLA line."""
    sigma = np.maximum(np.asarray(sigma, dtype=np.float64), 1e-3)
    return (np.asarray(log_nhi, dtype=np.float64) - LOG_NHI_DLA_MIN) / sigma


def p_dla(log_nhi: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """P(true log N_HI ≥ 20.3) for a Gaussian estimate ``log_nhi`` ± ``sigma`` (dex), no prior
    (what an uncalibrated model reports)."""
    return ndtr(threshold_distance(log_nhi, sigma))


def _negative_log_likelihood(delta: np.ndarray, sigma: np.ndarray) -> float:
    return float(np.sum(np.log(sigma) + 0.5 * (delta / sigma) ** 2))


def _fit_scale(cost: Callable[[np.ndarray, np.ndarray], float], start: Any,
               keep: np.ndarray, sigma_of: Callable[[np.ndarray, np.ndarray], np.ndarray],
               delta: np.ndarray) -> np.ndarray:
    """Maximum likelihood on the pairs within ±``PULL_CLIP`` σ, re-clipped until stable."""
    params = np.asarray(start, dtype=np.float64)
    for _ in range(4):
        params = minimize(cost, params, args=(keep,), method="Nelder-Mead",
                          options={"xatol": 1e-5, "fatol": 1e-7, "maxiter": 6000}).x
        new = np.abs(delta / sigma_of(params, np.ones_like(keep))) <= PULL_CLIP
        if np.array_equal(new, keep):
            break
        keep = new
    return params


def fit_error_model(delta_log_nhi: np.ndarray, spread: np.ndarray, snr: np.ndarray,
                    log_nhi: np.ndarray, delta_z: np.ndarray, z: np.ndarray) -> ErrorModel:
    """Maximum-likelihood σ coefficients from matched absorbers: estimate − truth in log N_HI
    (dex) and z, the network's spread (dex), the sightline's median S/N, the estimate of
    log N_HI and the redshift (``p_dla``'s coefficients are fitted by :func:`fit_p_dla`)."""
    delta_n, spread = np.asarray(delta_log_nhi, float), np.asarray(spread, float)
    snr = np.maximum(np.asarray(snr, float), 0.5)
    log_nhi = np.asarray(log_nhi, float)
    delta_z, z = np.asarray(delta_z, float), np.asarray(z, float)
    if delta_n.size < 20:
        raise ValueError(f"{delta_n.size} matched absorbers: too few to fit an error model "
                         "(use more calibration sightlines)")

    def sigma_n(x: np.ndarray, keep: np.ndarray) -> np.ndarray:
        a, b, c = np.exp(x[:3])
        return np.sqrt((a * spread) ** 2 + (b / snr) ** 2 + c ** 2)[keep] * \
            np.exp(x[3] * (log_nhi[keep] - NHI_PIVOT))

    def sigma_z(x: np.ndarray, keep: np.ndarray) -> np.ndarray:
        d, e = np.exp(x)
        return ((1.0 + z) * np.sqrt((d / snr) ** 2 + e ** 2))[keep]

    def cost_n(x: np.ndarray, keep: np.ndarray) -> float:
        return _negative_log_likelihood(delta_n[keep], sigma_n(x, keep))

    def cost_z(x: np.ndarray, keep: np.ndarray) -> float:
        return _negative_log_likelihood(delta_z[keep], sigma_z(x, keep))

    start_n = np.array([np.log(2.0), np.log(0.2), np.log(0.03), 0.0])
    nhi = _fit_scale(cost_n, start_n, np.ones(delta_n.size, bool), sigma_n, delta_n)
    zfit = _fit_scale(cost_z, np.log([0.005, 0.0003]), np.ones(delta_z.size, bool), sigma_z,
                      delta_z)
    a, b, c = (float(v) for v in np.exp(nhi[:3]))
    d, e = (float(v) for v in np.exp(zfit))
    return ErrorModel(a, b, c, float(nhi[3]), d, e)


def fit_p_dla(t: np.ndarray, is_dla: np.ndarray, n_bins: int = P_BINS
              ) -> tuple[tuple[float, float], ...]:
    """Knots (median t, share of true DLAs) in ``n_bins`` quantile bins of ``t``, the shares
    made non-decreasing, from each candidate's distance to the DLA line in σ and whether
    it is a true DLA."""
    t, y = np.asarray(t, float), np.asarray(is_dla, float)
    if t.size < 10 * n_bins or y.min() == y.max():
        raise ValueError(f"{t.size} candidates: too few true and false DLAs to fit p_dla "
                         "(use more calibration sightlines)")
    order = np.argsort(t, kind="stable")
    knots = []
    for part in np.array_split(order, n_bins):
        share = (y[part].sum() + 0.5) / (part.size + 1.0)
        knots.append((float(np.median(t[part])), float(share)))
    shares = np.maximum.accumulate([k[1] for k in knots])
    return tuple((k[0], float(p)) for k, p in zip(knots, shares, strict=True))


@dataclass(frozen=True)
class PullBin:
    """The pulls of one bin: how many, their spread within ±5, the share beyond, mean."""

    label: str
    n: int
    sigma: float
    mean: float
    beyond_clip: float


def pull_bin(label: str, pulls: np.ndarray) -> PullBin:
    """Spread (standard deviation within ±``PULL_CLIP``) and mean of ``pulls``."""
    pulls = np.asarray(pulls, dtype=np.float64)
    inside = np.abs(pulls) <= PULL_CLIP
    if not inside.any():
        return PullBin(label, int(pulls.size), math.nan, math.nan, math.nan)
    return PullBin(label, int(pulls.size), float(np.std(pulls[inside])),
                   float(np.mean(pulls[inside])), float(1.0 - inside.mean()))


def pulls_by_bin(pulls: np.ndarray, values: np.ndarray, edges: Sequence[float],
                 name: str) -> list[PullBin]:
    """Pull spread in bins of ``values`` (``name`` labels them)."""
    out = []
    for lo, hi in itertools.pairwise(edges):
        sel = (values >= lo) & (values < hi)
        out.append(pull_bin(f"{name} {lo:g}-{hi:g}", pulls[sel]))
    return out


@dataclass(frozen=True)
class ReliabilityBin:
    """Absorbers with ``p_dla`` in [lo, hi): their mean ``p_dla`` and the fraction that are
    true DLAs (± its binomial error)."""

    lo: float
    hi: float
    n: int
    mean_p: float
    fraction_dla: float
    error: float


def reliability(p: np.ndarray, is_dla: np.ndarray,
                edges: Sequence[float] = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0001)
                ) -> list[ReliabilityBin]:
    """Predicted against observed DLA fraction in bins of ``p_dla``."""
    p, is_dla = np.asarray(p, float), np.asarray(is_dla, bool)
    out = []
    for lo, hi in itertools.pairwise(edges):
        sel = (p >= lo) & (p < hi)
        n = int(sel.sum())
        frac = float(is_dla[sel].mean()) if n else math.nan
        err = math.sqrt(max(frac * (1 - frac), 1.0 / max(n, 1)) / n) if n else math.nan
        out.append(ReliabilityBin(float(lo), float(min(hi, 1.0)), n,
                                  float(p[sel].mean()) if n else math.nan, frac, err))
    return out


def true_dla(candidates: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Whether each found absorber matches a true absorber with log N_HI ≥ 20.3."""
    match = match_nearest(candidates["sightline"], candidates["z_dla"], truth["sightline"],
                          truth["z_abs"])
    return (match >= 0) & (truth["log_nhi"][np.maximum(match, 0)] >= LOG_NHI_DLA_MIN)


def dla_candidates(run: Any, knots: Sequence[Sequence[float]], errors: ErrorModel
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(t, is true DLA) of every non-LYB absorber an uncalibrated ``run`` (a mock
    evaluation) found, after the log N_HI calibration ``knots`` and the σ of ``errors``."""
    found = run.absorbers[run.absorbers["type"] != "LYB"]
    raw = found["log_nhi"]
    calibrated = calibrate_log_nhi(raw, knots)
    sigma = errors.log_nhi_sigma(found["log_nhi_err"] * calibration_slope(raw, knots),
                                 run.prepared.snr[found["sightline"]], calibrated)
    return threshold_distance(calibrated, sigma), true_dla(found, run.truth)


def uncertainty_report(truth: np.ndarray, found: np.ndarray, snr: np.ndarray) -> dict[str, Any]:
    """Pulls of log N_HI (overall, per true log N_HI bin, per S/N tercile) and of z, and
    the reliability of ``p_dla``, for absorbers ``found`` against mock ``truth``
    (``snr`` is each sightline's median S/N, indexed by sightline)."""
    pairs = matched_absorbers(truth, found, snr)
    pull_n = (pairs["log_nhi"] - pairs["true_log_nhi"]) / pairs["log_nhi_err"]
    pull_z = (pairs["z_dla"] - pairs["true_z"]) / pairs["z_dla_err"]
    terciles = (0.0, *np.quantile(pairs["snr"], [1 / 3, 2 / 3]).tolist(), np.inf) \
        if pairs.size else (0.0, np.inf)
    candidates = found[found["type"] != "LYB"]
    table = reliability(candidates["p_dla"], true_dla(candidates, truth))
    judged = [abs(b.fraction_dla - b.mean_p) for b in table if b.n >= MIN_BIN]
    return {
        "n_matched": int(pairs.size),
        "log_nhi_pull": pull_bin("all", pull_n).__dict__,
        "log_nhi_pull_by_true_log_nhi": [b.__dict__ for b in pulls_by_bin(
            pull_n, pairs["true_log_nhi"], NHI_PULL_EDGES, "log N_HI")],
        "log_nhi_pull_by_snr_tercile": [b.__dict__ for b in pulls_by_bin(
            pull_n, pairs["snr"], terciles, "S/N")],
        "z_pull": pull_bin("all", pull_z).__dict__,
        "z_pull_by_snr_tercile": [b.__dict__ for b in pulls_by_bin(
            pull_z, pairs["snr"], terciles, "S/N")],
        "p_dla_reliability": [b.__dict__ for b in table],
        "p_dla_max_miscalibration": float(max(judged)) if judged else math.nan,
    }
