"""SORT, the Stochastic Order Redshift Technique (Tejos, Rodríguez-Puebla & Primack 2018,
MNRAS 473, 3431; Kakos+2022).

In each pencil-beam sub-volume (a square sky cell of side ``cell_arcmin`` through the
whole redshift range), the redshifts of the reference (spectroscopic) galaxies give dN/dz.
As many redshifts as there are uncertain (photometric) galaxies in the cell are drawn from
it, sorted, and handed out one to one so that the photo-z rank order is kept. Grids of
cells shifted by ``1 - overlap`` of a cell repeat this, so each uncertain galaxy gets one
recovered redshift per grid; their median and spread are its SORT redshift and error, and
one of them, picked at random, is a realisation that keeps the clustering.

Draws are stratified (the k-th of n sorted draws is the reference quantile (k + u)/n with
u uniform) and every random number is a hash of (seed, grid, cell, rank), so a cell gives
the same answer whichever shard of the sky computes it: a shard that sees every galaxy
within one cell of its tile reproduces the whole-sky answer for the tile's galaxies.
Reference galaxies keep their spectroscopic redshift.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class SortParameters:
    """SORT's settings: sub-volume side (arcmin), overlap of shifted grids (0 ≤ F < 1),
    the fewest reference galaxies a sub-volume needs, the Gaussian smoothing of the
    reference dN/dz in units of (1 + z), and the seed of every draw."""

    cell_arcmin: float = 8.0
    overlap: float = 0.5
    min_reference: int = 5
    kernel_dz: float = 0.001
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.cell_arcmin > 0:
            raise ValueError(f"cell_arcmin must be positive, not {self.cell_arcmin}")
        if not 0 <= self.overlap < 1:
            raise ValueError(f"overlap must be in [0, 1), not {self.overlap}")
        if self.min_reference < 1:
            raise ValueError(f"min_reference must be at least 1, not {self.min_reference}")
        if not self.kernel_dz >= 0:
            raise ValueError(f"kernel_dz must be ≥ 0, not {self.kernel_dz}")

    @property
    def shifts_per_axis(self) -> int:
        """Grids per sky axis: cells overlap by ``overlap`` of their side."""
        return max(1, math.ceil(1.0 / (1.0 - self.overlap) - 1e-9))

    @property
    def grids(self) -> list[tuple[float, float]]:
        """Offsets (fractions of a cell, in RA and Dec) of the shifted grids."""
        m = self.shifts_per_axis
        return [(i / m, j / m) for i in range(m) for j in range(m)]

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> SortParameters:
        """The parameters named in ``values`` (a job's settings or a version's
        hyper-parameters; other keys are ignored), checked."""
        return cls(**{f.name: values[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class SortResult:
    """Per galaxy: the recovered redshifts (one column per grid, NaN where the galaxy had
    no sub-volume with enough references), their median, their half 16–84 % width, one
    picked at random (``z_draw``) and how many there were. Reference galaxies get their
    own redshift with zero spread; galaxies with neither redshift get NaN."""

    recovered: NDArray[np.float64]
    z: NDArray[np.float64]
    z_err: NDArray[np.float64]
    z_draw: NDArray[np.float64]
    n_values: NDArray[np.int64]
    is_reference: NDArray[np.bool_]


def _mix(*words: Any) -> NDArray[np.uint64]:
    """A splitmix64 hash of the words, element-wise."""
    state = np.zeros(np.broadcast(*words).shape, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for word in words:
            state = state ^ (np.asarray(word, dtype=np.uint64) + _GOLDEN + (state << np.uint64(6))
                             + (state >> np.uint64(2)))
            z = state + _GOLDEN
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            state = z ^ (z >> np.uint64(31))
    return state


def _uniform(*words: Any) -> NDArray[np.float64]:
    """Uniform numbers in (0, 1) from a hash of the words."""
    return ((_mix(*words) >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)


def _normal(*words: Any) -> NDArray[np.float64]:
    """Standard normal numbers from a hash of the words (Box–Muller)."""
    u1 = _uniform(*words, np.uint64(1))
    u2 = _uniform(*words, np.uint64(2))
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def sky_cells(ra_deg: ArrayLike, dec_deg: ArrayLike, cell_arcmin: float,
              offset: tuple[float, float] = (0.0, 0.0)) -> NDArray[np.int64]:
    """The cell of each position on a grid of ``cell_arcmin`` squares shifted by ``offset``
    (fractions of a cell): Dec rows of equal height; in each row, RA columns of equal
    width on the sky at the row's centre (so cells stay square away from the equator)."""
    size = cell_arcmin / 60.0
    dec = np.asarray(dec_deg, dtype=float)
    ra = np.asarray(ra_deg, dtype=float)
    row = np.floor((dec + 90.0) / size + offset[1]).astype(np.int64)
    row_centre = (row - offset[1] + 0.5) * size - 90.0
    width = size / np.maximum(np.cos(np.radians(np.clip(row_centre, -89.9, 89.9))), 1e-3)
    column = np.floor(ra / width + offset[0]).astype(np.int64)
    return row * np.int64(1 << 31) + column


