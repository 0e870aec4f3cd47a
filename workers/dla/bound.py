"""``galcat evaluate dla-bound``: on held-out mocks, the log N_HI precision no unbiased
estimator can beat (:mod:`models.dla.information`), and the completeness as DLA that
such an estimator would reach: a true DLA of log N_HI = N measured with Gaussian error
σ is called a DLA with probability Φ((N − 20.3)/σ).

Three sets of assumptions, each more realistic than the last (and all optimistic, as
every absorber is assumed found): photon noise only, with continuum and forest known;
plus the forest as noise of known mean; plus a free quadratic continuum.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from galcat.models.dla.bound import ASSUMPTIONS, ideal_completeness, precision_bounds


@dataclass(frozen=True)
class PrecisionBound:
    table: Any
    summary: Any
    files: list[Path]


def evaluate_bound(out_dir: Path, n_sightlines: int = 2000, seed: int = 20_181,
                   snr_min: float = 5.0, population: Any | None = None,
                   progress: Callable[[int, int], None] | None = None) -> PrecisionBound:
    """Write the per-DLA bounds, a summary per assumption and a PNG of σ against S/N."""
    from astropy.table import Table

    out_dir.mkdir(parents=True, exist_ok=True)
    table = precision_bounds(n_sightlines, seed, snr_min, population, progress)
    if len(table) == 0:
        raise ValueError(f"no DLA on a sightline with S/N ≥ {snr_min} in {n_sightlines} mocks: "
                         "use more sightlines")
    log_nhi = np.asarray(table["log_nhi"])
    near = log_nhi < 20.5
    summary = Table(rows=[
        (name, text, float(np.median(table[f"sigma_log_nhi_{name}"])),
         float(np.median(np.asarray(table[f"sigma_log_nhi_{name}"])[near])),
         float(np.median(table[f"sigma_z_{name}"])),
         ideal_completeness(log_nhi, np.asarray(table[f"sigma_log_nhi_{name}"])))
        for name, text in ASSUMPTIONS.items()],
        names=("assumption", "meaning", "median_sigma_log_nhi", "median_sigma_log_nhi_20.3_20.5",
               "median_sigma_z", "ideal_completeness_dla"))
    summary.meta["n_dla"] = len(table)
    files = [out_dir / "dla_precision_bound.ecsv", out_dir / "dla_precision_bound_summary.ecsv"]
    table.write(files[0], overwrite=True)
    summary.write(files[1], overwrite=True)
    files.append(_plot(out_dir, table))
    return PrecisionBound(table, summary, files)


def _plot(out_dir: Path, table: Any) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for (name, text), marker in zip(ASSUMPTIONS.items(), ("o", "s", "^"), strict=True):
        ax.loglog(table["snr"], table[f"sigma_log_nhi_{name}"], marker, ms=3, alpha=0.5,
                  label=text)
    ax.set(xlabel="S/N (median over rest 1420–1480 Å)",
           ylabel="σ(log N_HI) bound [dex]",
           title="Best possible log N_HI precision per true DLA (held-out mocks)")
    ax.legend(fontsize=7, loc="upper right")
    path = out_dir / "dla_precision_bound.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
