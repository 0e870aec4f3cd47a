"""``galcat evaluate dla``: score a DLA model on held-out mocks, beside Parks+2018.

Writes ``dla_summary.ecsv`` (headline figures), ``dla_binned.ecsv`` (completeness and
purity against log N_HI and S/N) and PNG plots. Matching rule: |Δz| < 0.015.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from galcat.workers.dla.evaluate_uncertainty import uncertainty_files

LOG_NHI_EDGES = np.array([20.3, 20.5, 20.7, 20.9, 21.1, 21.3, 21.6, 22.0, 22.6])
SNR_EDGES = np.array([5, 7, 10, 15, 20, 30, 100.0])
Z_QSO_EDGES = np.array([2.2, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0])


@dataclass(frozen=True)
class DlaEvaluation:
    summary: Any
    binned: Any
    files: list[Path]
    uncertainties: dict[str, Any]


def parks18_like_population(folder: Path) -> Any:
    """Mocks shaped like the Parks+2018 test set: every sightline holds a DLA (and as many
    extra ones on average), no sub-DLAs, quasar redshifts and DLA column densities drawn
    from that set's own files."""
    from galcat.catalog.formats.parks18 import (
        PREDICTIONS_FILE,
        TRUTH_FILE,
        read_parks18_redshifts,
        read_parks18_truth,
    )
    from galcat.models.dla.mock import MockConfig

    truth = read_parks18_truth(folder / TRUTH_FILE)
    z_qso = read_parks18_redshifts(folder / PREDICTIONS_FILE)
    return MockConfig(z_qso_sample=tuple(float(z) for z in z_qso),
                      log_nhi_dla_sample=tuple(float(n) for n in truth["log_nhi"]),
                      absorber_sightline_fraction=1.0, dla_fraction=1.0,
                      extra_absorbers_mean=truth.size / z_qso.size - 1.0)


def evaluate_dla(model: Any, network: Any, out_dir: Path, n_sightlines: int = 2000,
                 seed: int = 20_181, snr_min: float = 5.0,
                 parks18_dir: Path | None = None,
                 population: Any | None = None, refine: Any | None = None) -> DlaEvaluation:
    """Score the model on ``n_sightlines`` fresh mocks (S/N ≥ ``snr_min``) of ``population``
    (a ``MockConfig``; by default quasar redshifts uniform over 2.2–5); with ``refine`` (a
    ``RefineConfig``) the refined catalogue."""
    from astropy.table import Table

    from galcat.models.dla.evaluation import binned_fraction, match_nearest
    from galcat.models.dla.mock import MockConfig
    from galcat.models.dla.recipe import evaluate_on_mocks

    out_dir.mkdir(parents=True, exist_ok=True)
    config = population or MockConfig()
    run = evaluate_on_mocks(model, network, n_sightlines, seed, snr_min=snr_min,
                            mock_config=config, refine=refine)
    truth = run.truth[run.truth["log_nhi"] >= 20.3]
    index = run.score.match_index
    as_dla = (index >= 0) & (run.absorbers["type"][np.maximum(index, 0)] == "DLA")
    found = run.absorbers[run.absorbers["type"] == "DLA"]
    snr = run.prepared.snr
    matched_pred = match_nearest(found["sightline"], found["z_dla"], run.truth["sightline"],
                                 run.truth["z_abs"]) >= 0
    name = "galcat (Voigt-refined)" if refine else "galcat"
    rows = [_summary_row(name, run.score.summary(), run.score.n_sightlines,
                         run.score.n_true_dla)]
    binned = Table()
    binned["log_nhi_lo"], binned["log_nhi_hi"] = LOG_NHI_EDGES[:-1], LOG_NHI_EDGES[1:]
    c_nhi = binned_fraction(truth["log_nhi"], as_dla, LOG_NHI_EDGES)
    p_nhi = binned_fraction(found["log_nhi"], matched_pred, LOG_NHI_EDGES)
    binned["completeness"] = c_nhi.fraction
    binned["purity"] = p_nhi.fraction
    binned["n_true"] = c_nhi.n
    binned["mean_dlog_nhi"], binned["sigma_dlog_nhi"] = _delta_by_log_nhi(
        truth["log_nhi"], run.absorbers["log_nhi"], index)
    parks = _parks(parks18_dir) if parks18_dir else None
    if parks is not None:
        score, parks_truth, parks_pred = parks
        rows.append(_summary_row("Parks+2018 (published test set)", score.summary(),
                                 score.n_sightlines, score.n_true_dla))
        hit = score.match_index >= 0
        parks_as_dla = hit & (parks_pred["type"][np.maximum(score.match_index, 0)] == "DLA")
        binned["parks18_completeness"] = binned_fraction(parks_truth, parks_as_dla,
                                                         LOG_NHI_EDGES).fraction
        binned["parks18_completeness_hi"] = binned_fraction(parks_truth, hit,
                                                            LOG_NHI_EDGES).fraction
        binned["parks18_mean_dlog_nhi"], binned["parks18_sigma_dlog_nhi"] = _delta_by_log_nhi(
            parks_truth, parks_pred["log_nhi"], score.match_index)
    by_snr = Table()
    by_snr["snr_lo"], by_snr["snr_hi"] = SNR_EDGES[:-1], SNR_EDGES[1:]
    by_snr["completeness"] = binned_fraction(snr[truth["sightline"]], as_dla, SNR_EDGES).fraction
    by_snr["purity"] = binned_fraction(snr[found["sightline"]], matched_pred, SNR_EDGES).fraction
    summary = Table(rows=rows, names=list(SUMMARY_COLUMNS))
    files = [out_dir / "dla_summary.ecsv", out_dir / "dla_binned_log_nhi.ecsv",
             out_dir / "dla_binned_snr.ecsv", out_dir / "dla_binned_z_qso.ecsv"]
    summary.write(files[0], overwrite=True)
    binned.write(files[1], overwrite=True)
    by_snr.write(files[2], overwrite=True)
    _by_z_qso(run, as_dla, snr_min).write(files[3], overwrite=True)
    files += _plots(out_dir, binned, by_snr, run)
    report, uncertainty = uncertainty_files(run, out_dir)
    return DlaEvaluation(summary, binned, files + uncertainty, report)


