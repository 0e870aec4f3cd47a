"""Models shipped with galcat: ``<name>/<name>.keras`` and a ``<name>/model.json`` record
of how each was trained (task, hyperparameters, training-set fingerprint, metrics, the
command that made it, weights sha256).

``galcat init`` registers them in a catalogue, and the quick-look scans use them when
no other model is named, so a fresh install runs without training anything.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SHIPPED_DIR = Path(__file__).resolve().parent
RECORD = "model.json"


class ShippedModelError(ValueError):
    """A model folder without a readable record, or weights that fail their sha256."""


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ShippedModel:
    """A model folder (shipped, or written by ``galcat models export``): record and weights."""

    folder: Path
    record: dict[str, Any]

    @classmethod
    def read(cls, folder: Path) -> ShippedModel:
        """The model in ``folder`` (its ``model.json`` and weights)."""
        try:
            record = json.loads((folder / RECORD).read_text())
        except FileNotFoundError:
            raise ShippedModelError(f"{folder}: no {RECORD} (a model folder holds the weights "
                                    f"and the {RECORD} that `galcat models export` writes)"
                                    ) from None
        except (OSError, ValueError) as exc:
            raise ShippedModelError(f"{folder / RECORD}: not a readable record ({exc})") from exc
        if not isinstance(record, dict) or "weights_file" not in record:
            raise ShippedModelError(f"{folder / RECORD}: not a model record (no weights_file)")
        return cls(folder, record)

    @property
    def name(self) -> str:
        return str(self.record["name"])

    @property
    def task(self) -> str:
        return str(self.record.get("task", ""))

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return dict(self.record.get("hyperparameters") or {})

    @property
    def weights(self) -> Path:
        return self.folder / str(self.record["weights_file"])

    def verified_weights(self) -> Path:
        """The weights file, after checking its sha256 against the record."""
        if not self.weights.is_file():
            raise ShippedModelError(f"{self.weights}: weights file missing")
        actual = sha256_file(self.weights)
        if actual != self.record.get("weights_sha256"):
            raise ShippedModelError(f"{self.weights} has sha256 {actual}, but its record says "
                                    f"{self.record.get('weights_sha256')}: refused")
        return self.weights


def shipped_models(folder: Path = SHIPPED_DIR) -> list[ShippedModel]:
    """Every shipped model, by folder name."""
    return [ShippedModel.read(p.parent) for p in sorted(folder.glob(f"*/{RECORD}"))]


def shipped_model(name: str, folder: Path = SHIPPED_DIR) -> ShippedModel:
    """The shipped model called ``name``."""
    for model in shipped_models(folder):
        if model.name == name:
            return model
    known = ", ".join(m.name for m in shipped_models(folder)) or "none"
    raise ShippedModelError(f"no shipped model {name!r} (shipped: {known})")
