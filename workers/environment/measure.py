"""``galcat environment measure``: each galaxy's environment from its best redshift (its
spectroscopic one, else the chosen version's, else its photo-z), written with a method
version that records where the redshifts came from."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from galcat.catalog.db import Database
from galcat.catalog.registry import register_method
from galcat.catalog.schema import EnvironmentMeasure, ModelVersion, RedshiftEstimate
from galcat.workers.environment.galaxies import GalaxyArrays, load_galaxies
from galcat.workers.queue.lifecycle import JobContext
from galcat.workers.queue.specs import MeasureEnvironment

MEASURE = cast(sa.Table, EnvironmentMeasure.__table__)
MEASURE_TASK = "environment"
REDSHIFT_TASKS = ("sort", "redshift")


def estimates(db: Database, version_id: int, ids: NDArray[np.int64],
              column: str = "z") -> NDArray[np.float64]:
    """A version's ``column`` (z or z_draw) per galaxy of ``ids`` (NaN where it has none)."""
    with db.new_session() as session:
        found: dict[int, float | None] = dict(session.execute(
            sa.select(RedshiftEstimate.galaxy_id, getattr(RedshiftEstimate, column))
            .where(RedshiftEstimate.model_version_id == version_id)).all())
    values = (found.get(int(i)) for i in ids)
    return np.array([np.nan if v is None else float(v) for v in values])


def best_redshift(galaxies: GalaxyArrays, estimated: NDArray[np.float64] | None
                  ) -> NDArray[np.float64]:
    """z_spec where there is one, else the estimate, else z_phot."""
    z = galaxies.z_phot.copy()
    if estimated is not None:
        z = np.where(np.isfinite(estimated), estimated, z)
    return np.where(np.isfinite(galaxies.z_spec), galaxies.z_spec, z)


def measure_environment(ctx: JobContext, spec: MeasureEnvironment) -> None:
    """Cylinder counts and n-th neighbour distances for the selected galaxies."""
    from galcat.models.environment.measures import cylinder_counts, nth_neighbour_distance

    source: dict[str, Any] = {"redshifts": "z_spec, else z_phot"}
    galaxies = load_galaxies(ctx.db, spec.where)
    if len(galaxies) == 0:
        raise ValueError("no galaxies matched")
    estimated = None
    if ctx.model_version_id is not None:
        with ctx.db.new_session() as session:
            version = session.get(ModelVersion, ctx.model_version_id)
            assert version is not None
            if version.task not in REDSHIFT_TASKS:
                raise ValueError(f"--redshifts must name a SORT or redshift-network version, "
                                 f"not {version.name}@{version.version} ({version.task})")
            source = {"redshifts": f"z_spec, else {version.name}@{version.version}, else z_phot",
                      "redshift_version": f"{version.name}@{version.version}",
                      "redshift_sha256": version.weights_sha256}
        estimated = estimates(ctx.db, ctx.model_version_id, galaxies.ids)
    z = best_redshift(galaxies, estimated)
    ctx.progress(0, 2, "cylinder counts", force=True)
    counts = cylinder_counts(galaxies.ra_deg, galaxies.dec_deg, z,
                             radius_mpc_h=spec.radius_mpc_h, dv_km_s=spec.dv_km_s)
    ctx.progress(1, 2, f"distance to the {spec.nth}th neighbour", force=True)
    nth = nth_neighbour_distance(galaxies.ra_deg, galaxies.dec_deg, z, n=spec.nth)
    definition = {"method": "cylinder counts and n-th neighbour", **source,
                  "where": spec.where, "radius_mpc_h": spec.radius_mpc_h,
                  "dv_km_s": spec.dv_km_s, "nth": spec.nth, "cosmology": "Planck18"}
    result: dict[str, Any] = {"galaxies": len(galaxies),
                              "median_cylinder_count": float(np.median(counts[counts >= 0]))}

    def write(session: Session) -> None:
        version = register_method(session, spec.name, MEASURE_TASK, definition,
                                  galaxies.fingerprint(), dict(result), spec.command())
        result["version"] = f"{version.name}@{version.version}"
        rows = [{"model_version_id": version.id, "galaxy_id": int(i),
                 "z_used": float(zi) if np.isfinite(zi) else None,
                 "cylinder_count": int(c) if c >= 0 else None,
                 "nth_neighbour_mpc_h": float(d) if np.isfinite(d) else None}
                for i, zi, c, d in zip(galaxies.ids, z, counts, nth, strict=True)]
        for start in range(0, len(rows), 5000):
            ctx.db.upsert(session, MEASURE, rows[start:start + 5000],
                          key=("model_version_id", "galaxy_id"))

    ctx.finish(result, write, message=f"environment of {len(galaxies)} galaxies written")
