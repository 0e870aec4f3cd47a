"""Scoring a DLA catalogue against the truth, the way Parks et al. (2018) did.

A true absorber is recovered when a predicted absorber (``LYB`` excluded) in the same
sightline lies within |Δz| < 0.015; the nearest one is its match. "As H I absorber":
any such match; "as DLA": the match is typed DLA (log N_HI ≥ 20.3). A predicted DLA
with no true DLA within |Δz| < 0.015 is a false DLA. σ(Δz) and σ(Δlog N_HI) are
standard deviations over the true DLAs recovered as DLAs (Δ = predicted − true).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .constants import LOG_NHI_DLA_MIN

DZ_MATCH = 0.015


def match_nearest(
    query_sightline: np.ndarray,
    query_z: np.ndarray,
    ref_sightline: np.ndarray,
    ref_z: np.ndarray,
    dz_max: float = DZ_MATCH,
) -> np.ndarray:
    """Index into ref of the nearest same-sightline entry with |Δz| < dz_max, else −1."""
    query_sightline = np.asarray(query_sightline, dtype=np.int64)
    query_z = np.asarray(query_z, dtype=np.float64)
    out = np.full(query_z.size, -1, dtype=np.int64)
    if query_z.size == 0 or np.size(ref_z) == 0:
        return out
    ref_sightline = np.asarray(ref_sightline, dtype=np.int64)
    ref_z = np.asarray(ref_z, dtype=np.float64)
    order = np.lexsort((ref_z, ref_sightline))
    s_sorted, z_sorted = ref_sightline[order], ref_z[order]
    best_dz = np.full(query_z.size, np.inf)
    lo = np.searchsorted(s_sorted, query_sightline, side="left")
    hi = np.searchsorted(s_sorted, query_sightline, side="right")
    pos = lo + np.array(
        [np.searchsorted(z_sorted[a:b], z) for a, b, z in zip(lo, hi, query_z, strict=True)],
        dtype=np.int64,
    )
    for cand in (pos - 1, pos):
        ok = (cand >= lo) & (cand < hi)
        c = np.where(ok, cand, 0)
        dz = np.where(ok, np.abs(z_sorted[c] - query_z), np.inf)
        better = (dz < dz_max) & (dz < best_dz)
        out[better] = order[c[better]]
        best_dz[better] = dz[better]
    return out


@dataclass(frozen=True)
class BinnedFraction:
    """Fraction of flagged entries per bin with its binomial standard error."""

    edges: np.ndarray
    n: np.ndarray
    k: np.ndarray

    @property
    def fraction(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.n > 0, self.k / self.n, np.nan)

    @property
    def error(self) -> np.ndarray:
        f = self.fraction
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.n > 0, np.sqrt(f * (1 - f) / self.n), np.nan)


def binned_fraction(values: np.ndarray, flags: np.ndarray, edges: np.ndarray) -> BinnedFraction:
    """Counts and flagged counts of ``values`` in bins ``edges`` (last bin closed)."""
    values = np.asarray(values, dtype=np.float64)
    flags = np.asarray(flags, dtype=bool)
    edges = np.asarray(edges, dtype=np.float64)
    n, _ = np.histogram(values, bins=edges)
    k, _ = np.histogram(values[flags], bins=edges)
    return BinnedFraction(edges=edges, n=n, k=k)


def binned_delta(true_values: np.ndarray, estimates: np.ndarray, edges: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(count, mean, standard deviation) of estimate − truth per bin of the true value;
    NaN where a bin is empty."""
    true_values = np.asarray(true_values, dtype=np.float64)
    delta = np.asarray(estimates, dtype=np.float64) - true_values
    which = np.digitize(true_values, edges) - 1
    count = np.bincount(which[(which >= 0) & (which < edges.size - 1)], minlength=edges.size - 1)
    mean = np.full(edges.size - 1, np.nan)
    sigma = np.full(edges.size - 1, np.nan)
    for k in np.nonzero(count)[0]:
        mean[k], sigma[k] = delta[which == k].mean(), delta[which == k].std()
    return count, mean, sigma


