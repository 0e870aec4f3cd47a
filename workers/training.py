"""Training jobs: fit a network, then register the model version and finish in one go."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from catalog.registry import register
from workers.lifecycle import JobContext


def run_training(ctx: JobContext) -> None:
    """Train the model named by ``parameters['task']`` and register it."""
    task = ctx.parameters.get("task")
    if task != "toy":
        raise ValueError(f"no trainer for task {task!r} (known: toy)")
    _train_toy(ctx)


def _train_toy(ctx: JobContext) -> None:
    import keras

    from models import toy_regressor
    from workers.model_io import configure_backend, save_model

    configure_backend()
    config = toy_regressor.ToyConfig(**ctx.parameters.get("config", {}))
    seed = int(ctx.parameters.get("seed", 0))

    class Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            loss = (logs or {}).get("loss", float("nan"))
            ctx.progress(epoch + 1, config.epochs, f"epoch {epoch + 1}: loss {loss:.4g}")

    model, metrics = toy_regressor.train(config, seed, callbacks=[Progress()])
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
