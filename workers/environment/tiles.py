"""Redshift jobs sharded by sky tile: the parent registers the method version (or uses
the trained model it was given), splits the sky into tiles and queues one
``redshift_tile`` job per tile; each tile reads its galaxies with a margin, runs the
method and upserts ``redshift_estimate`` rows for its own galaxies only."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from galcat.catalog.registry import register_method
from galcat.catalog.schema import ModelVersion, RedshiftEstimate
from galcat.workers.environment.galaxies import GalaxyArrays, Tile, load_galaxies, tiles_of
from galcat.workers.queue.doorbell import ring
from galcat.workers.queue.lifecycle import JOB, JobContext
from galcat.workers.queue.sharding import queue_shards
from galcat.workers.queue.specs import RedshiftTile, SortRedshifts

ESTIMATE = cast(sa.Table, RedshiftEstimate.__table__)
SORT_TASK = "sort"


@dataclass(frozen=True)
class TileEstimates:
    """Per galaxy of a tile: redshift, its error, one realisation, values behind it."""

    ids: np.ndarray
    z: np.ndarray
    z_err: np.ndarray
    z_draw: np.ndarray
    n_values: np.ndarray
    is_reference: np.ndarray


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def write_estimates(db: Any, session: Session, version_id: int, out: TileEstimates) -> None:
    """Upsert one row per galaxy, keyed by (model_version_id, galaxy_id)."""
    rows = [{"model_version_id": version_id, "galaxy_id": int(i), "z": _finite(z),
             "z_err": _finite(e), "z_draw": _finite(d), "n_values": int(n),
             "is_reference": bool(r)}
            for i, z, e, d, n, r in zip(out.ids, out.z, out.z_err, out.z_draw, out.n_values,
                                        out.is_reference, strict=True)]
    for start in range(0, len(rows), 5000):
        db.upsert(session, ESTIMATE, rows[start:start + 5000],
                  key=("model_version_id", "galaxy_id"))


def sort_definition(spec: SortRedshifts) -> dict[str, Any]:
    """What a SORT version is: its method settings and the galaxies it runs on."""
    return {"method": "SORT (Tejos+2018)", "where": spec.where,
            "reference_where": spec.reference_where, "cell_arcmin": spec.cell_arcmin,
            "overlap": spec.overlap, "min_reference": spec.min_reference,
            "kernel_dz": spec.kernel_dz, "seed": spec.seed, "tile_cells": spec.tile_cells}


def run_sort(ctx: JobContext, spec: SortRedshifts) -> None:
    """Register a SORT version over the selected galaxies and fan out its tiles."""
    from galcat.models.environment.sort import SortParameters

    definition = sort_definition(spec)
    SortParameters.from_mapping(definition)
    galaxies = load_galaxies(ctx.db, spec.where, spec.reference_where)
    references = int(np.isfinite(galaxies.z_spec).sum())
    if len(galaxies) == 0 or references == 0:
        what = "no galaxies matched" if len(galaxies) == 0 else \
            "no galaxy has a reference (spectroscopic) redshift"
        raise ValueError(f"SORT needs galaxies and references: {what}")
    tiles = tiles_of(galaxies, spec.cell_arcmin * spec.tile_cells)
    with ctx.db.session() as session:
        ctx.hold(session)
        version = register_method(
            session, spec.name, SORT_TASK, definition, galaxies.fingerprint(),
            {"galaxies": len(galaxies), "references": references, "tiles": len(tiles)},
            command=spec.command())
        fan_out_tiles(ctx, session, int(version.id), tiles, spec.where, spec.reference_where,
                      spec.seed, f"SORT {spec.name}@{version.version}: {len(galaxies)} galaxies "
                      f"({references} references) in {len(tiles)} sky tiles")


def fan_out_tiles(ctx: JobContext, session: Session, version_id: int,
                  tiles: list[tuple[Tile, int]], where: str | None,
                  reference_where: str | None, seed: int, message: str) -> None:
    """Queue one tile job per tile, in the caller's transaction, and ring after commit."""
    created = queue_shards(session, ctx, [
        (RedshiftTile(row=tile.row, column=tile.column, size_arcmin=tile.size_arcmin,
                      where=where, reference_where=reference_where, seed=seed), count)
        for tile, count in tiles], version_id)
    session.execute(sa.update(JOB).where(JOB.c.id == ctx.job_id).values(
        worker=None, heartbeat_at=None, model_version_id=version_id,
        progress_total=sum(count for _, count in tiles), message=message))
    session.commit()
    ring(ctx.settings, ctx.db, [(job_id, RedshiftTile.queue) for job_id in created])


TileMethod = Callable[[Any, ModelVersion, GalaxyArrays, Tile, int], TileEstimates]


def sort_tile(settings: Any, version: ModelVersion, galaxies: GalaxyArrays,
              tile: Tile, seed: int) -> TileEstimates:
    """SORT over the tile and its margin; answers for the tile's own galaxies."""
    from galcat.models.environment.sort import SortParameters, sort_redshifts

    params = SortParameters.from_mapping(version.hyperparameters)
    result = sort_redshifts(galaxies.ra_deg, galaxies.dec_deg, galaxies.z_phot,
                            galaxies.z_spec, params, ids=galaxies.ids)
    own = tile.contains(galaxies)
    return TileEstimates(galaxies.ids[own], result.z[own], result.z_err[own],
                         result.z_draw[own], result.n_values[own], result.is_reference[own])


def tile_margin_arcmin(version: ModelVersion) -> float:
    """How far around its tile a tile job must read: one SORT cell, or the network's
    neighbour radius."""
    h = version.hyperparameters
    return float(h.get("cell_arcmin") or h.get("max_arcmin") or 0.0) * 1.05


def run_tile(methods: Mapping[str, TileMethod], ctx: JobContext, spec: RedshiftTile) -> None:
    """Run the parent's method on one tile and write its rows with the job's end."""
    with ctx.db.new_session() as session:
        version = session.get(ModelVersion, ctx.model_version_id)
        if version is None:
            raise ValueError(f"model version {ctx.model_version_id} does not exist")
        session.expunge(version)
    method = methods.get(version.task)
    if method is None:
        raise ValueError(f"{version.name}@{version.version} is a {version.task} model, "
                         f"not one that gives redshifts ({', '.join(methods)})")
    tile = Tile(spec.row, spec.column, spec.size_arcmin)
    galaxies = load_galaxies(ctx.db, spec.where, spec.reference_where,
                             box=tile.box_sql(tile_margin_arcmin(version)))
    ctx.progress(0, int(tile.contains(galaxies).sum()), force=True)
    out = method(ctx.settings, version, galaxies, tile, spec.seed)
    version_id = int(version.id)

    def write(session: Session) -> None:
        write_estimates(ctx.db, session, version_id, out)

    ctx.finish({"galaxies": len(out.ids), "read_with_margin": len(galaxies)}, write,
               message=f"{len(out.ids)} redshifts written")
