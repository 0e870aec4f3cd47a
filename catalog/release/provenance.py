"""What every release file says about itself: tag, models, code, time, rows.

One ``Provenance`` per written table; each writer renders ``items()`` in its own
way (FITS keywords, VOTable INFO, Parquet and ECSV metadata). Nothing here reads
a clock: the creation time is the release's own, recorded when it was made.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ModelPin:
    """One model version a release is pinned to."""

    task: str
    name: str
    version: int
    id: int
    weights_sha256: str
    training_fingerprint: str
    code_version: str

    @property
    def reference(self) -> str:
        return f"{self.name}@{self.version}"

    @staticmethod
    def from_dict(data: dict[str, Any]) -> ModelPin:
        return ModelPin(task=str(data["task"]), name=str(data["name"]),
                        version=int(data["version"]), id=int(data["id"]),
                        weights_sha256=str(data["weights_sha256"]),
                        training_fingerprint=str(data.get("training_fingerprint") or ""),
                        code_version=str(data["code_version"]))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Provenance:
    """The provenance of one table of one release."""

    tag: str
    catalogue: str
    table: str
    created_at: str
    """Release creation time, UTC, ``YYYY-MM-DDThh:mm:ss``."""
    code_version: str
    row_count: int
    models: tuple[ModelPin, ...]
    where: str = ""

    def items(self) -> list[tuple[str, str, str]]:
        """``(name, value, meaning)`` in a fixed order; model entries are numbered."""
        out = [
            ("release_tag", self.tag, "release tag"),
            ("catalogue", self.catalogue, "public catalogue"),
            ("table", self.table, "table of the catalogue"),
            ("release_created", self.created_at, "release creation time (UTC)"),
            ("code_version", self.code_version, "galcat version that made the release"),
            ("row_count", str(self.row_count), "rows in this table"),
            ("query_where", self.where, "extra row filter of the release (SQL)"),
        ]
        for i, model in enumerate(self.models, start=1):
            out += [
                (f"model_{i}", model.reference, f"model version pinned for task {model.task}"),
                (f"model_{i}_task", model.task, "task of the model"),
                (f"model_{i}_weights_sha256", model.weights_sha256, "sha256 of the weights"),
                (f"model_{i}_training_fingerprint", model.training_fingerprint,
                 "sha256 of the ordered training object ids and labels"),
                (f"model_{i}_code_version", model.code_version, "galcat version that trained it"),
            ]
        return out

    def as_dict(self) -> dict[str, str]:
        return {name: value for name, value, _ in self.items()}


FITS_KEYWORDS: dict[str, str] = {
    "release_tag": "RELTAG",
    "catalogue": "CATALOG",
    "table": "RELTABLE",
    "release_created": "RELDATE",
    "code_version": "CODEVER",
    "row_count": "NROWS",
    "query_where": "RWHERE",
}
FITS_MODEL_KEYWORDS: dict[str, str] = {
    "": "MODEL",
    "_task": "MTASK",
    "_weights_sha256": "MSHA",
    "_training_fingerprint": "MTRAIN",
    "_code_version": "MCODE",
}


def fits_keyword(name: str) -> str:
    """The 8-character FITS keyword of a provenance item (``model_2_task`` → ``MTASK2``)."""
    if name in FITS_KEYWORDS:
        return FITS_KEYWORDS[name]
    _, number, *rest = name.split("_", 2)
    suffix = "_" + rest[0] if rest else ""
    return f"{FITS_MODEL_KEYWORDS[suffix]}{number}"
