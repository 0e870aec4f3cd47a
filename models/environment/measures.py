"""Per-galaxy environment: counts of neighbours in a cylinder, the distance to the n-th
nearest neighbour, and the rank correlation used to compare two such measures.

The cylinder around galaxy *i* holds every other galaxy *j* with

* projected separation r_p = θ_ij · χ(z_i) < ``radius_mpc_h``, where θ_ij is the angle
  between the two sky positions and χ(z_i) the comoving distance of the central galaxy
  *i* (flat-sky: the transverse distance at the central's distance, so the count is not
  symmetric in *i* and *j*), and
* line-of-sight velocity difference |Δv| = c |z_i − z_j| / (1 + (z_i + z_j)/2) <
  ``dv_km_s``.

Galaxies with a non-finite ra, dec or z get count −1 (distance NaN) and are nobody's
neighbour.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from galcat.models.environment.cosmology import (
    C_KM_S,
    DEFAULT_COSMOLOGY,
    comoving_distance,
    sky_to_cartesian,
    unit_vectors,
)

_CHUNK = 65_536
"""Most central galaxies whose candidate pairs are held in memory at once."""
_MAX_RADIUS_SPREAD = 1.25
"""Largest ratio of angular cylinder radii among the centrals of one chunk."""
_MARGIN = 1e-9
"""Relative widening of the tree search so that it holds every pair the exact test keeps."""


def cylinder_counts(ra_deg: ArrayLike, dec_deg: ArrayLike, z: ArrayLike, *,
                    radius_mpc_h: float = 1.0, dv_km_s: float = 1000.0,
                    cosmology: str = DEFAULT_COSMOLOGY) -> NDArray[np.int64]:
    """Number of other galaxies in the cylinder of comoving radius ``radius_mpc_h``
    (h⁻¹ Mpc, at the central's distance) and half-length ``dv_km_s`` (km/s) around each
    galaxy at (ra, dec) in degrees and redshift ``z``; −1 where a coordinate is not finite.
    """
    if not radius_mpc_h > 0:
        raise ValueError(f"radius_mpc_h must be positive, not {radius_mpc_h}")
    if not dv_km_s > 0:
        raise ValueError(f"dv_km_s must be positive, not {dv_km_s}")
    ra, dec, redshift = _coordinates(ra_deg, dec_deg, z)
    counts = np.full(redshift.size, -1, dtype=np.int64)
    valid = np.isfinite(ra) & np.isfinite(dec) & np.isfinite(redshift) & (redshift > -1.0)
    order = np.flatnonzero(valid)
    order = order[np.argsort(redshift[order], kind="stable")]
    zs = redshift[order]
    unit = unit_vectors(ra[order], dec[order])
    w = np.log1p(zs)
    with np.errstate(divide="ignore"):
        theta_max = radius_mpc_h / comoving_distance(zs, cosmology)
    chord_max = np.where(theta_max < np.pi, 2.0 * np.sin(np.minimum(theta_max, np.pi) / 2.0),
                         np.inf)
    dw_max = 2.0 * np.arctanh(dv_km_s / (2.0 * C_KM_S)) if dv_km_s < 2.0 * C_KM_S else np.inf

    counts_sorted = np.zeros(zs.size, dtype=np.int64)
    start = 0
    while start < zs.size:
        stop = _chunk_stop(chord_max, start)
        lo = int(np.searchsorted(w, w[start] - dw_max * (1 + _MARGIN), side="left"))
        hi = int(np.searchsorted(w, w[stop - 1] + dw_max * (1 + _MARGIN), side="right"))
        search = min(float(chord_max[start]), 2.0) * (1 + _MARGIN)
        scale = search / dw_max if np.isfinite(dw_max) else 0.0
        points = np.column_stack([unit, scale * w])
        centrals = cKDTree(points[start:stop], balanced_tree=False, compact_nodes=False)
        others = cKDTree(points[lo:hi], balanced_tree=False, compact_nodes=False)
        pairs = centrals.sparse_distance_matrix(others, search, p=np.inf,
                                                output_type="ndarray")
        i = pairs["i"].astype(np.intp) + start
        j = pairs["j"].astype(np.intp) + lo
        chord2 = np.sum((unit[i] - unit[j]) ** 2, axis=1)
        inside = ((i != j) & (chord2 < chord_max[i] ** 2)
                  & (C_KM_S * np.abs(zs[i] - zs[j]) < dv_km_s * (1.0 + 0.5 * (zs[i] + zs[j]))))
        counts_sorted[start:stop] = np.bincount(i[inside] - start, minlength=stop - start)
        start = stop
    counts[order] = counts_sorted
    return counts


def nth_neighbour_distance(ra_deg: ArrayLike, dec_deg: ArrayLike, z: ArrayLike, *, n: int = 5,
                           cosmology: str = DEFAULT_COSMOLOGY) -> NDArray[np.float64]:
    """3-D comoving distance (h⁻¹ Mpc, redshift space) from each galaxy to its ``n``-th
    nearest other galaxy; NaN where a coordinate is not finite, inf where fewer than ``n``
    others exist."""
    if n < 1:
        raise ValueError(f"n must be at least 1, not {n}")
    ra, dec, redshift = _coordinates(ra_deg, dec_deg, z)
    distance = np.full(redshift.size, np.nan)
    valid = np.flatnonzero(np.isfinite(ra) & np.isfinite(dec) & np.isfinite(redshift))
    if valid.size == 0:
        return distance
    xyz = sky_to_cartesian(ra[valid], dec[valid], redshift[valid], cosmology)
    tree = cKDTree(xyz, balanced_tree=False, compact_nodes=False)
    nearest, _ = tree.query(xyz, k=[n + 1], workers=-1)
    distance[valid] = nearest[:, 0]
    return distance


def spearman(a: ArrayLike, b: ArrayLike) -> float:
    """Spearman rank correlation of ``a`` and ``b`` over the pairs where neither is NaN
    (NaN when fewer than two such pairs remain)."""
    from scipy.stats import spearmanr

    x = np.asarray(a, dtype=float).ravel()
    y = np.asarray(b, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"a and b differ in length: {x.size} and {y.size}")
    keep = ~(np.isnan(x) | np.isnan(y))
    if keep.sum() < 2:
        return float("nan")
    return float(spearmanr(x[keep], y[keep]).statistic)


def _coordinates(ra_deg: ArrayLike, dec_deg: ArrayLike,
                 z: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64],
                                        NDArray[np.float64]]:
    """ra, dec (degrees) and z as float arrays of one length."""
    ra, dec, redshift = (np.asarray(v, dtype=float).ravel() for v in (ra_deg, dec_deg, z))
    if not ra.shape == dec.shape == redshift.shape:
        raise ValueError(f"ra, dec and z differ in length: {ra.size}, {dec.size}, "
                         f"{redshift.size}")
    return ra, dec, redshift


def _chunk_stop(chord_max: NDArray[np.float64], start: int) -> int:
    """End of the chunk of centrals (sorted by redshift) that begins at ``start``: at most
    ``_CHUNK`` of them, with angular radii within ``_MAX_RADIUS_SPREAD`` of the first."""
    stop = min(start + _CHUNK, chord_max.size)
    if np.isfinite(chord_max[start]):
        narrowest = chord_max[start] / _MAX_RADIUS_SPREAD
        stop = min(stop, start + int(np.searchsorted(-chord_max[start:stop], -narrowest,
                                                     side="right")))
    return max(stop, start + 1)
