"""``galcat evaluate environment``: redshift methods scored on a mock light-cone whose
truth is known: per-galaxy redshift accuracy, ξ(s) against the true one (the figure of
Tejos+2018 and Kakos+2022: the ratio to the true ξ(s) against s), and how well each
recovers every galaxy's local density (rank correlation with the density from true z)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray

from galcat.catalog.db import Database
from galcat.catalog.registry import resolve
from galcat.catalog.schema import Galaxy
from galcat.workers.environment.galaxies import GalaxyArrays, load_galaxies
from galcat.workers.environment.measure import best_redshift, estimates

XI_BIN_SLOP = 0.1
"""TreeCorr's bin slop for ξ(s): pairs within 10 % of a bin width of an edge may be binned
approximately (with no angle slop), about twice as fast as exact counting."""


@dataclass
class MethodScore:
    """One redshift set: its per-galaxy accuracy over galaxies without z_spec, its ξ(s)
    ratio to the true one, and its density rank correlation."""

    name: str
    sigma_nmad: float
    outlier_fraction: float
    xi: Any = None
    xi_ratio: NDArray[np.float64] | None = None
    density_spearman: float = float("nan")
    extra: dict[str, float] = field(default_factory=dict)


def truth_redshifts(db: Database, galaxies: GalaxyArrays, truth_path: Path) -> NDArray[np.float64]:
    """Z_TRUE from the truth table, matched on the galaxies' external ids (NaN if absent)."""
    from astropy.table import Table

    truth = Table.read(truth_path)
    lookup = {str(i).strip(): float(z) for i, z in zip(truth["ID"], truth["Z_TRUE"], strict=True)}
    with db.new_session() as session:
        external = dict(session.execute(sa.select(Galaxy.id, Galaxy.external_id)).all())
    return np.array([lookup.get(str(external.get(int(i), "")).strip(), np.nan)
                     for i in galaxies.ids])


def _accuracy(z: NDArray[np.float64], truth: NDArray[np.float64],
              uncertain: NDArray[np.bool_]) -> tuple[float, float]:
    keep = uncertain & np.isfinite(z) & np.isfinite(truth)
    d = (z[keep] - truth[keep]) / (1.0 + truth[keep])
    nmad = float(1.4826 * np.median(np.abs(d - np.median(d)))) if d.size else float("nan")
    return nmad, float(np.mean(np.abs(d) > 0.15)) if d.size else float("nan")


def evaluate_environment(db: Database, truth_path: Path, versions: list[str],
                         where: str | None = None, *, radius_mpc_h: float = 1.0,
                         dv_km_s: float = 1000.0, random_factor: int = 2, seed: int = 0,
                         progress: Any = None) -> tuple[list[MethodScore], Any]:
    """Scores of true z, photo-z (z_spec where there is one), the references alone (the
    clustering SORT can at best give back) and each version's draws (``z_draw``) and
    medians; returns them and the true ξ(s)."""
    from galcat.models.environment.clustering import xi_ratio, xi_s
    from galcat.models.environment.measures import cylinder_counts, spearman

    galaxies = load_galaxies(db, where)
    truth = truth_redshifts(db, galaxies, truth_path)
    if not np.isfinite(truth).any():
        raise ValueError(f"no galaxy of the catalogue has an ID in {truth_path}")
    known = np.isfinite(truth)
    galaxies, truth = galaxies.subset(known), truth[known]
    uncertain = ~np.isfinite(galaxies.z_spec)
    sets: list[tuple[str, NDArray[np.float64]]] = [
        ("true z", truth), ("photo-z", best_redshift(galaxies, None)),
        ("references alone", np.where(uncertain, np.nan, truth))]
    with db.new_session() as session:
        for reference in versions:
            version = resolve(session, reference)
            label = f"{version.name}@{version.version}"
            for column, what in (("z_draw", "draw"), ("z", "median")):
                values = estimates(db, int(version.id), galaxies.ids, column)
                sets.append((f"{label} {what}", best_redshift(galaxies, values)))
    ra_range = (float(galaxies.ra_deg.min()), float(galaxies.ra_deg.max()))
    dec_range = (float(galaxies.dec_deg.min()), float(galaxies.dec_deg.max()))
    true_density = cylinder_counts(galaxies.ra_deg, galaxies.dec_deg, truth,
                                   radius_mpc_h=radius_mpc_h, dv_km_s=dv_km_s)
    scores: list[MethodScore] = []
    true_xi = None
    for i, (name, z) in enumerate(sets):
        if progress is not None:
            progress(i, len(sets), name)
        ok = np.isfinite(z)
        xi = xi_s(galaxies.ra_deg[ok], galaxies.dec_deg[ok], z[ok], ra_range_deg=ra_range,
                  dec_range_deg=dec_range, random_factor=random_factor, seed=seed,
                  bin_slop=XI_BIN_SLOP)
        true_xi = xi if true_xi is None else true_xi
        nmad, outliers = _accuracy(z, truth, uncertain)
        rho = float("nan")
        if ok.all():
            density = cylinder_counts(galaxies.ra_deg, galaxies.dec_deg, z,
                                      radius_mpc_h=radius_mpc_h, dv_km_s=dv_km_s)
            rho = spearman(density, true_density)
        scores.append(MethodScore(name, nmad, outliers, xi, xi_ratio(xi, true_xi), rho))
    if progress is not None:
        progress(len(sets), len(sets), "done")
    return scores, true_xi


