"""Simulation bench: the blue-nugget phase network trained and scored on mock simulated galaxies.

K training galaxies and T held-out galaxies (different seeds; histories cycling through
compaction, merger, quiet) are built with :func:`galcat.models.simulation.dataset.mock_set`,
every snapshot seen by C cameras. The network (:mod:`galcat.models.simulation.phases`)
trains for E epochs on the training images and answers for every held-out image
(D4-averaged). Figures (:mod:`galcat.models.simulation.scores`, targets in brackets):
phase accuracy per camera (≥ 0.85) and per snapshot (≥ 0.95), confusion matrices,
accuracy per inclination bin, cause accuracy per snapshot from the compaction on
(≥ 0.90), time-since-merger pull σ (0.8–1.2) and median |Δ|, and per held-out galaxy
the predicted minus true blue-nugget time in Hubble times (|Δ| < 0.15 for each).
Speed: images/s of ``phases.predict`` (8 D4 views) on held-out images in memory, median
of 3 timed calls after a warm-up, next to the single-view model's ``predict``; and
cameras/s end to end (:mod:`bench.simulation_e2e`: ``infer phases`` from image rows to
written predictions in a scratch SQLite catalogue) against the model alone on the same
images, in the same run.

Runs on the CPU (no database); nothing asserts on a timing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import Report, load_average, machine_note, positive_int, repeat_p50
from bench.simulation_e2e import end_to_end

DESCRIPTION = "blue-nugget phase net on simulated galaxies: accuracy, Δ_BN/t_H, images/s"
DEFAULT = {"train": 90, "test": 8, "cameras": 6, "test_cameras": 20, "epochs": 20, "e2e": 2}
QUICK = {"train": 6, "test": 3, "cameras": 4, "test_cameras": 4, "epochs": 2, "e2e": 1}
HELD_OUT_SEED_OFFSET = 100_000
TIMED_RUNS = 3
TIMING_IMAGES = 1024
EPILOG = f"""\
Example: python -m bench sim-phases --quick

examples:
  python -m bench sim-phases            # {DEFAULT['train']} training galaxies x \
{DEFAULT['cameras']} cameras, {DEFAULT['test']} held out, {DEFAULT['epochs']} epochs
  python -m bench sim-phases --quick    # {QUICK['train']} x {QUICK['cameras']} cameras, \
{QUICK['test']} held out, {QUICK['epochs']} epochs
  nice -n 10 python -m bench sim-phases --train-galaxies 24 --cameras 20 --epochs 12

Each galaxy has 38 snapshots (scale factor 0.125 to 0.5). For the same number of
training images, more galaxies seen by fewer cameras teach the cause head more than
fewer galaxies seen by many. The default takes about 10 minutes on 2 CPU cores.
"""


@dataclass(frozen=True)
class Sizes:
    """How many galaxies, cameras and epochs the bench uses."""

    train_galaxies: int
    test_galaxies: int
    cameras: int
    """cameras per training snapshot"""
    test_cameras: int
    """cameras per held-out snapshot"""
    epochs: int


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench sim-phases", description=DESCRIPTION + ".", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-galaxies", type=positive_int, default=None, metavar="K",
                        help=f"training galaxies (default {DEFAULT['train']}, "
                             f"--quick {QUICK['train']})")
    parser.add_argument("--test-galaxies", type=positive_int, default=None, metavar="T",
                        help=f"held-out galaxies (default {DEFAULT['test']}, "
                             f"--quick {QUICK['test']})")
    parser.add_argument("--cameras", type=positive_int, default=None, metavar="C",
                        help=f"cameras per training snapshot (default {DEFAULT['cameras']}, "
                             f"--quick {QUICK['cameras']})")
    parser.add_argument("--test-cameras", type=positive_int, default=None, metavar="C",
                        help=f"cameras per held-out snapshot (default "
                             f"{DEFAULT['test_cameras']}, --quick {QUICK['test_cameras']})")
    parser.add_argument("--epochs", type=positive_int, default=None, metavar="E",
                        help=f"training epochs (default {DEFAULT['epochs']}, "
                             f"--quick {QUICK['epochs']})")
    parser.add_argument("--no-redshift", action="store_true",
                        help="train on the images alone, without the snapshot's redshift")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="also write the trained model (bn_phases.keras) and the held-out "
                             "labels and answers (held_out.npz) to DIR")
    parser.add_argument("--quick", action="store_true", help="a quick run with the --quick sizes")
    parser.add_argument("--seed", type=int, default=20240601, help="random seed")
    return parser.parse_args(list(argv))


def sizes_from(args: argparse.Namespace) -> Sizes:
    """Sizes from the options; explicit sizes win over ``--quick``'s."""
    base = QUICK if args.quick else DEFAULT
    return Sizes(train_galaxies=args.train_galaxies or base["train"],
                 test_galaxies=args.test_galaxies or base["test"],
                 cameras=args.cameras or base["cameras"],
                 test_cameras=args.test_cameras or base["test_cameras"],
                 epochs=args.epochs or base["epochs"])


