"""Scores of the galaxy networks on held-out mocks written out: ECSV tables and PNG plots.

The mocks are :func:`galcat.models.galaxy.mockset.mock_galaxies` (held-out stream) and the
scores :mod:`galcat.models.galaxy.scores`; the classic fitter
(:mod:`galcat.models.galaxy.fitter`) is scored on the same images as the emulator.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from galcat.models.galaxy.mockset import HELD_OUT_STREAM, MAG_MAX, mock_galaxies
from galcat.models.galaxy.profile import HST_F160W_64
from galcat.models.galaxy.scores import (
    MORPHOLOGY_TARGETS,
    SERSIC_DELTAS,
    SERSIC_TARGETS,
    emulator_on_mocks,
    morphology_on_mocks,
    morphology_scores,
    sersic_deltas,
    sersic_scores,
)
from galcat.vocabulary import BD_CLASSES, CANDELS_FLAGS


@dataclass(frozen=True)
class Evaluation:
    """What an evaluation wrote and its headline numbers."""

    summary: dict[str, Any]
    files: list[Path]


def evaluate_sersic(model: Any, out_dir: Path, *, n: int = 1000, n_fit: int = 100,
                    seed: int = 7, model_label: str = "") -> Evaluation:
    """Emulator on ``n`` held-out single-Sérsic mocks, the classic fitter on the first
    ``n_fit`` of them; writes ``sersic_summary.ecsv``, ``sersic_objects.ecsv`` and PNGs."""
    from astropy.table import Table

    from galcat.models.galaxy.fitter import fit_many

    out_dir.mkdir(parents=True, exist_ok=True)
    images, truth = mock_galaxies(n, seed, HELD_OUT_STREAM, kind_fractions={"sersic": 1.0})
    start = time.perf_counter()
    pred = emulator_on_mocks(model, images, truth)
    emulator_s = (time.perf_counter() - start) / n
    n_fit = min(n_fit, n)
    fits: dict[str, np.ndarray] = {}
    fitter_s = float("nan")
    if n_fit:
        fits = fit_many(images[:n_fit], zero_point=truth["zero_point"][:n_fit],
                        pixel_scale_arcsec=HST_F160W_64.pixel_scale_arcsec,
                        psf_fwhm_arcsec=truth["psf_fwhm_arcsec"][:n_fit],
                        sigma=truth["sky_sigma"][:n_fit])
        fitter_s = float(np.mean(fits["seconds"]))
    scores = {"emulator": sersic_scores(pred, truth)}
    if n_fit:
        head = {k: v[:n_fit] for k, v in pred.items()}
        scores["emulator_on_fitter_images"] = sersic_scores(head, truth[:n_fit])
        scores["fitter"] = sersic_scores(fits, truth[:n_fit])
    summary = Table(rows=[_summary_row(method, p, s) for method, s in scores.items()
                          for p in SERSIC_DELTAS],
                    names=("method", "parameter", "n_scored", "bias", "scatter", "median_abs",
                           "target_median_abs", "meets_target"))
    summary.meta.update({"model": model_label, "seed": seed, "n_mocks": n, "n_fit": n_fit,
                         "mag_max": MAG_MAX, "emulator_seconds_per_galaxy": emulator_s,
                         "fitter_seconds_per_galaxy": fitter_s,
                         "definition": "delta = prediction - truth (mag, axis_ratio); "
                                       "(prediction - truth)/truth (r_eff_rel, sersic_n_rel); "
                                       "bias = median delta, scatter = 1.4826 MAD"})
    objects = Table({k: truth[k] for k in ("kind", "mag", "r_eff_arcsec", "sersic_n",
                                           "axis_ratio", "pa_deg", "snr")})
    for k in ("mag", "r_eff_arcsec", "sersic_n", "axis_ratio", "pa_deg"):
        objects[f"emulator_{k}"] = pred[k]
        column = np.full(n, np.nan)
        if n_fit:
            column[:n_fit] = fits[k]
        objects[f"fitter_{k}"] = column
    files = [out_dir / "sersic_summary.ecsv", out_dir / "sersic_objects.ecsv"]
    summary.write(files[0], format="ascii.ecsv", overwrite=True)
    objects.write(files[1], format="ascii.ecsv", overwrite=True)
    files += _plot_sersic(out_dir, truth, pred, fits, n_fit)
    headline = {"emulator": scores["emulator"], "emulator_seconds_per_galaxy": emulator_s,
                "fitter_seconds_per_galaxy": fitter_s}
    if n_fit:
        headline["fitter"] = scores["fitter"]
        headline["emulator_on_fitter_images"] = scores["emulator_on_fitter_images"]
    return Evaluation(headline, files)


def _summary_row(method: str, parameter: str, scores: Mapping[str, Any]) -> tuple[Any, ...]:
    key = f"{parameter}_median_abs"
    target = SERSIC_TARGETS.get(key, float("nan"))
    return (method, parameter, scores["n_scored"], scores[f"{parameter}_bias"],
            scores[f"{parameter}_scatter"], scores[key], target,
            bool(scores[key] <= target))


def evaluate_morphology(model: Any, out_dir: Path, *, n: int = 1000, seed: int = 7,
                        model_label: str = "") -> Evaluation:
    """Morphology network on ``n`` held-out mocks of every kind; writes
    ``morphology_summary.ecsv``, ``morphology_objects.ecsv`` and PNGs."""
    from astropy.table import Table

    out_dir.mkdir(parents=True, exist_ok=True)
    images, truth = mock_galaxies(n, seed, HELD_OUT_STREAM)
    start = time.perf_counter()
    pred = morphology_on_mocks(model, images, truth)
    seconds = (time.perf_counter() - start) / n
    scores = morphology_scores(pred, truth)
    nan = float("nan")
    rows = [(flag, scores["n_scored"], scores[f"{flag}_bias"], scores[f"{flag}_scatter"],
             scores[f"{flag}_vote_noise"], scores.get(f"{flag}_bias_vs_expected", nan),
             scores.get(f"{flag}_scatter_vs_expected", nan), nan) for flag in CANDELS_FLAGS]
    rows.append(("bulge/disk/bulge+disk", scores["bd_n"], nan, nan, nan, nan, nan,
                 scores["bd_accuracy"]))
    summary = Table(rows=rows, names=("quantity", "n_scored", "bias", "scatter",
                                      "vote_noise_scatter", "bias_vs_expected",
                                      "scatter_vs_expected", "top1_accuracy"))
    summary.meta.update({"model": model_label, "seed": seed, "n_mocks": n, "mag_max": MAG_MAX,
                         "seconds_per_galaxy": seconds,
                         "targets": dict(MORPHOLOGY_TARGETS),
                         "targets_met": scores["targets_met"],
                         "bd_confusion_true_by_predicted": scores[
                             "bd_confusion_true_by_predicted"]})
    objects = Table({k: truth[k] for k in ("kind", "mag", "snr", "bd_class",
                                           *CANDELS_FLAGS)})
    for k, v in pred.items():
        objects[f"pred_{k}"] = v
    files = [out_dir / "morphology_summary.ecsv", out_dir / "morphology_objects.ecsv"]
    summary.write(files[0], format="ascii.ecsv", overwrite=True)
    objects.write(files[1], format="ascii.ecsv", overwrite=True)
    files += _plot_morphology(out_dir, truth, pred, scores)
    return Evaluation({**scores, "seconds_per_galaxy": seconds}, files)


def _plot_sersic(out_dir: Path, truth: np.ndarray, pred: Mapping[str, np.ndarray],
                 fits: Mapping[str, np.ndarray], n_fit: int) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (("mag", "mag", False), ("r_eff_arcsec", "r_eff [arcsec]", True),
              ("sersic_n", "Sérsic n", True), ("axis_ratio", "axis ratio q", False))
    fig, axes = plt.subplots(2, 2, figsize=(9, 8))
    for ax, (key, label, log) in zip(axes.flat, panels, strict=True):
        ax.scatter(truth[key], pred[key], s=4, alpha=0.5, label="emulator")
        if n_fit:
            ax.scatter(truth[key][:n_fit], fits[key], s=10, marker="x", alpha=0.7,
                       label="classic fitter")
        lo, hi = float(np.nanmin(truth[key])), float(np.nanmax(truth[key]))
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
        if log:
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.set_xlabel(f"true {label}")
        ax.set_ylabel(f"predicted {label}")
    axes.flat[0].legend()
    fig.tight_layout()
    first = out_dir / "sersic_truth_vs_prediction.png"
    fig.savefig(first, dpi=90)
    plt.close(fig)
    deltas = sersic_deltas(pred, truth)
    fit_deltas = sersic_deltas(fits, truth[:n_fit]) if n_fit else {}
    fig, axes = plt.subplots(2, 2, figsize=(9, 8), sharex=True)
    for ax, name in zip(axes.flat, SERSIC_DELTAS, strict=True):
        ax.scatter(truth["mag"], deltas[name], s=4, alpha=0.5, label="emulator")
        if n_fit:
            ax.scatter(truth["mag"][:n_fit], fit_deltas[name], s=10, marker="x", alpha=0.7,
                       label="classic fitter")
        ax.axhline(0.0, color="k", lw=0.8)
        ax.axvline(MAG_MAX, color="grey", ls="--", lw=0.8)
        ax.set_ylabel(f"Δ {name}")
        ax.set_ylim(-1, 1)
    for ax in axes[1]:
        ax.set_xlabel("true mag")
    axes.flat[0].legend()
    fig.tight_layout()
    second = out_dir / "sersic_residuals_vs_mag.png"
    fig.savefig(second, dpi=90)
    plt.close(fig)
    return [first, second]


def _plot_morphology(out_dir: Path, truth: np.ndarray, pred: Mapping[str, np.ndarray],
                     scores: Mapping[str, Any]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(CANDELS_FLAGS), figsize=(16, 3.6))
    for ax, flag in zip(axes, CANDELS_FLAGS, strict=True):
        ax.scatter(truth[flag], pred[flag], s=4, alpha=0.4)
        ax.plot([0, 1], [0, 1], "k-", lw=0.8)
        ax.set_xlabel(f"voted {flag}")
        ax.set_ylabel(f"predicted {flag}")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
    fig.tight_layout()
    first = out_dir / "morphology_fractions.png"
    fig.savefig(first, dpi=90)
    plt.close(fig)
    confusion = np.asarray(scores["bd_confusion_true_by_predicted"], dtype=float)
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.imshow(confusion, cmap="Blues")
    for i in range(3):
        for j in range(3):
            ax.text(j, i, str(int(confusion[i, j])), ha="center", va="center")
    ax.set_xticks(range(3), BD_CLASSES)
    ax.set_yticks(range(3), BD_CLASSES)
    ax.set_xlabel("predicted (top-1)")
    ax.set_ylabel("true class")
    ax.set_title(f"accuracy {scores['bd_accuracy']:.3f}")
    fig.tight_layout()
    second = out_dir / "morphology_bulge_disk_confusion.png"
    fig.savefig(second, dpi=90)
    plt.close(fig)
    return [first, second]
