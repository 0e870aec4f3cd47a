"""The shared tail of every training job: a trainer returns a :class:`TrainedModel`;
:func:`finish_training` registers it and finishes the job in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from galcat.catalog.registry import register
from galcat.catalog.schema import ModelVersion
from galcat.workers.queue.lifecycle import JobContext
from galcat.workers.queue.specs import JobSpec


@dataclass(frozen=True)
class TrainedModel:
    """A trained network ready to register: name and task in the registry, the weights
    file, what made it (hyper-parameters, training-set fingerprint) and how it scored.
    ``summary`` goes into the job's result, ``message`` onto the job row."""

    name: str
    task: str
    weights: Path
    hyperparameters: dict[str, Any]
    fingerprint: str | None
    metrics: dict[str, Any]
    summary: dict[str, Any]
    message: str
    result: dict[str, Any] = field(default_factory=dict)


def finish_training(ctx: JobContext, spec: JobSpec, trained: TrainedModel) -> None:
    """Register ``trained`` as the next version of its name, with the command line that
    reproduces ``spec``, and finish the job, all in one transaction."""
    hyper, metrics = json_safe(trained.hyperparameters), json_safe(trained.metrics)
    result: dict[str, Any] = {"metrics": json_safe(trained.summary), **trained.result}

    def write(session: Session) -> None:
        row = register(session, ctx.settings.artifacts_dir, trained.name, trained.task,
                       trained.weights, hyper, trained.fingerprint, metrics,
                       command=spec.command())
        result["model"] = f"{row.name}@{row.version}"
        result["weights_sha256"] = row.weights_sha256

    ctx.finish(result, write, message=trained.message)


def base_model(ctx: JobContext, task: str, flag: str = "--from") -> ModelVersion:
    """The registered version this job starts from (resolved at submission), of ``task``."""
    with ctx.db.new_session() as session:
        base = None if ctx.model_version_id is None else \
            session.get(ModelVersion, ctx.model_version_id)
        if base is None or base.task != task:
            what = "none" if base is None else f"{base.name}@{base.version}, a {base.task} model"
            raise ValueError(f"{flag} must name a registered {task} model ({task}@N), not {what}")
        session.expunge(base)
        return base


def lineage(base: ModelVersion) -> dict[str, Any]:
    """What a version made from ``base`` records of it: reference, weights, training data,
    command, and its own lineage."""
    return {"model": f"{base.name}@{base.version}", "weights_sha256": base.weights_sha256,
            "training_fingerprint": base.training_fingerprint, "command": base.command,
            "continued_from": (base.metrics or {}).get("continued_from")}


def json_safe(value: Any) -> Any:
    """``value`` with numpy arrays as lists, numpy scalars as Python numbers and non-finite
    floats as ``None``."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def epoch_callback(ctx: JobContext, epochs: int, offset: int, total: int) -> Any:
    """A Keras callback that records each epoch's loss as the job's progress (epoch
    ``offset + e`` of ``total`` steps)."""
    import keras

    class Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            loss = (logs or {}).get("loss", float("nan"))
            ctx.progress(offset + epoch + 1, total,
                         f"epoch {epoch + 1}/{epochs}: loss {loss:.4g}", force=True)

    return Progress()
