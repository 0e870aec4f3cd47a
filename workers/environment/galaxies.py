"""The catalogue's galaxies as arrays for the environment methods, whole or by sky tile
(with a margin, so a tile's answers do not depend on where the sky was cut)."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from galcat.catalog.db import Database
from galcat.models.environment.sort import sky_cells

COLUMNS = "id, ra_deg, dec_deg, z_phot, z_phot_err, z_spec"


@dataclass(frozen=True)
class GalaxyArrays:
    """Catalogue galaxies: ids, ICRS degrees, redshifts (NaN where missing)."""

    ids: NDArray[np.int64]
    ra_deg: NDArray[np.float64]
    dec_deg: NDArray[np.float64]
    z_phot: NDArray[np.float64]
    z_phot_err: NDArray[np.float64]
    z_spec: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, keep: NDArray[np.bool_]) -> GalaxyArrays:
        return GalaxyArrays(self.ids[keep], self.ra_deg[keep], self.dec_deg[keep],
                            self.z_phot[keep], self.z_phot_err[keep], self.z_spec[keep])

    def fingerprint(self) -> str:
        """sha256 of the ids, positions and redshifts, in id order."""
        digest = hashlib.sha256()
        for array in (self.ids, self.ra_deg, self.dec_deg, self.z_phot, self.z_phot_err,
                      self.z_spec):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()


def _where(where: str | None, box: str | None = None) -> str:
    parts = [f"({where})" for where in (where, box) if where]
    return (" WHERE " + " AND ".join(parts)) if parts else ""


def load_galaxies(db: Database, where: str | None = None,
                  reference_where: str | None = None, box: str | None = None) -> GalaxyArrays:
    """Galaxies matching ``where`` (user SQL on ``galaxy``, run read-only) in id order;
    ``reference_where`` picks which spectroscopic redshifts count as references (the rest
    are treated as having none)."""
    reference = f"CASE WHEN ({reference_where}) THEN z_spec END" if reference_where else "z_spec"
    sql = (f"SELECT id, ra_deg, dec_deg, z_phot, z_phot_err, {reference} FROM galaxy"
           f"{_where(where, box)} ORDER BY id")
    _names, rows = db.readonly_query(sql)
    if not rows:
        empty = np.empty(0)
        return GalaxyArrays(np.empty(0, np.int64), empty, empty, empty, empty, empty)
    table = np.array([[np.nan if v is None else float(v) for v in row] for row in rows])
    return GalaxyArrays(table[:, 0].astype(np.int64), table[:, 1], table[:, 2], table[:, 3],
                        table[:, 4], table[:, 5])


@dataclass(frozen=True)
class Tile:
    """One sky tile of the grid of ``size_arcmin`` squares (see ``sky_cells``)."""

    row: int
    column: int
    size_arcmin: float

    @property
    def key(self) -> int:
        return self.row * (1 << 31) + self.column

    def dec_range(self) -> tuple[float, float]:
        size = self.size_arcmin / 60.0
        return self.row * size - 90.0, (self.row + 1) * size - 90.0

    def ra_range(self) -> tuple[float, float]:
        size = self.size_arcmin / 60.0
        low, high = self.dec_range()
        centre = 0.5 * (low + high)
        width = size / max(math.cos(math.radians(min(max(centre, -89.9), 89.9))), 1e-3)
        return self.column * width, (self.column + 1) * width

    def box_sql(self, margin_arcmin: float) -> str:
        """SQL on ``galaxy`` for the tile widened by ``margin_arcmin`` on every side."""
        margin = margin_arcmin / 60.0
        low, high = self.dec_range()
        low, high = max(low - margin, -90.0), min(high + margin, 90.0)
        widest = max(abs(low), abs(high))
        ra_margin = margin / max(math.cos(math.radians(min(widest, 89.9))), 1e-3)
        ra_low, ra_high = self.ra_range()
        ra_low, ra_high = ra_low - ra_margin, ra_high + ra_margin
        dec = f"dec_deg BETWEEN {low!r} AND {high!r}"
        if ra_high - ra_low >= 360.0 or max(abs(low), abs(high)) >= 89.0:
            return dec
        spans = [(max(ra_low, 0.0), min(ra_high, 360.0))]
        if ra_low < 0:
            spans.append((ra_low + 360.0, 360.0))
        if ra_high > 360:
            spans.append((0.0, ra_high - 360.0))
        ra = " OR ".join(f"ra_deg BETWEEN {a!r} AND {b!r}" for a, b in spans)
        return f"{dec} AND ({ra})"

    def contains(self, galaxies: GalaxyArrays) -> NDArray[np.bool_]:
        return sky_cells(galaxies.ra_deg, galaxies.dec_deg, self.size_arcmin) == self.key


def tiles_of(galaxies: GalaxyArrays, size_arcmin: float) -> list[tuple[Tile, int]]:
    """The occupied tiles and how many galaxies each holds, in sky order."""
    keys, counts = np.unique(sky_cells(galaxies.ra_deg, galaxies.dec_deg, size_arcmin),
                             return_counts=True)
    return [(Tile(int(k) // (1 << 31), int(k) % (1 << 31), size_arcmin), int(n))
            for k, n in zip(keys, counts, strict=True)]