def _by_z_qso(run: Any, as_dla: np.ndarray, snr_min: float) -> Any:
    """Completeness and false DLAs (no true DLA within |Δz| < 0.015) per 100 sightlines
    in bins of quasar redshift."""
    from astropy.table import Table

    from galcat.models.dla.evaluation import match_nearest

    z_qso = np.asarray(run.mock.z_qso)
    truth = run.truth[run.truth["log_nhi"] >= 20.3]
    found = run.absorbers[run.absorbers["type"] == "DLA"]
    true_dla = match_nearest(found["sightline"], found["z_dla"], truth["sightline"],
                             truth["z_abs"]) >= 0
    searched = run.prepared.snr >= snr_min
    rows = []
    for lo, hi in itertools.pairwise(Z_QSO_EDGES):
        sightlines = searched & (z_qso >= lo) & (z_qso < hi)
        in_bin = sightlines[truth["sightline"]]
        false = np.sum(sightlines[found["sightline"]] & ~true_dla)
        n = int(sightlines.sum())
        rows.append((lo, hi, n, int(in_bin.sum()),
                     float(np.mean(as_dla[in_bin])) if in_bin.any() else float("nan"),
                     100.0 * false / n if n else float("nan")))
    return Table(rows=rows, names=("z_qso_lo", "z_qso_hi", "n_sightlines", "n_true_dla",
                                   "completeness", "false_dla_per_100_sightlines"))


SUMMARY_COLUMNS = ("model", "n_sightlines", "n_true_dla", "completeness_dla", "completeness_hi",
                   "purity", "false_dla_per_100_sightlines", "sigma_dz", "sigma_dlog_nhi",
                   "mean_dlog_nhi")


def _summary_row(name: str, s: dict[str, float], n_sightlines: int, n_true: int) -> tuple[Any, ...]:
    return (name, n_sightlines, n_true, s["completeness_dla"], s["completeness_hi"], s["purity"],
            s["false_dla_per_100_sightlines"], s["sigma_dz"], s["sigma_dlog_nhi"],
            s["mean_dlog_nhi"])


