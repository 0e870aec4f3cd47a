"""Models shipped with galcat: weights under ``models/shipped/<name>/`` with a
``model.json`` record of how they were trained. ``galcat init`` registers them, so a
fresh clone runs inference without training."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from galcat import models
from galcat.catalog.registry import RegistryError, register, resolve, sha256_file, verified_weights
from galcat.catalog.schema import ModelVersion

SHIPPED_DIR = Path(models.__file__).resolve().parent / "shipped"
RECORD = "model.json"


@dataclass(frozen=True)
class ShippedModel:
    """A shipped model's record and its weights file."""

    folder: Path
    record: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.record["name"])

    @property
    def weights(self) -> Path:
        return self.folder / str(self.record["weights_file"])

    def verified_weights(self) -> Path:
        """The weights file, after checking its sha256 against the record."""
        actual = sha256_file(self.weights)
        if actual != self.record["weights_sha256"]:
            raise RegistryError(f"{self.weights} has sha256 {actual}, but its record says "
                                f"{self.record['weights_sha256']}: refused")
        return self.weights


def shipped_models(folder: Path = SHIPPED_DIR) -> list[ShippedModel]:
    """Every shipped model, by name."""
    return [ShippedModel(p.parent, json.loads(p.read_text()))
            for p in sorted(folder.glob(f"*/{RECORD}"))]


def shipped_model(name: str, folder: Path = SHIPPED_DIR) -> ShippedModel:
    for model in shipped_models(folder):
        if model.name == name:
            return model
    raise RegistryError(f"no shipped model {name!r} in {folder}")


def register_shipped(session: Session, artifacts_dir: Path,
                     folder: Path = SHIPPED_DIR) -> list[ModelVersion]:
    """Register shipped models not in the registry yet: a version is the same when its
    weights and the command that made it are (a recalibration keeps the weights)."""
    added = []
    for model in shipped_models(folder):
        known = session.execute(sa.select(ModelVersion.id).where(
            ModelVersion.name == model.name,
            ModelVersion.weights_sha256 == model.record["weights_sha256"],
            ModelVersion.command.is_not_distinct_from(model.record.get("command")))).first()
        if known is None:
            r = model.record
            added.append(register(session, artifacts_dir, model.name, r["task"],
                                  model.verified_weights(), r["hyperparameters"],
                                  r.get("training_fingerprint"), r.get("metrics"),
                                  command=r.get("command")))
    return added


def export_model(session: Session, artifacts_dir: Path, reference: str, out_dir: Path) -> Path:
    """Write a registered version's weights and record to ``out_dir`` (to ship it)."""
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
