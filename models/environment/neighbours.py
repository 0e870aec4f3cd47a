"""What the neighbour redshift network reads: for each galaxy, its K nearest spectroscopic
(reference) neighbours and M nearest photometric-only neighbours on the sky, as scaled
features (redshift offsets in units of the galaxy's photo-z error, log separations in
arcmin and in projected h⁻¹ Mpc), so one network serves every redshift.

Every galaxy gets features, those with a spectroscopic redshift included: with
``exclude_self`` a galaxy is never its own neighbour, so a reference galaxy's own z_spec is
hidden from it and it can serve as a training example (its z_spec the target). Callers
keep z_spec for reference galaxies and use the network for the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from galcat.models.environment.cosmology import comoving_distance, unit_vectors

REFERENCE_FEATURES = ("dz_over_sigma", "photo_z_likelihood", "log_sep_arcmin",
                      "log_sep_mpc_h", "refs_within_0.003", "refs_within_0.01",
                      "photometric_support")
"""Columns of :attr:`NeighbourFeatures.reference`; redshift windows are ±Δz/(1+z)."""
PHOTOMETRIC_FEATURES = ("dz_over_sigma", "photo_z_overlap", "log_sep_arcmin",
                        "log_sep_mpc_h", "log_sigma_ratio")
"""Columns of :attr:`NeighbourFeatures.photometric`."""
OWN_FEATURES = ("z_phot", "z_phot_err", "log1p_z_phot", "log_fractional_err",
                "reference_fill", "photometric_fill", "log_reference_reach_arcmin",
                "log_photometric_reach_arcmin", "log_reference_support")
"""Columns of :attr:`NeighbourFeatures.own`; the first two are raw redshifts, which the
network uses to place its field component."""

DZ_CLIP = 10.0
MIN_SEP_ARCMIN = 0.01
_ARCMIN = np.pi / (180.0 * 60.0)
_CHUNK = 65_536


@dataclass(frozen=True)
class NeighbourFeatures:
    """Per galaxy (N rows): K reference and M photometric neighbours, nearest first, padded
    with zeros where fewer lie within the search radius (the masks say which are real)."""

    reference: NDArray[np.float32]
    reference_z: NDArray[np.float32]
    reference_mask: NDArray[np.float32]
    photometric: NDArray[np.float32]
    photometric_mask: NDArray[np.float32]
    own: NDArray[np.float32]

    def __len__(self) -> int:
        return int(self.own.shape[0])

    def subset(self, rows: ArrayLike) -> NeighbourFeatures:
        """The features of the galaxies ``rows`` (indices or a boolean mask)."""
        rows = np.asarray(rows)
        return NeighbourFeatures(self.reference[rows], self.reference_z[rows],
                                 self.reference_mask[rows], self.photometric[rows],
                                 self.photometric_mask[rows], self.own[rows])

    def as_inputs(self) -> dict[str, NDArray[np.float32]]:
        """The network's input dict."""
        return {"reference": self.reference, "reference_z": self.reference_z,
                "reference_mask": self.reference_mask, "photometric": self.photometric,
                "photometric_mask": self.photometric_mask, "own": self.own}


