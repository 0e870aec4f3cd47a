"""The DLA training job: train the finder on seeded mock BOSS sightlines (or continue a
registered model on fresh ones), score it on held-out mocks, return it to register."""

from __future__ import annotations

from dataclasses import replace

from galcat.models.dla.network import TINY_CONFIG, NetworkConfig
from galcat.models.dla.recipe import TrainingRecipe, evaluate_on_mocks, train_recipe
from galcat.workers.model_io import configure_backend, load_model, save_model
from galcat.workers.queue.lifecycle import JobContext
from galcat.workers.queue.specs import TrainDla
from galcat.workers.queue.training import (
    TrainedModel,
    base_model,
    epoch_callback,
    finish_training,
    lineage,
)

NETWORKS = {"parks18": NetworkConfig(), "tiny": TINY_CONFIG}
"""Network shapes a training job may start from: Parks+2018's, and a tiny one for tests."""
MOCK_STEPS = 10


def recipe_of(spec: TrainDla, network: NetworkConfig) -> TrainingRecipe:
    """The training recipe ``spec`` asks for, on ``network``."""
    if spec.learning_rate is not None:
        network = replace(network, learning_rate=spec.learning_rate)
    if spec.log_nhi_loss_weight is not None:
        network = replace(network, log_nhi_loss_weight=spec.log_nhi_loss_weight)
    return TrainingRecipe(seed=spec.seed, n_train_sightlines=spec.sightlines,
                          n_validation_sightlines=spec.validation_sightlines,
                          chunk_sightlines=spec.chunk_sightlines, epochs=spec.epochs,
                          fresh_each_epoch=spec.fresh_each_epoch, network=network)


def train_dla(ctx: JobContext, spec: TrainDla) -> None:
    """Train (or continue) a DLA model and register it."""
    configure_backend()
    start, parent = None, None
    if spec.base is not None:
        base = base_model(ctx, "dla")
        network = NetworkConfig.from_dict(base.hyperparameters["network"]).uncalibrated()
        start, parent = load_model(ctx.settings, base), lineage(base)
    elif spec.network in NETWORKS:
        network = NETWORKS[spec.network]
    else:
        raise ValueError(f"unknown network {spec.network!r} (known: {', '.join(NETWORKS)})")
    recipe = recipe_of(spec, network)
    steps = recipe.epochs + MOCK_STEPS

    def on_mocks(what: str, done: int, total: int) -> None:
        ctx.progress(int(MOCK_STEPS * done / total), steps, f"{what}: {done}/{total}",
                     force=True)

    model, metrics, fingerprint = train_recipe(
        recipe, on_mocks, callbacks=[epoch_callback(ctx, recipe.epochs, MOCK_STEPS, steps)],
        model=start)
    if parent is not None:
        metrics["continued_from"] = parent
    held_out = evaluate_on_mocks(model, recipe.network, spec.n_eval, seed=recipe.seed + 10_000,
                                 snr_min=5.0)
    summary = metrics["held_out_snr_ge_5"] = held_out.score.summary()
    hyper = {**recipe.to_dict(), **({"continued_from": parent["model"]} if parent else {})}
    finish_training(ctx, spec, TrainedModel(
        spec.name, "dla", save_model(model), hyper, fingerprint, metrics, summary,
        f"trained {spec.name}: completeness {summary['completeness_dla']:.3f}, "
        f"false DLAs/100 sightlines {summary['false_dla_per_100_sightlines']:.2f}"))
