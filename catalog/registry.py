"""Model registry: versioned ``model_version`` rows and content-addressed weights.

References name a model and optionally a version: ``dla``, ``dla@latest``, ``dla@3``.
Weights live under ``GALCAT_HOME/artifacts/<sha256[:2]>/<sha256>.keras``; a file
whose hash does not match its row is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from galcat.catalog import __version__
from galcat.catalog.schema import ModelVersion

REFERENCE = re.compile(r"^(?P<name>[A-Za-z][\w.-]*)(?:@(?P<version>latest|\d+))?$")


class RegistryError(Exception):
    """A model reference that resolves to nothing, or weights that fail their check."""


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: int | None

    @staticmethod
    def parse(text: str) -> ModelRef:
        """``name``, ``name@latest`` or ``name@N``."""
        match = REFERENCE.match(text.strip())
        if match is None:
            raise RegistryError(f"{text!r} is not a model reference (use NAME, NAME@latest "
                                "or NAME@N)")
        version = match["version"]
        return ModelRef(match["name"], None if version in (None, "latest") else int(version))


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def artifact_path(artifacts_dir: Path, sha256: str) -> Path:
    """Where weights with this hash live."""
    return artifacts_dir / sha256[:2] / f"{sha256}.keras"


def store_weights(artifacts_dir: Path, source: str | Path) -> str:
    """Copy a weights file into the content-addressed store; return its sha256."""
    sha = sha256_file(source)
    target = artifact_path(artifacts_dir, sha)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.part")
        shutil.copyfile(source, partial)
        os.replace(partial, target)
    return sha


def verified_weights(artifacts_dir: Path, version: ModelVersion,
                     session: Session | None = None) -> Path:
    """The weights file of ``version``, after checking its hash against the row.

    A worker on another host has no local copy yet: with ``session`` the weights
    are fetched from the version's row (``weights_blob``) into the local store first.
    """
    path = artifact_path(artifacts_dir, version.weights_sha256)
    if not path.exists() and session is not None:
        _fetch_from_catalog(session, version, path)
    if not path.exists():
        raise RegistryError(f"weights of {version.name}@{version.version} are missing: "
                            f"expected {path}")
    actual = sha256_file(path)
    if actual != version.weights_sha256:
        raise RegistryError(f"weights of {version.name}@{version.version} at {path} have "
                            f"sha256 {actual}, not {version.weights_sha256}: refused")
    return path


def _fetch_from_catalog(session: Session, version: ModelVersion, target: Path) -> None:
    blob = session.execute(sa.select(ModelVersion.weights_blob).where(
        ModelVersion.id == version.id)).scalar_one_or_none()
    if blob is None:
        return
    if hashlib.sha256(blob).hexdigest() != version.weights_sha256:
        raise RegistryError(f"weights of {version.name}@{version.version} stored in the "
                            "catalog do not match their sha256: refused")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.part")
    partial.write_bytes(blob)
    os.replace(partial, target)


def register(
    session: Session,
    artifacts_dir: Path,
    name: str,
    task: str,
    weights_file: str | Path,
    hyperparameters: dict[str, Any],
    training_fingerprint: str | None,
    metrics: dict[str, Any] | None,
    command: str | None = None,
) -> ModelVersion:
    """Store weights and add the next version of ``name``."""
    sha = store_weights(artifacts_dir, weights_file)
    blob = artifact_path(artifacts_dir, sha).read_bytes()
    latest = session.execute(
        sa.select(sa.func.max(ModelVersion.version)).where(ModelVersion.name == name)
    ).scalar_one_or_none()
    row = ModelVersion(
        name=name, version=(latest or 0) + 1, task=task, weights_sha256=sha, weights_blob=blob,
        hyperparameters=hyperparameters, training_fingerprint=training_fingerprint,
        metrics=metrics, code_version=__version__, command=command,
    )
    session.add(row)
    session.flush()
    return row


def resolve(session: Session, reference: str | ModelRef) -> ModelVersion:
    """The ``model_version`` row a reference names (latest when no version is given)."""
    ref = ModelRef.parse(reference) if isinstance(reference, str) else reference
    query = sa.select(ModelVersion).where(ModelVersion.name == ref.name)
    if ref.version is None:
        query = query.order_by(ModelVersion.version.desc()).limit(1)
    else:
        query = query.where(ModelVersion.version == ref.version)
    found = session.execute(query).scalar_one_or_none()
    if found is None:
        known = session.execute(
            sa.select(ModelVersion.name, sa.func.max(ModelVersion.version))
            .group_by(ModelVersion.name)
        ).all()
        listing = ", ".join(f"{n}@{v}" for n, v in known) or "none yet"
        raise RegistryError(f"no model {ref.name}@{ref.version or 'latest'} (registered: "
                            f"{listing})")
    return found


def training_fingerprint(object_ids: list[Any], label_values: list[Any]) -> str:
    """sha256 of the ordered object ids and label values a model was trained on."""
    digest = hashlib.sha256()
    for oid, value in zip(object_ids, label_values, strict=True):
        digest.update(f"{oid}\t{value!r}\n".encode())
    return digest.hexdigest()


def register_method(
    session: Session,
    name: str,
    task: str,
    definition: dict[str, Any],
    input_fingerprint: str | None,
    metrics: dict[str, Any] | None,
    command: str | None = None,
) -> ModelVersion:
    """Add the next version of ``name`` for a method without weights (SORT, an environment
    measure): its ``weights_sha256`` is the sha256 of its canonical JSON ``definition``,
    which is also its hyper-parameters, so two runs with the same settings share a hash."""
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":")).encode()
    latest = session.execute(
        sa.select(sa.func.max(ModelVersion.version)).where(ModelVersion.name == name)
    ).scalar_one_or_none()
    row = ModelVersion(
        name=name, version=(latest or 0) + 1, task=task,
        weights_sha256=hashlib.sha256(canonical).hexdigest(), weights_blob=None,
        hyperparameters=definition, training_fingerprint=input_fingerprint, metrics=metrics,
        code_version=__version__, command=command,
    )
    session.add(row)
    session.flush()
    return row
