"""Keras weights in and out of the registry (safe mode only), one cached model per hash."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

from galcat.catalog.registry import verified_weights
from galcat.catalog.schema import ModelVersion
from galcat.catalog.settings import Settings

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