def _parks(folder: Path) -> tuple[Any, np.ndarray, np.ndarray] | None:
    """(score, true log N_HI of its DLAs, predictions) of Parks's published test set."""
    from galcat.catalog.formats.parks18 import (
        PREDICTIONS_FILE,
        TRUTH_FILE,
        read_parks18_predictions,
        read_parks18_truth,
    )
    from galcat.models.dla.evaluation import score_dla_catalog

    if not (folder / TRUTH_FILE).exists():
        return None
    truth = read_parks18_truth(folder / TRUTH_FILE)
    pred, n = read_parks18_predictions(folder / PREDICTIONS_FILE)
    score = score_dla_catalog(truth["sightline"], truth["z_abs"], truth["log_nhi"],
                              pred["sightline"], pred["z_dla"], pred["log_nhi"], pred["type"], n)
    return score, np.asarray(truth["log_nhi"][truth["log_nhi"] >= 20.3]), pred


def _delta_by_log_nhi(true_log_nhi: np.ndarray, estimates: np.ndarray, match_index: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and scatter of estimate − truth (dex) of matched DLAs per bin of true log N_HI."""
    from galcat.models.dla.evaluation import binned_delta

    hit = match_index >= 0
    _, mean, sigma = binned_delta(np.asarray(true_log_nhi)[hit],
                                  np.asarray(estimates)[match_index[hit]], LOG_NHI_EDGES)
    return mean, sigma


def _plots(out_dir: Path, binned: Any, by_snr: Any, run: Any) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    centres = 0.5 * (binned["log_nhi_lo"] + binned["log_nhi_hi"])
    fig, (ax, bias_ax) = plt.subplots(2, 1, figsize=(6, 6.5), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 2]})
    ax.plot(centres, binned["completeness"], "o-", label="galcat: completeness (as DLA)")
    ax.plot(centres, binned["purity"], "s--", label="galcat: purity")
    bias_ax.errorbar(centres - 0.01, binned["mean_dlog_nhi"], binned["sigma_dlog_nhi"], fmt="o",
                     capsize=3, label="galcat (held-out mocks)")
    if "parks18_completeness_hi" in binned.colnames:
        ax.plot(centres, binned["parks18_completeness"], "v-.",
                label="Parks+2018: completeness (as DLA)")
        ax.plot(centres, binned["parks18_completeness_hi"], "^:",
                label="Parks+2018: completeness (as H I)")
        bias_ax.errorbar(centres + 0.01, binned["parks18_mean_dlog_nhi"],
                         binned["parks18_sigma_dlog_nhi"], fmt="v", capsize=3,
                         label="Parks+2018 (its test set)")
    ax.set(ylabel="fraction", ylim=(0, 1.02),
           title="DLA completeness and purity on held-out mocks (S/N ≥ 5)")
    ax.legend(loc="lower right", fontsize=8)
    bias_ax.axhline(0.0, color="0.5", lw=0.8)
    bias_ax.set(xlabel="true log N_HI [cm$^{-2}$]", ylabel="Δlog N_HI (mean ± σ)")
    bias_ax.legend(loc="lower left", fontsize=8)
    nhi_png = out_dir / "completeness_vs_log_nhi.png"
    fig.tight_layout()
    fig.savefig(nhi_png, dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4))
    snr_c = np.sqrt(by_snr["snr_lo"] * by_snr["snr_hi"])
    ax.semilogx(snr_c, by_snr["completeness"], "o-", label="completeness")
    ax.semilogx(snr_c, by_snr["purity"], "s--", label="purity")
    ax.set(xlabel="S/N (median over rest 1420–1480 Å)", ylabel="fraction", ylim=(0, 1.02))
    ax.legend(loc="lower right")
    snr_png = out_dir / "completeness_vs_snr.png"
    fig.tight_layout()
    fig.savefig(snr_png, dpi=110)
    plt.close(fig)
    return [nhi_png, snr_png]
