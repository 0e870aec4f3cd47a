"""Scores of the galaxy networks on held-out mocks: numbers, ECSV tables and PNG plots.

Mocks come from :func:`mock_galaxies`: chunks of :func:`models.galaxy.mock.make_mocks`
seeded by ``SeedSequence([seed, stream, chunk])``; training uses stream 0 and every
held-out set stream 1, so the two never share an image. Scores count galaxies
with true ``mag <= 23`` (:data:`MAG_MAX`).

Sérsic: per parameter, Δ = prediction − truth for ``mag`` and ``axis_ratio`` and
(prediction − truth) / truth for ``r_eff`` and ``sersic_n``; bias = median Δ,
scatter = 1.4826 × MAD, and the median |Δ| that :data:`SERSIC_TARGETS` bound. The
classic fitter (:mod:`models.galaxy.fitter`) is scored on the same images.

Morphology: per CANDELS flag, Δ = predicted − voted fraction; bias = mean Δ,
scatter = standard deviation of Δ, next to the scatter the votes alone imply
(``sqrt(mean f(1-f)/n_classifiers)``) and to the same bias and scatter against the
expected fraction (what the whole classifier pool would vote on average: the votes
without their counting noise); bulge / disk / bulge+disk top-1 accuracy on
galaxies that have a true class. The targets are judged against the votes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from galcat.models.galaxy.mock import DEFAULT_KIND_FRACTIONS, make_mocks
from galcat.models.galaxy.profile import HST_F160W_64
from galcat.vocabulary import BD_CLASSES, CANDELS_FLAGS

MAG_MAX = 23.0
MOCK_CHUNK = 500
TRAIN_STREAM, HELD_OUT_STREAM = 0, 1
SERSIC_TARGETS = {"mag_median_abs": 0.10, "r_eff_rel_median_abs": 0.10,
                  "sersic_n_rel_median_abs": 0.15, "axis_ratio_median_abs": 0.05}
MORPHOLOGY_TARGETS = {"fraction_max_abs_bias": 0.02, "fraction_max_scatter": 0.10,
                      "bd_accuracy": 0.90}
SERSIC_PARAMETERS = ("mag", "r_eff_rel", "sersic_n_rel", "axis_ratio")


@dataclass(frozen=True)
class Evaluation:
    """What an evaluation wrote and its headline numbers."""

    summary: dict[str, Any]
    files: list[Path]


def mock_galaxies(n: int, seed: int, stream: int, *,
                  kind_fractions: Mapping[str, float] = DEFAULT_KIND_FRACTIONS,
                  on_chunk: Callable[[int, int], None] | None = None,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` mock images (N, 64, 64) float32 and their truth, reproducible from (seed, stream)."""
    images, truths = [], []
    for k, start in enumerate(range(0, n, MOCK_CHUNK)):
        size = min(MOCK_CHUNK, n - start)
        chunk_seed = int(np.random.SeedSequence([seed, stream, k]).generate_state(1)[0])
        mocks = make_mocks(size, chunk_seed, kind_fractions=kind_fractions)
        images.append(mocks.images)
        truths.append(mocks.truth)
        if on_chunk is not None:
            on_chunk(start + size, n)
    return np.concatenate(images), np.concatenate(truths)


def data_fingerprint(*arrays: np.ndarray) -> str:
    """sha256 of the arrays' bytes (C order), in order: the training-set fingerprint."""
    import hashlib

    digest = hashlib.sha256()
    for arr in arrays:
        digest.update(np.ascontiguousarray(arr).tobytes())
    return digest.hexdigest()


def json_safe(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers and non-finite floats as ``None``."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


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
                          for p in SERSIC_PARAMETERS],
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
    for ax, name in zip(axes.flat, SERSIC_PARAMETERS, strict=True):
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