def _progress(label: str) -> Any:
    start = time.perf_counter()

    def report(done: int, total: int) -> None:
        if done == total or done % 4 == 0:
            print(f"  {label}: {done}/{total} galaxies ({time.perf_counter() - start:.0f} s)",
                  flush=True)
    return report


def _matrix(title: str, counts: np.ndarray) -> list[str]:
    from galcat.models.simulation.history import PHASES

    lines = [f"{title} (rows: true, columns: predicted)", "",
             "| true \\ predicted | " + " | ".join(PHASES) + " | recall |",
             "|---|" + "---|" * (len(PHASES) + 1)]
    for name, row in zip(PHASES, counts, strict=True):
        recall = row[PHASES.index(name)] / max(row.sum(), 1)
        lines.append(f"| {name} | " + " | ".join(str(int(v)) for v in row) + f" | {recall:.3f} |")
    return [*lines, ""]


def cause_by_history(pred: dict[str, np.ndarray], labels: np.ndarray,
                     histories: Sequence[str]) -> dict[str, tuple[int, float]]:
    """Per history: snapshots with a defined cause and the cause accuracy on them."""
    from galcat.models.simulation.scores import cause_per_snapshot

    first, predicted, true = cause_per_snapshot(pred["p_merger_cause"], labels)
    history = np.array(histories)[labels["galaxy"][first]]
    return {h: (int(np.sum(history == h)), float(np.mean(predicted[history == h]
                                                          == true[history == h])))
            for h in dict.fromkeys(histories)}


