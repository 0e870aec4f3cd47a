"""Training jobs: fit a network, then register the model version and finish in one go."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from galcat.catalog.registry import register
from galcat.catalog.schema import ModelVersion
from galcat.workers.lifecycle import JobContext

Trainer = Callable[[JobContext], None]
TRAINERS: dict[str, Trainer] = {}


def run_training(ctx: JobContext) -> None:
    """Train the model named by ``parameters['task']`` and register it."""
    import importlib

    for module in ("galcat.workers.galaxy_training", "galcat.workers.dla_calibration"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    task = str(ctx.parameters.get("task"))
    if task not in TRAINERS:
        raise ValueError(f"no trainer for task {task!r} (known: {', '.join(TRAINERS)})")
    TRAINERS[task](ctx)


def lineage(base: ModelVersion) -> dict[str, Any]:
    """What a version made from ``base`` records of it: reference, weights, training data,
    command, and its own lineage."""
    return {"model": f"{base.name}@{base.version}", "weights_sha256": base.weights_sha256,
            "training_fingerprint": base.training_fingerprint, "command": base.command,
            "continued_from": (base.metrics or {}).get("continued_from")}


def _epoch_callback(ctx: JobContext, epochs: int, offset: int, total: int) -> Any:
    import keras

    class Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            loss = (logs or {}).get("loss", float("nan"))
            ctx.progress(offset + epoch + 1, total,
                         f"epoch {epoch + 1}/{epochs}: loss {loss:.4g}", force=True)

    return Progress()


def _train_dla(ctx: JobContext) -> None:
    from dataclasses import replace

    from galcat.models.dla.network import NetworkConfig
    from galcat.models.dla.recipe import TrainingRecipe, evaluate_on_mocks, train_recipe
    from galcat.workers.model_io import configure_backend, load_model, save_model

    configure_backend()
    settings = dict(ctx.parameters.get("recipe", {}))
    rate = ctx.parameters.get("learning_rate")
    base_model, parent = None, None
    if ctx.model_version_id is not None:
        with ctx.db.new_session() as session:
            base = session.get(ModelVersion, ctx.model_version_id)
            if base is None or base.task != "dla":
                raise ValueError("--from must name a registered DLA model (dla@N)")
            network = replace(NetworkConfig.from_dict(base.hyperparameters["network"]),
                              log_nhi_calibration=())
            base_model = load_model(ctx.settings, base)
            parent = lineage(base)
        settings["network"] = network
    elif "network" in settings:
        settings["network"] = NetworkConfig.from_dict(settings["network"])
    recipe = TrainingRecipe(**settings)
    if rate is not None:
        recipe = replace(recipe, network=replace(recipe.network, learning_rate=float(rate)))
    nhi_weight = ctx.parameters.get("log_nhi_loss_weight")
    if nhi_weight is not None:
        recipe = replace(recipe, network=replace(recipe.network,
                                                 log_nhi_loss_weight=float(nhi_weight)))
    steps = recipe.epochs + 10

    def on_mocks(what: str, done: int, total: int) -> None:
        ctx.progress(int(10 * done / total), steps, f"{what}: {done}/{total}", force=True)

    model, metrics, fingerprint = train_recipe(
        recipe, on_mocks, callbacks=[_epoch_callback(ctx, recipe.epochs, 10, steps)],
        model=base_model)
    if parent is not None:
        metrics["continued_from"] = parent
    held_out = evaluate_on_mocks(model, recipe.network, int(ctx.parameters.get("n_eval", 1000)),
                                 seed=recipe.seed + 10_000, snr_min=5.0)
    metrics["held_out_snr_ge_5"] = held_out.score.summary()
    weights = save_model(model)
    name = str(ctx.parameters.get("name", "dla"))
    command = str(ctx.parameters.get("command") or "galcat train dla")
    result: dict[str, Any] = {"metrics": metrics["held_out_snr_ge_5"]}

    def write(session: Session) -> None:
        hyper = {**recipe.to_dict(), **({"continued_from": parent["model"]} if parent else {})}
        row = register(session, ctx.settings.artifacts_dir, name, "dla", weights,
                       hyper, fingerprint, metrics, command=command)
        result["model"] = f"{row.name}@{row.version}"
        result["weights_sha256"] = row.weights_sha256

    summary = metrics["held_out_snr_ge_5"]
    ctx.finish(result, write, message=(
        f"trained {name}: completeness {summary['completeness_dla']:.3f}, "
        f"false DLAs/100 sightlines {summary['false_dla_per_100_sightlines']:.2f}"))


def _train_toy(ctx: JobContext) -> None:
    from galcat.models import toy_regressor
    from galcat.workers.model_io import configure_backend, save_model

    configure_backend()
    config = toy_regressor.ToyConfig(**ctx.parameters.get("config", {}))
    seed = int(ctx.parameters.get("seed", 0))
    progress = _epoch_callback(ctx, config.epochs, 0, config.epochs)
    model, metrics = toy_regressor.train(config, seed, callbacks=[progress])
    weights = save_model(model)
    fingerprint = toy_regressor.fingerprint(config, seed)
    name = str(ctx.parameters.get("name", "toy"))
    command = ctx.parameters.get("command") or f"galcat train toy --seed {seed}"

    def write(session: Session) -> None:
        row = register(session, ctx.settings.artifacts_dir, name, "toy", weights,
                       {**toy_regressor.hyperparameters(config), "seed": seed}, fingerprint,
                       metrics, command=str(command))
        result["model"] = f"{row.name}@{row.version}"
        result["weights_sha256"] = row.weights_sha256

    result: dict[str, Any] = {"metrics": metrics}
    ctx.finish(result, write, message=f"trained {name}: rms_test {metrics['rms_test']:.4f}")


TRAINERS.update({"toy": _train_toy, "dla": _train_dla})
