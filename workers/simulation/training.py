"""The phase network's training job: the cameras of some simulated galaxies in the
catalogue in, a registered model out, scored on other simulated galaxies it never saw."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from galcat.workers.galaxy.training import STEPS, mock_progress
from galcat.workers.model_io import configure_backend, save_model
from galcat.workers.queue.lifecycle import JobContext
from galcat.workers.queue.specs import TrainPhases
from galcat.workers.queue.training import TrainedModel, finish_training
from galcat.workers.simulation.camera_set import (
    CameraSetError,
    load_camera_set,
    select_simulations,
)


def train_phases(ctx: JobContext, spec: TrainPhases) -> None:
    """Train on the cameras of ``spec.simulations``, score on ``spec.held_out``, register."""
    from galcat.models.simulation import phases
    from galcat.models.simulation.dataset import data_fingerprint
    from galcat.models.simulation.scores import missed_targets, score_phases

    configure_backend()
    train_ids = select_simulations(ctx.db, spec.simulations)
    held_ids = select_simulations(ctx.db, spec.held_out) if spec.held_out else []
    overlap = set(train_ids) & set(held_ids)
    if overlap:
        raise CameraSetError(f"{len(overlap)} simulations are both trained on and held out")
    if not train_ids:
        raise CameraSetError(f"no simulation matches --simulations {spec.simulations!r}")
    ctx.progress(0, STEPS, f"reading the cameras of {len(train_ids)} simulations", force=True)
    train_set = load_camera_set(ctx.db, train_ids, mock_progress(ctx, "reading cameras", 15)).data
    config = phases.PhaseNetConfig(
        filters=spec.filters, dense_units=spec.dense_units, learning_rate=spec.learning_rate,
        batch_size=spec.batch_size, epochs=spec.epochs, use_redshift=not spec.images_only,
        run_eagerly=spec.run_eagerly)
    ctx.progress(15, STEPS, f"training on {len(train_set)} images for {spec.epochs} epochs",
                 force=True)
    start = time.perf_counter()
    model, fit = phases.train(train_set.images, train_set.labels, spec.seed, config=config)
    metrics: dict[str, Any] = {"training": fit, "train_seconds": time.perf_counter() - start,
                               "trained_on": list(train_set.names)}
    summary: dict[str, Any] = {"n_train_images": len(train_set)}
    message = f"trained {spec.name} on {len(train_set.names)} simulated galaxies"
    if held_ids:
        ctx.progress(85, STEPS, f"scoring on {len(held_ids)} held-out simulations", force=True)
        held = load_camera_set(ctx.db, held_ids).data
        scores = score_phases(phases.predict_set(model, held.images, held.labels), held.labels,
                              held.bn_time_gyr)
        metrics["held_out"] = {**scores, "simulations": list(held.names),
                               "missed_targets": missed_targets(scores)}
        summary = {**summary, **_headline(scores)}
        message += (f"; held out ({len(held.names)}): phase {scores['phase_accuracy_camera']:.3f}"
                    f" per camera, {scores['phase_accuracy_snapshot']:.3f} per snapshot, "
                    f"max |Δt_BN| {scores['bn_max_abs_offset_t_hubble']:.3f} t_H")
    hyper = {"seed": spec.seed, "simulations": spec.simulations, "held_out": spec.held_out,
             "config": asdict(config)}
    finish_training(ctx, spec, TrainedModel(
        spec.name, "phases", save_model(model), hyper, data_fingerprint(train_set), metrics,
        summary, message))


def _headline(scores: dict[str, Any]) -> dict[str, Any]:
    return {key: scores[key] for key in (
        "phase_accuracy_camera", "phase_accuracy_snapshot", "cause_accuracy_snapshot",
        "bn_max_abs_offset_t_hubble")} | {
        "time_since_merger_pull_std": scores["time_since_merger"]["pull_std"]}

