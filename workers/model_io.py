"""Opening models: one :func:`open_model` for a shipped model, a model folder, a ``.keras``
file or a registry reference; Keras weights in and out of the registry (safe mode only),
one cached model per hash."""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from galcat.catalog.registry import verified_weights
from galcat.catalog.schema import ModelVersion
from galcat.catalog.schema_version import stored_revision
from galcat.catalog.settings import Settings
from galcat.models.shipped import ShippedModel, ShippedModelError, shipped_model

_loaded: dict[str, Any] = {}


def configure_backend() -> None:
    """Let TensorFlow grow GPU memory instead of taking all of it (no-op elsewhere)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        with contextlib.suppress(RuntimeError):
            tf.config.experimental.set_memory_growth(gpu, True)


def load_model(settings: Settings, version: ModelVersion) -> Any:
    """The Keras model of ``version``, hash-checked and loaded with ``safe_mode=True``."""
    model = _loaded.get(version.weights_sha256)
    if model is None:
        import keras

        configure_backend()
        from galcat.catalog.db import get_database

        with get_database(settings).new_session() as session:
            path = verified_weights(settings.artifacts_dir, version, session)
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
        _loaded[version.weights_sha256] = model
    return model


def save_model(model: Any, directory: Path | None = None) -> Path:
    """Save ``model`` as a ``.keras`` file in ``directory`` (a new temporary one by default)."""
    folder = Path(directory or tempfile.mkdtemp(prefix="galcat-weights-"))
    path = folder / f"{model.name}.keras"
    model.save(path)
    return path


class ModelNotFound(ValueError):
    """A model reference or path that names no usable model."""


@dataclass(frozen=True)
class OpenedModel:
    """A Keras model ready to predict, its hyper-parameters (empty for a bare ``.keras``
    file) and a label for provenance: ``NAME@N``, a path, or ``shipped NAME``."""

    model: Any
    hyperparameters: dict[str, Any]
    label: str


def open_model(settings: Settings, reference: str | Path | None, task: str) -> OpenedModel:
    """The ``task`` model that ``reference`` names, opened the same way for scans,
    evaluations and jobs: None is the model shipped with galcat (no catalogue needed); an
    existing folder is an exported model (``model.json`` + weights); an existing
    ``.keras`` file is bare weights; anything else is a registry reference ``NAME[@N]``,
    looked up in the catalogue of ``settings`` (which must exist: none is created)."""
    import keras

    if reference is None:
        return _from_folder(shipped_model(task), task, f"shipped {task}")
    path = Path(reference).expanduser()
    if path.is_dir():
        try:
            folder = ShippedModel.read(path)
        except ShippedModelError as exc:
            raise ModelNotFound(str(exc)) from None
        return _from_folder(folder, task, str(path))
    if path.suffix == ".keras" or path.is_file():
        if not path.is_file():
            raise ModelNotFound(f"{path}: no such model file")
        configure_backend()
        try:
            model = keras.saving.load_model(path, safe_mode=True, compile=False)
        except Exception as exc:
            raise ModelNotFound(f"{path}: not a Keras model galcat can load ({exc})") from None
        return OpenedModel(model, {}, str(path))
    return _from_registry(settings, str(reference), task)


def _from_folder(folder: ShippedModel, task: str, label: str) -> OpenedModel:
    import keras

    if folder.task != task:
        raise ModelNotFound(f"{label} is a {folder.task} model, not a {task} model")
    configure_backend()
    model = keras.saving.load_model(folder.verified_weights(), safe_mode=True, compile=False)
    return OpenedModel(model, folder.hyperparameters, label)


def _from_registry(settings: Settings, reference: str, task: str) -> OpenedModel:
    from galcat.catalog.db import get_database
    from galcat.catalog.registry import RegistryError, resolve

    if stored_revision(settings) is None:
        raise ModelNotFound(
            f"{reference!r} is not a model file or folder, and there is no galcat catalogue "
            f"at {settings.database_url} to look it up in (run `galcat init`, give a .keras "
            f"file or an exported model folder, or leave --model out for the shipped {task} "
            "model)")
    try:
        with get_database(settings).new_session() as session:
            version = resolve(session, reference)
            session.expunge(version)
    except RegistryError as exc:
        raise ModelNotFound(str(exc)) from None
    if version.task != task:
        raise ModelNotFound(f"{version.name}@{version.version} is a {version.task} model, "
                            f"not a {task} model")
    return OpenedModel(load_model(settings, version), dict(version.hyperparameters),
                       f"{version.name}@{version.version}")