def science_markdown(scores: dict[str, Any], test_histories: Sequence[str],
                     cause_histories: dict[str, tuple[int, float]]) -> str:
    """Figures against targets, confusion matrices, inclination bins, per-galaxy Δ_BN."""
    from galcat.models.simulation.scores import TARGETS, missed_targets

    tsm = scores["time_since_merger"]
    bn = scores["bn"]
    def target(name: str) -> str:
        lo, hi = TARGETS[name]
        return f"≥ {lo}" if hi == 1.0 else f"≤ {hi}" if lo == 0.0 else f"{lo}–{hi}"

    rows = [
        ("phase accuracy per camera", f"{scores['phase_accuracy_camera']:.3f}",
         target("phase_accuracy_camera"), f"{scores['n_images']} images"),
        ("phase accuracy per snapshot (median of cameras)",
         f"{scores['phase_accuracy_snapshot']:.3f}", target("phase_accuracy_snapshot"),
         f"{scores['n_snapshots']} snapshots"),
        ("cause accuracy per snapshot (from the compaction on)",
         f"{scores['cause_accuracy_snapshot']:.3f}", target("cause_accuracy_snapshot"),
         f"{scores['cause_n_snapshots']} snapshots"),
        ("time since merger: pull σ (std; 1.4826 MAD)",
         f"{tsm['pull_std']:.3f} ({tsm['pull_nmad']:.3f})", target("time_since_merger_pull_std"),
         f"{tsm['n']} images, 1σ coverage {tsm['coverage_1sigma']:.3f}"),
        ("time since merger: median |Δ|", f"{tsm['median_abs_gyr']:.3f} Gyr", "", ""),
        ("max over galaxies |Δ_BN| / t_H", f"{scores['bn_max_abs_offset_t_hubble']:.3f}",
         target("bn_max_abs_offset_t_hubble"), f"{scores['n_galaxies']} galaxies"),
    ]
    lines = ["### Held-out figures", "", "| Figure | Measured | Target | On |",
             "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    lines.append("")
    lines += _matrix("Confusion per camera", scores["confusion_camera"])
    lines += _matrix("Confusion per snapshot", scores["confusion_snapshot"])
    lines += ["Phase accuracy per camera by inclination (folded to 0–90°)", "",
              "| inclination | images | accuracy |", "|---|---|---|"]
    lines += [f"| {r['lo_deg']:.0f}–{r['hi_deg']:.0f}° | {r['n']} | {r['accuracy']:.3f} |"
              for r in scores["accuracy_by_inclination"]]
    lines += ["", "Blue-nugget time per held-out galaxy", "",
              "| galaxy | history | true t_BN (Gyr) | predicted (Gyr) | Δ (Gyr) | t_H (Gyr) | "
              "Δ / t_H |", "|---|---|---|---|---|---|---|"]
    for k, g in enumerate(bn["galaxy"]):
        lines.append(f"| {int(g)} | {test_histories[int(g)]} | {bn['true_gyr'][k]:.3f} | "
                     f"{bn['predicted_gyr'][k]:.3f} | {bn['delta_gyr'][k]:+.3f} | "
                     f"{bn['t_hubble_gyr'][k]:.3f} | {bn['delta_t_hubble'][k]:+.3f} |")
    lines += ["", "Cause accuracy per snapshot, by true phase: " + ", ".join(
        f"{k} {v:.3f}" for k, v in scores["cause_accuracy_by_phase"].items()),
        "Cause accuracy per snapshot, by history: " + ", ".join(
        f"{h} {acc:.3f} ({n} snapshots)" for h, (n, acc) in cause_histories.items())]
    missed = missed_targets(scores)
    lines += ["", "Targets missed: " + ("none" if not missed else "; ".join(
        f"{name} {value:.3f} (target {target(name)})" for name, (value, _) in missed.items()))]
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    sizes = sizes_from(args)
    header = f"{machine_note()}; {load_average()}"
    print(header, flush=True)
    import galcat.workers  # noqa: F401  (quiets TensorFlow's C++ log before Keras loads)
    from galcat.models.simulation import phases
    from galcat.models.simulation.dataset import data_fingerprint, mixed_histories, mock_set
    from galcat.models.simulation.scores import score_phases

    wall = time.perf_counter()
    train_seeds = args.seed + np.arange(sizes.train_galaxies)
    test_seeds = args.seed + HELD_OUT_SEED_OFFSET + np.arange(sizes.test_galaxies)
    print(f"building {sizes.train_galaxies} training galaxies x {sizes.cameras} cameras ...",
          flush=True)
    build_train_s = -time.perf_counter()
    train_set = mock_set(mixed_histories(train_seeds), sizes.cameras,
                         on_galaxy=_progress("training set"))
    build_train_s += time.perf_counter()
    print(f"building {sizes.test_galaxies} held-out galaxies x {sizes.test_cameras} cameras ...",
          flush=True)
    test_set = mock_set(mixed_histories(test_seeds), sizes.test_cameras,
                        on_galaxy=_progress("held-out set"))
    config = replace(phases.PhaseNetConfig(), epochs=sizes.epochs,
                     use_redshift=not args.no_redshift)
    print(f"training on {len(train_set):_} images, {sizes.epochs} epochs ...", flush=True)
    train_s = -time.perf_counter()
    model, history = phases.train(train_set.images, train_set.labels, args.seed, config=config,
                                  verbose=0)
    train_s += time.perf_counter()
    print(f"  loss per epoch: {', '.join(f'{v:.3f}' for v in history['loss'])}", flush=True)
    print(f"predicting {len(test_set):_} held-out images ...", flush=True)
    pred = phases.predict_set(model, test_set.images, test_set.labels)
    scores = score_phases(pred, test_set.labels, test_set.bn_time_gyr)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        model.save(args.out / "bn_phases.keras")
        arrays: dict[str, Any] = {"labels": test_set.labels,
                                  "bn_time_gyr": test_set.bn_time_gyr,
                                  "histories": np.array(test_set.histories), **pred}
        np.savez(args.out / "held_out.npz", **arrays)

    timing = test_set.select(np.arange(min(TIMING_IMAGES, len(test_set))))
    n_timed = len(timing)
    d4_s = repeat_p50(lambda: phases.predict_set(model, timing.images, timing.labels),
                      TIMED_RUNS)
    x = phases.model_inputs(timing.images, redshift=timing.labels["redshift"],
                            use_redshift=config.use_redshift,
                            zero_point=timing.labels["zero_point"],
                            psf_fwhm_arcsec=timing.labels["psf_fwhm_arcsec"],
                            sky_sigma=timing.labels["sky_sigma"])
    single_s = repeat_p50(lambda: model.predict(x, batch_size=128, verbose=0), TIMED_RUNS)
    e2e_galaxies = mixed_histories(test_seeds)[:(QUICK if args.quick else DEFAULT)["e2e"]]
    print(f"end to end: {len(e2e_galaxies)} held-out galaxies x {sizes.test_cameras} cameras "
          "through infer phases ...", flush=True)
    e2e = end_to_end(model, e2e_galaxies, sizes.test_cameras)
    wall = time.perf_counter() - wall

    notes = [header, device_note(),
             f"seed {args.seed}; training seeds {int(train_seeds[0])}…{int(train_seeds[-1])}, "
             f"held-out seeds {int(test_seeds[0])}…{int(test_seeds[-1])}; histories cycle "
             "compaction, merger, quiet",
             f"config {history['config']}",
             f"training set fingerprint {data_fingerprint(train_set)[:16]}",
             f"wall time {wall:.0f} s in all; at the end: {load_average()}"]
    out = Report(f"galcat simulation phase bench, {dt.date.today().isoformat()}", notes=notes)
    out.add(f"build training set ({sizes.train_galaxies} galaxies x {sizes.cameras} cameras, "
            f"{len(train_set):_} images)", "CPU", f"{build_train_s:.1f} s", "", None)
    out.add(f"train ({sizes.epochs} epochs)", "CPU",
            f"{train_s:.1f} s ({len(train_set) * sizes.epochs / train_s:,.0f} images/s)", "",
            None)
    out.add(f"phases.predict, 8 D4 views ({n_timed} images in memory)", "CPU",
            f"{n_timed / d4_s:,.0f} images/s",
            f"single view {n_timed / single_s:,.0f} images/s", single_s / d4_s)
    out.add(f"infer phases, rows to rows ({e2e.cameras} cameras, SQLite, one process)", "CPU",
            f"{e2e.cameras / e2e.rows_to_rows_s:,.0f} cameras/s",
            f"model alone {e2e.cameras / e2e.model_alone_s:,.0f} cameras/s", e2e.ratio)
    print()
    print(out.markdown())
    print()
    print(science_markdown(scores, test_set.histories,
                           cause_by_history(pred, test_set.labels, test_set.histories)))
    return 0


def device_note() -> str:
    """Keras backend and whether a GPU is visible (this bench means the CPU)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return f"Keras {keras.__version__}, backend {keras.backend.backend()}"
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    where = "CPU only" if not gpus else f"{len(gpus)} GPU(s) visible: NOT a CPU figure"
    return f"Keras {keras.__version__} on TensorFlow {tf.__version__}, {where}"
