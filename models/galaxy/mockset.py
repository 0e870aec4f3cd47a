"""Seeded mock galaxy sets for training and scoring the galaxy networks.

Mocks are chunks of :func:`galcat.models.galaxy.mock.make_mocks` seeded by
``SeedSequence([seed, stream, chunk])``; training uses stream 0 and every held-out
set stream 1, so the two never share an image. Scores count galaxies with true
``mag <= 23`` (:data:`MAG_MAX`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping

import numpy as np

from galcat.models.galaxy.mock import DEFAULT_KIND_FRACTIONS, make_mocks

MAG_MAX = 23.0
MOCK_CHUNK = 500
TRAIN_STREAM, HELD_OUT_STREAM = 0, 1


def mock_galaxies(n: int, seed: int, stream: int, *,
                  kind_fractions: Mapping[str, float] = DEFAULT_KIND_FRACTIONS,
                  on_chunk: Callable[[int, int], None] | None = None,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` mock images (N, 64, 64) float32 and their truth, reproducible from (seed, stream)."""
    images, truths = [], []
    for k, start in enumerate(range(0, n, MOCK_CHUNK)):
        size = min(MOCK_CHUNK, n - start)
        chunk_seed = int(np.random.SeedSequence([seed, stream, k]).generate_state(1)[0])
        mocks = make_mocks(size, chunk_seed, kind_fractions=kind_fractions)
        images.append(mocks.images)
        truths.append(mocks.truth)
        if on_chunk is not None:
            on_chunk(start + size, n)
    return np.concatenate(images), np.concatenate(truths)


def data_fingerprint(*arrays: np.ndarray) -> str:
    """sha256 of the arrays' bytes (C order), in order: the training-set fingerprint."""
    digest = hashlib.sha256()
    for arr in arrays:
        digest.update(np.ascontiguousarray(arr).tobytes())
    return digest.hexdigest()
