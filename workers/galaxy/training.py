"""Training jobs of the galaxy networks: from scratch, both train on seeded mocks
(:func:`galcat.models.galaxy.mockset.mock_galaxies`, stream 0), record the seed and the
sha256 of the training arrays as the data fingerprint, and are scored on held-out mocks
(stream 1, true mag ≤ 23) before they are registered. The emulator sees single-Sérsic
mocks, the morphology network every kind."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from galcat.models.galaxy.mock import DEFAULT_KIND_FRACTIONS
from galcat.models.galaxy.mockset import (
    HELD_OUT_STREAM,
    MAG_MAX,
    TRAIN_STREAM,
    data_fingerprint,
    mock_galaxies,
)
from galcat.models.galaxy.scores import (
    emulator_on_mocks,
    morphology_on_mocks,
    morphology_scores,
    sersic_scores,
)
from galcat.workers.model_io import configure_backend, save_model
from galcat.workers.queue.lifecycle import JobContext
from galcat.workers.queue.specs import TrainGalaxyNetwork, TrainMorphology, TrainSersic
from galcat.workers.queue.training import TrainedModel, finish_training

STEPS = 100
SERSIC_ONLY = {"sersic": 1.0}


def mock_progress(ctx: JobContext, what: str, share: int, offset: int = 0) -> Any:
    """A mock-making progress callback that fills ``share`` of the job's 100 steps."""
    def report(done: int, total: int) -> None:
        ctx.progress(offset + int(share * done / total), STEPS, f"{what}: {done}/{total}",
                     force=True)

    return report


def network_config(cls: Any, spec: TrainGalaxyNetwork) -> Any:
    """The network's config class filled from the spec's shared hyper-parameters."""
    return cls(filters=spec.filters, dense_units=spec.dense_units,
               learning_rate=spec.learning_rate, batch_size=spec.batch_size,
               epochs=spec.epochs, run_eagerly=spec.run_eagerly)


def _hyperparameters(spec: TrainGalaxyNetwork, config: Any) -> dict[str, Any]:
    return {"seed": spec.seed, "n_train_mocks": spec.n, "n_eval_mocks": spec.n_eval,
            "mock_streams": {"train": TRAIN_STREAM, "held_out": HELD_OUT_STREAM},
            "held_out_mag_max": MAG_MAX, "config": asdict(config)}


def train_on_mocks(ctx: JobContext, spec: TrainGalaxyNetwork, config: Any, train: Any,
                   predict: Any, score: Any, fit_key: str,
                   kind_fractions: dict[str, float] | None = None
                   ) -> tuple[Any, str, dict[str, Any], dict[str, Any]]:
    """Mocks (stream 0) → ``train(images, truth, seed, config=…)`` → held-out mocks (stream 1)
    scored by ``score(predict(model, images, truth), truth)``: (model, training-set
    fingerprint, metrics with the fit's own under ``fit_key``, held-out scores)."""
    fractions = DEFAULT_KIND_FRACTIONS if kind_fractions is None else kind_fractions
    images, truth = mock_galaxies(spec.n, spec.seed, TRAIN_STREAM, kind_fractions=fractions,
                                  on_chunk=mock_progress(ctx, "training mocks", 20))
    fingerprint = data_fingerprint(images, truth)
    ctx.progress(20, STEPS, f"training on {spec.n} mocks for {config.epochs} epochs", force=True)
    start = time.perf_counter()
    model, fit_metrics = train(images, truth, spec.seed, config=config)
    train_s = time.perf_counter() - start
    ctx.progress(85, STEPS, f"scoring on {spec.n_eval} held-out mocks", force=True)
    held_images, held_truth = mock_galaxies(spec.n_eval, spec.seed, HELD_OUT_STREAM,
                                            kind_fractions=fractions)
    held = score(predict(model, held_images, held_truth), held_truth)
    return model, fingerprint, {"held_out": held, fit_key: fit_metrics,
                                "train_seconds": train_s}, held


def train_sersic(ctx: JobContext, spec: TrainSersic) -> None:
    """Train the Sérsic emulator on seeded single-Sérsic mocks and register it."""
    from galcat.models.galaxy import emulator

    configure_backend()
    config = network_config(emulator.EmulatorConfig, spec)
    model, fingerprint, metrics, held = train_on_mocks(
        ctx, spec, config, emulator.train, emulator_on_mocks, sersic_scores, "validation",
        SERSIC_ONLY)
    hyper = {**_hyperparameters(spec, config), "kind_fractions": SERSIC_ONLY}
    finish_training(ctx, spec, TrainedModel(
        spec.name, "sersic", save_model(model), hyper, fingerprint, metrics, held,
        f"trained {spec.name}: median |dmag| {held['mag_median_abs']:.3f}, "
        f"|dr/r| {held['r_eff_rel_median_abs']:.3f}, |dn/n| "
        f"{held['sersic_n_rel_median_abs']:.3f}, |dq| {held['axis_ratio_median_abs']:.3f}"))


def train_morphology(ctx: JobContext, spec: TrainMorphology) -> None:
    """Train the morphology network on seeded mocks of every kind and register it."""
    from galcat.models.galaxy import morphology

    configure_backend()
    config = network_config(morphology.MorphologyConfig, spec)
    model, fingerprint, metrics, held = train_on_mocks(
        ctx, spec, config, morphology.train, morphology_on_mocks, morphology_scores, "training")
    finish_training(ctx, spec, TrainedModel(
        spec.name, "morphology", save_model(model), _hyperparameters(spec, config),
        fingerprint, metrics, held,
        f"trained {spec.name}: max |bias| {held['fraction_max_abs_bias']:.3f}, max scatter "
        f"{held['fraction_max_scatter']:.3f}, bulge/disk accuracy {held['bd_accuracy']:.3f}"))