def plot_xi_ratios(scores: list[MethodScore], path: Path,
                   title: str = "ξ(s) recovered from each redshift set") -> Path:
    """The ratio of each ξ(s) to the true one against s (log s), with a ±10 % band, above
    ξ(s) itself."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 8), sharex=True,
                                      gridspec_kw={"height_ratios": [1, 1.2]})
    for score in scores:
        xi = score.xi
        style = {"color": "black", "lw": 2.5} if score.name == "true z" else {"lw": 1.5}
        top.errorbar(xi.s_mpc_h, np.clip(xi.xi, 1e-4, None), yerr=xi.xi_err, label=score.name,
                     capsize=2, **style)
        bottom.plot(xi.s_mpc_h, score.xi_ratio, marker="o", ms=3, label=score.name, **style)
    top.set(xscale="log", yscale="log", ylabel="ξ(s)")
    top.legend(fontsize=8)
    top.set_title(title)
    bottom.axhspan(0.9, 1.1, color="0.85", label="±10 %")
    bottom.axhline(1.0, color="black", lw=0.8)
    bottom.set(xscale="log", xlabel="s  [h⁻¹ Mpc]", ylabel="ξ(s) / ξ_true(s)", ylim=(0, 1.6))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def ratio_summary(score: MethodScore, s_min_mpc_h: float) -> tuple[float, float]:
    """Mean of ξ/ξ_true and the largest |ξ/ξ_true − 1| over bins with s > ``s_min``."""
    s = score.xi.s_mpc_h
    ratio = np.asarray(score.xi_ratio)[s > s_min_mpc_h]
    if ratio.size == 0:
        return float("nan"), float("nan")
    return float(np.mean(ratio)), float(np.max(np.abs(ratio - 1.0)))


SCORE_COLUMNS = ("redshifts", "sigma_nmad", "outlier_fraction", "density_spearman",
                 "xi_ratio_mean_s_gt_2", "xi_ratio_max_dev_s_gt_2", "xi_ratio_mean_s_gt_4",
                 "xi_ratio_max_dev_s_gt_4")


def score_rows(scores: list[MethodScore]) -> list[tuple[Any, ...]]:
    """One row per redshift set, in :data:`SCORE_COLUMNS` order."""
    return [(s.name, s.sigma_nmad, s.outlier_fraction, s.density_spearman,
             *ratio_summary(s, 2.0), *ratio_summary(s, 4.0)) for s in scores]


def write_evaluation(scores: list[MethodScore], out: Path) -> list[Path]:
    """scores.csv (one row per redshift set), xi.csv (ξ and its ratio per bin) and
    xi_ratio.png under ``out``."""
    from astropy.table import Table

    out.mkdir(parents=True, exist_ok=True)
    table = Table(rows=score_rows(scores), names=SCORE_COLUMNS)
    table.write(out / "scores.csv", overwrite=True)
    rows = [(s.name, float(lo), float(hi), float(mid), float(x), float(e), float(r))
            for s in scores for lo, hi, mid, x, e, r in zip(
                s.xi.s_edges_mpc_h[:-1], s.xi.s_edges_mpc_h[1:], s.xi.s_mpc_h, s.xi.xi,
                s.xi.xi_err, np.asarray(s.xi_ratio), strict=True)]
    Table(rows=rows, names=("redshifts", "s_low_mpc_h", "s_high_mpc_h", "s_mpc_h", "xi",
                            "xi_err", "xi_ratio")).write(out / "xi.csv", overwrite=True)
    return [out / "scores.csv", out / "xi.csv", plot_xi_ratios(scores, out / "xi_ratio.png")]
