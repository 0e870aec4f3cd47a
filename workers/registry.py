"""Models between the catalogue's registry and files: shipped models registered, a
registered version exported as a model folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from galcat.catalog.registry import register, resolve, verified_weights
from galcat.catalog.schema import ModelVersion
from galcat.models.shipped import RECORD, SHIPPED_DIR, shipped_models


def register_shipped(session: Session, artifacts_dir: Path,
                     folder: Path = SHIPPED_DIR) -> list[ModelVersion]:
    """Register shipped models not in the registry yet: a version is the same when its
    weights, the command that made it and its hyper-parameters are (a recalibration keeps
    the weights, and may keep the command)."""
    added = []
    for model in shipped_models(folder):
        same_weights = session.execute(sa.select(ModelVersion).where(
            ModelVersion.name == model.name,
            ModelVersion.weights_sha256 == model.record["weights_sha256"],
            ModelVersion.command.is_not_distinct_from(model.record.get("command")))).scalars()
        known = [v for v in same_weights
                 if v.hyperparameters == model.record["hyperparameters"]]
        if not known:
            r = model.record
            added.append(register(session, artifacts_dir, model.name, r["task"],
                                  model.verified_weights(), r["hyperparameters"],
                                  r.get("training_fingerprint"), r.get("metrics"),
                                  command=r.get("command")))
    return added


def export_model(session: Session, artifacts_dir: Path, reference: str, out_dir: Path) -> Path:
    """Write a registered version's weights and record to ``out_dir`` (a model folder, as
    shipped models are)."""
    version = resolve(session, reference)
    source = verified_weights(artifacts_dir, version, session)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights_file = f"{version.name}.keras"
    shutil.copyfile(source, out_dir / weights_file)
    record = {
        "name": version.name, "task": version.task, "weights_file": weights_file,
        "weights_sha256": version.weights_sha256,
        "hyperparameters": version.hyperparameters,
        "training_fingerprint": version.training_fingerprint, "metrics": version.metrics,
        "command": version.command, "code_version": version.code_version,
        "trained_at": version.created_at.isoformat() if version.created_at else None,
    }
    path = out_dir / RECORD
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return path
