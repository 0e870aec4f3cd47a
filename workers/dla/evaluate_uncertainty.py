"""``galcat evaluate dla``, the uncertainty half: pull spreads of log N_HI and z per bin,
the reliability of ``p_dla``, and completeness and purity as a function of a cut on
``p_dla``; ECSV tables and one PNG (see :mod:`galcat.models.dla.uncertainty`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from galcat.models.dla.constants import LOG_NHI_DLA_MIN
from galcat.models.dla.evaluation import match_nearest
from galcat.models.dla.uncertainty import true_dla, uncertainty_report

P_CUTS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def p_dla_cuts(truth: np.ndarray, found: np.ndarray) -> Any:
    """Completeness (true DLAs found by a non-LYB absorber with p_dla ≥ cut) and purity
    (such absorbers that are true DLAs) for each cut in :data:`P_CUTS`."""
    from astropy.table import Table

    candidates = found[found["type"] != "LYB"]
    dlas = truth[truth["log_nhi"] >= LOG_NHI_DLA_MIN]
    is_dla = true_dla(candidates, truth)
    rows = []
    for cut in P_CUTS:
        kept = candidates[candidates["p_dla"] >= cut]
        hit = match_nearest(dlas["sightline"], dlas["z_abs"], kept["sightline"], kept["z_dla"])
        purity = float(is_dla[candidates["p_dla"] >= cut].mean()) if kept.size else np.nan
        rows.append((cut, float(np.mean(hit >= 0)) if dlas.size else np.nan, purity,
                     int(kept.size)))
    return Table(rows=rows, names=("p_dla_min", "completeness", "purity", "n_kept"))


def uncertainty_files(run: Any, out_dir: Path) -> tuple[dict[str, Any], list[Path]]:
    """The report of :func:`uncertainty_report` for a mock evaluation ``run``, written as
    tables and a PNG into ``out_dir``."""
    from astropy.table import Table

    report = uncertainty_report(run.truth, run.absorbers, run.prepared.snr)
    pulls = Table(rows=[(kind, b["label"], b["n"], b["sigma"], b["mean"], b["beyond_clip"])
                        for kind, key in (("log_nhi", "log_nhi_pull"), ("z", "z_pull"))
                        for b in [report[key]]]
                  + [("log_nhi", b["label"], b["n"], b["sigma"], b["mean"], b["beyond_clip"])
                     for key in ("log_nhi_pull_by_true_log_nhi", "log_nhi_pull_by_snr_tercile")
                     for b in report[key]]
                  + [("z", b["label"], b["n"], b["sigma"], b["mean"], b["beyond_clip"])
                     for b in report["z_pull_by_snr_tercile"]],
                  names=("quantity", "bin", "n", "pull_sigma", "pull_mean", "beyond_5"))
    reliability = Table(rows=[tuple(b.values()) for b in report["p_dla_reliability"]],
                        names=tuple(report["p_dla_reliability"][0]))
    cuts = p_dla_cuts(run.truth, run.absorbers)
    files = [out_dir / "dla_pulls.ecsv", out_dir / "dla_p_dla_reliability.ecsv",
             out_dir / "dla_p_dla_cuts.ecsv"]
    for table, path in zip((pulls, reliability, cuts), files, strict=True):
        table.write(path, overwrite=True)
    files.append(_plot(out_dir, reliability, cuts))
    return report, files


def _plot(out_dir: Path, reliability: Any, cuts: Any) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    filled = reliability["n"] > 0
    left.plot([0, 1], [0, 1], color="0.6", lw=0.8)
    left.errorbar(reliability["mean_p"][filled], reliability["fraction_dla"][filled],
                  reliability["error"][filled], fmt="o", capsize=3)
    left.set(xlabel="p_dla (mean in bin)", ylabel="fraction that are true DLAs",
             xlim=(0, 1), ylim=(0, 1.02), title="p_dla reliability, held-out mocks")
    right.plot(cuts["p_dla_min"], cuts["completeness"], "o-", label="completeness")
    right.plot(cuts["p_dla_min"], cuts["purity"], "s--", label="purity")
    right.set(xlabel="cut: p_dla ≥", ylabel="fraction", ylim=(0, 1.02),
              title="DLAs (true log N_HI ≥ 20.3) against a p_dla cut")
    right.legend(loc="lower left")
    path = out_dir / "p_dla.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
