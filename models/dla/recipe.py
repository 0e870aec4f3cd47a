"""How the DLA model is trained and scored: mocks → windows → network → held-out score.

Everything is seeded: the same ``TrainingRecipe`` gives the same windows, the same
weights (on the same backend and hardware) and the same score.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .absorbers import AbsorberCatalog, PeakConfig, find_absorbers
from .dense import predict_dense
from .evaluation import DLAScore, score_dla_catalog
from .mock import MockConfig, MockSightlines, generate_mock_sightlines
from .network import EpochTrainer, NetworkConfig, WindowSet, train, windows_and_labels
from .preprocess import PreparedSightlines, prepare_mock
from .refine import RefineConfig, refine_catalog

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class TrainingRecipe:
    """Sizes (sightlines, windows), schedule and seed of one training run."""

    seed: int = 1
    n_train_sightlines: int = 4000
    n_validation_sightlines: int = 400
    max_windows_per_chunk: int | None = None
    chunk_sightlines: int = 500
    epochs: int = 6
    batch_size: int = 256
    fresh_each_epoch: bool = False
    """Draw ``n_train_sightlines`` new mocks for every epoch (no window is seen twice,
    and only one epoch's windows are held in memory)."""
    network: NetworkConfig = field(default_factory=NetworkConfig)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["network"] = self.network.to_dict()
        return out


def training_windows(recipe: TrainingRecipe, progress: Progress | None = None
                     ) -> tuple[WindowSet, WindowSet]:
    """Balanced training and validation windows from seeded mocks (generated in chunks)."""
    rng = np.random.default_rng(recipe.seed)
    train_windows = mock_windows(recipe, rng, progress)
    return train_windows, validation_windows(recipe, rng)


def mock_windows(recipe: TrainingRecipe, rng: np.random.Generator,
                 progress: Progress | None = None) -> WindowSet:
    """Balanced windows from ``n_train_sightlines`` new mocks drawn from ``rng``."""
    parts: list[WindowSet] = []
    done = 0
    while done < recipe.n_train_sightlines:
        n = min(recipe.chunk_sightlines, recipe.n_train_sightlines - done)
        mock = generate_mock_sightlines(n, rng)
        prepared = prepare_mock(mock, window_pixels=recipe.network.window_pixels)
        parts.append(windows_and_labels(prepared, mock.truth, rng, recipe.network,
                                        recipe.max_windows_per_chunk))
        done += n
        if progress:
            progress("mock sightlines", done, recipe.n_train_sightlines)
    return concatenate(parts)


def validation_windows(recipe: TrainingRecipe, rng: np.random.Generator) -> WindowSet:
    """Windows of ``n_validation_sightlines`` mocks drawn from ``rng``."""
    mock = generate_mock_sightlines(recipe.n_validation_sightlines, rng)
    return windows_and_labels(prepare_mock(mock, window_pixels=recipe.network.window_pixels),
                              mock.truth, rng, recipe.network)


def concatenate(parts: list[WindowSet]) -> WindowSet:
    """One window set from several."""
    return WindowSet(**{name: np.concatenate([getattr(p, name) for p in parts])
                        for name in WindowSet.__dataclass_fields__})


def fingerprint(windows: WindowSet, digest: Any | None = None) -> str:
    """sha256 of the ordered training inputs and labels (fed into ``digest`` when given)."""
    digest = hashlib.sha256() if digest is None else digest
    for name in ("x", "is_dla", "offset", "log_nhi"):
        digest.update(np.ascontiguousarray(getattr(windows, name)).tobytes())
    return str(digest.hexdigest())


def train_recipe(
    recipe: TrainingRecipe, progress: Progress | None = None, callbacks: list[Any] | None = None,
    model: Any | None = None,
) -> tuple[Any, dict[str, Any], str]:
    """Train per ``recipe`` (continuing ``model`` when given, whose architecture must be
    ``recipe.network``); returns (model, metrics, training-set fingerprint)."""
    if recipe.fresh_each_epoch:
        return _train_fresh_each_epoch(recipe, progress, callbacks, model)
    windows, validation = training_windows(recipe, progress)
    model, metrics = train(windows, recipe.network, seed=recipe.seed, epochs=recipe.epochs,
                           batch_size=recipe.batch_size, validation_windows=validation,
                           callbacks=callbacks, model=model)
    metrics["n_train_windows"] = len(windows)
    return model, metrics, fingerprint(windows)


def _train_fresh_each_epoch(
    recipe: TrainingRecipe, progress: Progress | None, callbacks: list[Any] | None,
    model: Any | None,
) -> tuple[Any, dict[str, Any], str]:
    rng = np.random.default_rng(recipe.seed)
    validation = validation_windows(recipe, rng)
    digest = hashlib.sha256()
    trainer = EpochTrainer(recipe.network, recipe.seed, model)
    n_windows = 0
    windows: WindowSet | None = None
    for epoch in range(recipe.epochs):
        windows = None  # the previous epoch's windows go before the next are drawn
        windows = mock_windows(recipe, rng, progress if epoch == 0 else None)
        fingerprint(windows, digest)
        n_windows += len(windows)
        trainer.fit_epoch(windows, epoch, recipe.batch_size, callbacks)
    metrics = trainer.metrics(validation, windows)
    metrics["n_train_windows"] = n_windows
    return trainer.model, metrics, str(digest.hexdigest())


@dataclass(frozen=True)
class MockEvaluation:
    """A held-out mock set, the model's catalogue for it, and its score."""

    mock: MockSightlines
    prepared: PreparedSightlines
    catalog: AbsorberCatalog
    score: DLAScore
    truth: np.ndarray
    absorbers: np.ndarray
    """``truth`` and ``absorbers``: the rows scored (sightlines with S/N ≥ snr_min)."""


def evaluate_on_mocks(
    model: Any, network: NetworkConfig, n_sightlines: int, seed: int, snr_min: float = 0.0,
    mock_config: MockConfig | None = None, refine: RefineConfig | None = None,
) -> MockEvaluation:
    """Run the dense model (and with ``refine`` the Voigt refinement) on fresh mocks and
    score it (only sightlines with S/N ≥ snr_min)."""
    mock = generate_mock_sightlines(n_sightlines, seed, mock_config)
    prepared = prepare_mock(mock, window_pixels=network.window_pixels)
    catalog = find_absorbers(predict_dense(model, network, prepared), prepared,
                             PeakConfig.for_network(network))
    if refine is not None:
        catalog = refine_catalog(catalog, prepared, network.error_model, refine)
    keep = prepared.snr >= snr_min
    truth = mock.truth[keep[mock.truth["sightline"]]]
    found = catalog.absorbers[keep[catalog.absorbers["sightline"]]]
    score = score_dla_catalog(
        truth["sightline"], truth["z_abs"], truth["log_nhi"],
        found["sightline"], found["z_dla"], found["log_nhi"], found["type"],
        n_sightlines=int(keep.sum()), true_snr=prepared.snr[truth["sightline"]],
    )
    return MockEvaluation(mock, prepared, catalog, score, truth, found)