def _sort_one_grid(cells: NDArray[np.int64], z_phot: NDArray[np.float64],
                   z_spec: NDArray[np.float64], reference: NDArray[np.bool_],
                   uncertain: NDArray[np.bool_], ids: NDArray[np.int64], grid: int,
                   params: SortParameters) -> NDArray[np.float64]:
    """Recovered redshifts on one grid (NaN for galaxies SORT gives none here)."""
    out = np.full(len(cells), np.nan)
    ref_index = np.flatnonzero(reference)
    unc_index = np.flatnonzero(uncertain)
    if len(ref_index) == 0 or len(unc_index) == 0:
        return out
    ref_order = np.lexsort((z_spec[ref_index], cells[ref_index]))
    ref_cells = cells[ref_index][ref_order]
    ref_z = z_spec[ref_index][ref_order]
    cell_keys, ref_start, ref_count = np.unique(ref_cells, return_index=True,
                                                return_counts=True)

    unc_order = unc_index[np.lexsort((ids[unc_index], z_phot[unc_index], cells[unc_index]))]
    unc_cells = cells[unc_order]
    first = np.r_[0, np.flatnonzero(np.diff(unc_cells)) + 1]
    group_size = np.diff(np.r_[first, len(unc_cells)])
    group_of = np.repeat(np.arange(len(first)), group_size)
    rank = np.arange(len(unc_cells)) - first[group_of]
    n_unc = group_size[group_of]

    slot = np.searchsorted(cell_keys, unc_cells)
    slot = np.minimum(slot, len(cell_keys) - 1)
    has_cell = cell_keys[slot] == unc_cells
    n_ref = np.where(has_cell, ref_count[slot], 0)
    usable = n_ref >= params.min_reference
    if not usable.any():
        return out

    words = (np.uint64(params.seed), np.uint64(grid), unc_cells.astype(np.uint64),
             rank.astype(np.uint64))
    quantile = (rank + _uniform(*words)) / n_unc
    pick = ref_start[slot] + np.minimum((quantile * n_ref).astype(np.int64), n_ref - 1)
    draw: NDArray[np.float64] = ref_z[np.where(usable, pick, 0)]
    draw = draw + params.kernel_dz * (1.0 + draw) * np.asarray(_normal(*words))
    draw = np.where(usable, draw, np.nan)
    by_cell_then_draw = np.lexsort((draw, unc_cells))
    out[unc_order] = draw[by_cell_then_draw]
    out[unc_order[~usable]] = np.nan
    return out


def sort_redshifts(ra_deg: ArrayLike, dec_deg: ArrayLike, z_phot: ArrayLike,
                   z_spec: ArrayLike, params: SortParameters | None = None,
                   ids: ArrayLike | None = None) -> SortResult:
    """SORT redshifts for a catalogue: ``z_spec`` NaN marks an uncertain galaxy (one with
    only ``z_phot``); ``ids`` (default: positions) break ties in photo-z rank, so give the
    catalogue's ids when the answer must not depend on row order. See the module docstring."""
    params = params or SortParameters()
    ra = np.asarray(ra_deg, dtype=float)
    dec = np.asarray(dec_deg, dtype=float)
    zp = np.asarray(z_phot, dtype=float)
    zs = np.asarray(z_spec, dtype=float)
    reference = np.isfinite(zs)
    uncertain = ~reference & np.isfinite(zp)
    key = np.arange(len(ra), dtype=np.int64) if ids is None else np.asarray(ids, np.int64)
    grids = params.grids
    recovered = np.full((len(ra), len(grids)), np.nan)
    for g, offset in enumerate(grids):
        cells = sky_cells(ra, dec, params.cell_arcmin, offset)
        recovered[:, g] = _sort_one_grid(cells, zp, zs, reference, uncertain, key, g, params)
    return _summarise(recovered, zs, reference, key, params.seed)


def _summarise(recovered: NDArray[np.float64], z_spec: NDArray[np.float64],
               reference: NDArray[np.bool_], ids: NDArray[np.int64], seed: int) -> SortResult:
    n_values = np.isfinite(recovered).sum(axis=1)
    any_value = n_values > 0
    z = np.full(len(recovered), np.nan)
    z_err = np.full(len(recovered), np.nan)
    z_draw = np.full(len(recovered), np.nan)
    if any_value.any():
        ranked = np.sort(recovered[any_value], axis=1)
        count = n_values[any_value]
        z[any_value] = _row_quantile(ranked, count, 0.5)
        z_err[any_value] = 0.5 * (_row_quantile(ranked, count, 0.84135)
                                  - _row_quantile(ranked, count, 0.15865))
        index = np.flatnonzero(any_value)
        choice = (_uniform(np.uint64(seed), np.uint64(0xD4A3), ids[index].astype(np.uint64))
                  * count).astype(np.int64)
        z_draw[any_value] = ranked[np.arange(len(ranked)), choice]
    z[reference] = z_spec[reference]
    z_err[reference] = 0.0
    z_draw[reference] = z_spec[reference]
    return SortResult(recovered, z, z_err, z_draw, n_values.astype(np.int64), reference)


def _row_quantile(ranked: NDArray[np.float64], count: NDArray[np.int64],
                  q: float) -> NDArray[np.float64]:
    """The ``q`` quantile of each row's first ``count`` values (rows sorted, NaN last),
    interpolated linearly as numpy's default does."""
    position = q * (count - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, count - 1)
    rows = np.arange(len(ranked))
    weight = position - low
    return ranked[rows, low] * (1.0 - weight) + ranked[rows, high] * weight