@dataclass(frozen=True)
class DLAScore:
    """Completeness, purity and precision of a predicted catalogue against the truth."""

    n_sightlines: int
    n_true_dla: int
    n_recovered_as_dla: int
    n_recovered_as_hi: int
    n_predicted_dla: int
    n_false_dla: int
    mean_dz: float
    sigma_dz: float
    rms_dz: float
    mean_dlog_nhi: float
    sigma_dlog_nhi: float
    match_index: np.ndarray = field(repr=False)  # per true DLA: index into the predictions, or −1
    completeness_vs_log_nhi: BinnedFraction | None = field(default=None, repr=False)
    completeness_hi_vs_log_nhi: BinnedFraction | None = field(default=None, repr=False)
    completeness_vs_snr: BinnedFraction | None = field(default=None, repr=False)

    @property
    def completeness_dla(self) -> float:
        return self.n_recovered_as_dla / self.n_true_dla if self.n_true_dla else float("nan")

    @property
    def completeness_hi(self) -> float:
        return self.n_recovered_as_hi / self.n_true_dla if self.n_true_dla else float("nan")

    @property
    def purity(self) -> float:
        if not self.n_predicted_dla:
            return float("nan")
        return 1.0 - self.n_false_dla / self.n_predicted_dla

    @property
    def false_dla_per_100_sightlines(self) -> float:
        return 100.0 * self.n_false_dla / self.n_sightlines if self.n_sightlines else float("nan")

    def summary(self) -> dict[str, float]:
        """The headline figures as plain floats."""
        return {
            "completeness_dla": self.completeness_dla,
            "completeness_hi": self.completeness_hi,
            "purity": self.purity,
            "false_dla_per_100_sightlines": self.false_dla_per_100_sightlines,
            "n_false_dla": float(self.n_false_dla),
            "sigma_dz": self.sigma_dz,
            "rms_dz": self.rms_dz,
            "sigma_dlog_nhi": self.sigma_dlog_nhi,
            "mean_dlog_nhi": self.mean_dlog_nhi,
        }


def score_dla_catalog(
    true_sightline: np.ndarray,
    true_z: np.ndarray,
    true_log_nhi: np.ndarray,
    pred_sightline: np.ndarray,
    pred_z: np.ndarray,
    pred_log_nhi: np.ndarray,
    pred_type: np.ndarray,
    n_sightlines: int,
    dz_max: float = DZ_MATCH,
    true_snr: np.ndarray | None = None,
    log_nhi_edges: np.ndarray | None = None,
    snr_edges: np.ndarray | None = None,
) -> DLAScore:
    """Score predicted absorbers against true ones (any true row with log N_HI ≥ 20.3 is a DLA).

    ``pred_type`` holds DLA / SUBDLA / LYB; LYB rows are ignored. ``true_snr`` (per
    true absorber) enables completeness vs S/N.
    """
    true_sightline = np.asarray(true_sightline)
    true_z = np.asarray(true_z, dtype=np.float64)
    true_log_nhi = np.asarray(true_log_nhi, dtype=np.float64)
    keep = np.asarray(pred_type) != "LYB"
    p_s = np.asarray(pred_sightline)[keep]
    p_z = np.asarray(pred_z, dtype=np.float64)[keep]
    p_n = np.asarray(pred_log_nhi, dtype=np.float64)[keep]
    p_is_dla = np.asarray(pred_type)[keep] == "DLA"

    is_dla = true_log_nhi >= LOG_NHI_DLA_MIN
    t_s, t_z, t_n = true_sightline[is_dla], true_z[is_dla], true_log_nhi[is_dla]
    match = match_nearest(t_s, t_z, p_s, p_z, dz_max)
    as_hi = match >= 0
    as_dla = np.zeros_like(as_hi)
    as_dla[as_hi] = p_is_dla[match[as_hi]]
    dz = p_z[match[as_dla]] - t_z[as_dla]
    dn = p_n[match[as_dla]] - t_n[as_dla]
    back = match_nearest(p_s[p_is_dla], p_z[p_is_dla], t_s, t_z, dz_max)

    edges_n = np.arange(20.3, 22.7, 0.2) if log_nhi_edges is None else log_nhi_edges
    by_snr = None
    if true_snr is not None:
        edges_s = np.array([0, 2, 4, 6, 10, 20, 100.0]) if snr_edges is None else snr_edges
        by_snr = binned_fraction(np.asarray(true_snr)[is_dla], as_dla, edges_s)

    def stat(values: np.ndarray, fn: str) -> float:
        if values.size == 0:
            return float("nan")
        if fn == "rms":
            return float(np.sqrt(np.mean(values**2)))
        return float(getattr(np, fn)(values))

    return DLAScore(
        n_sightlines=int(n_sightlines),
        n_true_dla=int(is_dla.sum()),
        n_recovered_as_dla=int(as_dla.sum()),
        n_recovered_as_hi=int(as_hi.sum()),
        n_predicted_dla=int(p_is_dla.sum()),
        n_false_dla=int(np.sum(back < 0)),
        mean_dz=stat(dz, "mean"),
        sigma_dz=stat(dz, "std"),
        rms_dz=stat(dz, "rms"),
        mean_dlog_nhi=stat(dn, "mean"),
        sigma_dlog_nhi=stat(dn, "std"),
        match_index=_original_index(match, keep),
        completeness_vs_log_nhi=binned_fraction(t_n, as_dla, edges_n),
        completeness_hi_vs_log_nhi=binned_fraction(t_n, as_hi, edges_n),
        completeness_vs_snr=by_snr,
    )


def _original_index(match: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Matches as indices into the unfiltered predictions (-1: unmatched)."""
    out = np.full(match.shape, -1, dtype=np.int64)
    out[match >= 0] = np.nonzero(keep)[0][match[match >= 0]]
    return out
