"""Rotations, flips and shifts of galaxy images, and what they do to the labels.

The dihedral group D4 (8 elements) acts on square stamps as ``flip^f rot90^k``:
first ``np.rot90`` ``k`` times over the (y, x) axes, then, if ``f``, a
left-right mirror. In FITS orientation (row 0 at the bottom) one ``np.rot90``
turns the sky clockwise, so a position angle (east of north) becomes
``PA - 90``; the mirror sends ``PA`` to ``-PA``. Sizes, Sérsic indices, axis
ratios, fluxes and morphological classes do not change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

D4_ELEMENTS: tuple[tuple[int, bool], ...] = tuple((k, f) for f in (False, True) for k in range(4))


def d4(images: np.ndarray, k: int, flip: bool, axes: tuple[int, int] = (-2, -1)) -> np.ndarray:
    """Apply ``flip^flip rot90^k`` to the ``(y, x)`` ``axes`` of ``images``."""
    out = np.rot90(images, k=k, axes=axes)
    return np.flip(out, axis=axes[1]) if flip else out


def d4_pa_deg(pa_deg: np.ndarray | float, k: int | np.ndarray,
              flip: bool | np.ndarray) -> np.ndarray:
    """Position angle (deg east of north, in [0, 180)) after :func:`d4`."""
    rotated = np.asarray(pa_deg, dtype=float) - 90.0 * np.asarray(k)
    return np.mod(np.where(flip, -rotated, rotated), 180.0)


def d4_centre(x0: np.ndarray | float, y0: np.ndarray | float, size_px: int, k: int,
              flip: bool) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centre ``(x0, y0)`` after :func:`d4` on a ``size_px`` square stamp."""
    x, y = np.asarray(x0, dtype=float), np.asarray(y0, dtype=float)
    last = size_px - 1.0
    for _ in range(k % 4):
        x, y = y, last - x
    return (last - x if flip else x), y


@dataclass(frozen=True)
class Augmentation:
    """Per-image transforms drawn by :func:`random_augment`."""

    k: np.ndarray
    flip: np.ndarray
    shift_y: np.ndarray
    shift_x: np.ndarray


def random_augment(images: np.ndarray, rng: np.random.Generator, *, max_shift_px: int = 1,
                   axes: tuple[int, int] = (1, 2)) -> tuple[np.ndarray, Augmentation]:
    """Random D4 element and integer shift (``np.roll``, at most ``max_shift_px``) per image."""
    n = images.shape[0]
    aug = Augmentation(k=np.asarray(rng.integers(0, 4, size=n)),
                       flip=np.asarray(rng.random(size=n) < 0.5),
                       shift_y=np.asarray(rng.integers(-max_shift_px, max_shift_px + 1, size=n)),
                       shift_x=np.asarray(rng.integers(-max_shift_px, max_shift_px + 1, size=n)))
    inner = (axes[0] - 1, axes[1] - 1)
    out = np.empty_like(images)
    for i in range(n):
        img = d4(images[i], int(aug.k[i]), bool(aug.flip[i]), axes=inner)
        out[i] = np.roll(img, (int(aug.shift_y[i]), int(aug.shift_x[i])), axis=inner)
    return out, aug