def _nearest(tree: cKDTree, tree_rows: NDArray[np.int64], xyz: NDArray[np.float64],
             query_rows: NDArray[np.int64], k: int, max_chord: float,
             exclude_self: bool) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Catalogue rows (-1 if none) and separations (arcmin) of the k nearest tree members
    within ``max_chord`` of each query, without the query itself when ``exclude_self``."""
    n = len(query_rows)
    if tree.n == 0 or k == 0:
        return np.full((n, k), -1, np.int64), np.zeros((n, k))
    extra = int(exclude_self)
    chord, index = tree.query(xyz, k=k + extra, distance_upper_bound=max_chord, workers=-1)
    chord, index = chord.reshape(n, k + extra), index.reshape(n, k + extra)
    found = index < tree.n
    rows = np.where(found, tree_rows[np.minimum(index, tree.n - 1)], -1)
    if extra:
        is_self = rows == query_rows[:, None]
        drop = is_self.copy()
        drop[:, -1] |= ~is_self.any(axis=1)
        order = np.argsort(drop, axis=1, kind="stable")[:, :k]
        rows = np.take_along_axis(rows, order, axis=1)
        chord = np.take_along_axis(chord, order, axis=1)
    separation = np.where(rows >= 0, 2.0 * np.arcsin(np.minimum(chord, 2.0) / 2.0) / _ARCMIN,
                          0.0)
    return rows, separation


def _log_sep(arcmin: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.log10(np.maximum(arcmin, MIN_SEP_ARCMIN))


def _chunk_features(xyz: NDArray[np.float64], rows: NDArray[np.int64],
                    z_phot: NDArray[np.float64], sigma: NDArray[np.float64],
                    z_spec: NDArray[np.float64], trees: tuple[tuple[cKDTree, NDArray[np.int64]],
                                                              ...],
                    k: int, m: int, max_arcmin: float, exclude_self: bool
                    ) -> tuple[NDArray[np.float32], ...]:
    max_chord = 2.0 * np.sin(max_arcmin * _ARCMIN / 2.0)
    (ref_tree, ref_rows), (phot_tree, phot_rows) = trees
    refs, ref_sep = _nearest(ref_tree, ref_rows, xyz, rows, k, max_chord, exclude_self)
    phots, phot_sep = _nearest(phot_tree, phot_rows, xyz, rows, m, max_chord, exclude_self)
    zp, s = z_phot[rows][:, None], sigma[rows][:, None]
    ref_ok, phot_ok = refs >= 0, phots >= 0

    zr = np.where(ref_ok, z_spec[np.maximum(refs, 0)], 0.0)
    dz = np.where(ref_ok, np.clip((zr - zp) / s, -DZ_CLIP, DZ_CLIP), 0.0)
    likelihood = np.where(ref_ok, np.exp(-0.5 * dz * dz), 0.0)
    sep_mpc = comoving_distance(zr) * ref_sep * _ARCMIN
    f32 = np.float32
    zr32 = zr.astype(f32)
    gap = np.abs(zr32[:, :, None] - zr32[:, None, :])
    gap /= (1.0 + zr32)[:, :, None]
    pair = ref_ok[:, :, None] & ref_ok[:, None, :]
    pair &= ~np.eye(k, dtype=bool)
    near = [np.log1p(np.count_nonzero((gap < window) & pair, axis=2))
            for window in (0.003, 0.01)]

    zm = np.where(phot_ok, z_phot[np.maximum(phots, 0)], 0.0)
    sm = np.where(phot_ok, sigma[np.maximum(phots, 0)], 1.0)
    n_phot = np.maximum(phot_ok.sum(axis=1), 1)[:, None]
    overlap = zr32[:, :, None] - zm.astype(f32)[:, None, :]
    overlap /= sm.astype(f32)[:, None, :]
    overlap *= overlap
    overlap *= -0.5
    np.exp(overlap, out=overlap)
    support = np.matmul(overlap, phot_ok.astype(f32)[:, :, None])[:, :, 0] / n_phot
    reference = np.stack([dz / 5.0, likelihood, _log_sep(ref_sep), _log_sep(sep_mpc),
                          near[0], near[1], support], axis=-1) * ref_ok[..., None]

    pdz = np.clip((zm - zp) / s, -DZ_CLIP, DZ_CLIP)
    combined = np.sqrt(s * s + sm * sm)
    photometric = np.stack([pdz / 5.0, np.exp(-0.5 * ((zm - zp) / combined) ** 2),
                            _log_sep(phot_sep),
                            _log_sep(comoving_distance(zp) * phot_sep * _ARCMIN),
                            np.log(sm / s)], axis=-1) * phot_ok[..., None]

    reach = [np.where(ok.any(axis=1), np.where(ok, sep, 0.0).max(axis=1, initial=0.0),
                      max_arcmin)
             for ok, sep in ((ref_ok, ref_sep), (phot_ok, phot_sep))]
    own = np.stack([zp[:, 0], s[:, 0], np.log1p(zp[:, 0]), np.log(s[:, 0] / (1.0 + zp[:, 0])),
                    ref_ok.sum(axis=1) / max(k, 1), phot_ok.sum(axis=1) / max(m, 1),
                    _log_sep(reach[0]), _log_sep(reach[1]), np.log1p(likelihood.sum(axis=1))],
                   axis=-1)
    return (reference.astype(f32), zr.astype(f32), ref_ok.astype(f32), photometric.astype(f32),
            phot_ok.astype(f32), own.astype(f32))


def neighbour_features(ra_deg: ArrayLike, dec_deg: ArrayLike, z_phot: ArrayLike,
                       z_phot_err: ArrayLike, z_spec: ArrayLike, *, k_reference: int = 16,
                       m_photometric: int = 16, max_arcmin: float = 10.0,
                       exclude_self: bool = True) -> NeighbourFeatures:
    """Neighbour features of every galaxy (positions in degrees; ``z_spec`` NaN where a
    galaxy has no spectrum; ``z_phot_err`` the 1σ photo-z error in redshift units).

    Reference neighbours are galaxies with a z_spec, photometric neighbours those without,
    each the nearest ``k_reference`` / ``m_photometric`` within ``max_arcmin``. With
    ``exclude_self`` (the default) no galaxy is its own neighbour, so galaxies with a
    z_spec never see it and can be training examples."""
    ra = np.asarray(ra_deg, dtype=float)
    dec = np.asarray(dec_deg, dtype=float)
    zp = np.asarray(z_phot, dtype=float)
    sigma = np.asarray(z_phot_err, dtype=float)
    zs = np.asarray(z_spec, dtype=float)
    n = len(ra)
    for name, values in (("dec_deg", dec), ("z_phot", zp), ("z_phot_err", sigma),
                         ("z_spec", zs)):
        if values.shape != (n,):
            raise ValueError(f"{name} has shape {values.shape}; expected ({n},) like ra_deg")
    bad = ~(np.isfinite(zp) & np.isfinite(sigma) & (sigma > 0) & np.isfinite(ra)
            & np.isfinite(dec))
    if bad.any():
        raise ValueError(f"{int(bad.sum())} galaxies lack a finite position, z_phot or "
                         f"positive z_phot_err (first at row {int(np.flatnonzero(bad)[0])}); "
                         "fill or drop them before computing neighbour features")
    if k_reference < 1 or m_photometric < 0 or not max_arcmin > 0:
        raise ValueError("need k_reference ≥ 1, m_photometric ≥ 0 and max_arcmin > 0")
    xyz = unit_vectors(ra, dec)
    is_ref = np.isfinite(zs)
    trees = tuple((cKDTree(xyz[members]), np.flatnonzero(members).astype(np.int64))
                  for members in (is_ref, ~is_ref))
    chunks = []
    for start in range(0, n, _CHUNK):
        rows = np.arange(start, min(start + _CHUNK, n), dtype=np.int64)
        chunks.append(_chunk_features(xyz[rows], rows, zp, sigma, zs, trees, k_reference,
                                      m_photometric, max_arcmin, exclude_self))
    if not chunks:
        shapes = ((0, k_reference, len(REFERENCE_FEATURES)), (0, k_reference),
                  (0, k_reference), (0, m_photometric, len(PHOTOMETRIC_FEATURES)),
                  (0, m_photometric), (0, len(OWN_FEATURES)))
        return NeighbourFeatures(*(np.zeros(shape, np.float32) for shape in shapes))
    return NeighbourFeatures(*(np.concatenate(parts) for parts in zip(*chunks, strict=True)))
