"""The pinned release queries: one SELECT per public table, streamed in chunks.

A release query is fixed by its ``Pinned`` spec: the model version of each task,
the highest prediction-row id that existed when the release was made (so rows
written later by the same model versions never creep into a re-export), and an
optional SQL filter on the public column names. Rows come ordered by the table's
key. Every value is a bound parameter except the release author's ``where``,
which runs on a read-only connection.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from numpy.typing import NDArray

from galcat.catalog.release.definitions import CatalogueDef, TableDef, catalogue
from galcat.catalog.release.scan import Scan, keep, take
from galcat.catalog.release.stream import read_batches
from galcat.catalog.schema import (
    DlaAbsorber,
    EnvironmentMeasure,
    Galaxy,
    Image,
    Morphology,
    SersicFit,
    Sightline,
    SightlineSearch,
    Survey,
)
from galcat.vocabulary import MORPHOLOGY_COLUMNS, SERSIC_COLUMNS

CHUNK_ROWS = 16_384
"""Rows per chunk (and per Parquet row group); recorded with each release."""

WATERMARKED: dict[str, tuple[str, Any]] = {
    "dla_absorber": ("dla", DlaAbsorber),
    "sightline_search": ("dla", SightlineSearch),
    "morphology": ("morphology", Morphology),
    "sersic_fit": ("sersic", SersicFit),
    "environment_measure": ("environment", EnvironmentMeasure),
}
"""Prediction tables whose rows a release freezes: table -> (task, ORM class)."""


def _t(model: Any) -> sa.Table:
    return cast(sa.Table, model.__table__)


@dataclass(frozen=True)
class Pinned:
    """What fixes a release's rows: catalogue, model version ids, watermarks, filter."""

    catalogue: str
    pins: dict[str, int]
    """task -> model_version.id"""
    watermarks: dict[str, int]
    """prediction table -> highest row id included"""
    where: str = ""

    @property
    def definition(self) -> CatalogueDef:
        return catalogue(self.catalogue)


@dataclass
class Chunk:
    """Up to ``CHUNK_ROWS`` rows as columns: numpy arrays (str columns: a list of str,
    or a pyarrow string array when streamed) and null masks (None when a column has no
    nulls in this chunk)."""

    n: int
    values: dict[str, Any]
    nulls: dict[str, NDArray[np.bool_] | None] = field(default_factory=dict)


def select_rows(spec: Pinned, table: TableDef, positions: Any = None) -> sa.Select[Any]:
    """The table's rows, public column names, ordered by key.

    ``positions`` optionally restricts them to rows of these positional-table ids (a
    list, or an expanding bound parameter filled at execution, as the cone search does
    with the ids ``catalog.sky.cone`` found)."""
    inner = _inner(spec, table, positions).subquery("cat")
    stmt = sa.select(*inner.c)
    if spec.where.strip():
        stmt = stmt.where(sa.text(f"({spec.where})"))
    return stmt.order_by(*(inner.c[k] for k in table.key))


def measure(connection: sa.Connection, spec: Pinned, table: TableDef) -> tuple[int, dict[str, int]]:
    """Row count and the longest value (characters, at least 1) of each str column.

    The rows are read once and kept: the next ``iter_chunks`` of ``select_rows(spec,
    table)`` on this connection plays them back instead of running the query again."""
    stmt = select_rows(spec, table)
    found = Scan(connection, stmt, table)
    keep(connection, stmt, found)
    return found.rows, found.widths


def iter_chunks(connection: sa.Connection, stmt: sa.Select[Any], table: TableDef,
                chunk_rows: int = CHUNK_ROWS) -> Iterator[Chunk]:
    """``stmt``'s rows as column chunks of ``chunk_rows``: those ``measure`` kept for
    this statement, else streamed from the database (COPY on PostgreSQL)."""
    kept = take(connection, stmt)
    batches = (kept.batches(chunk_rows) if kept is not None
               else read_batches(connection, stmt, table, chunk_rows))
    for batch in batches:
        yield arrow_chunk(table, batch)


def arrow_chunk(table: TableDef, batch: pa.RecordBatch) -> Chunk:
    """A record batch (the table's columns, in order) as a ``Chunk``: str columns stay
    Arrow string arrays; null floats are NaN, null integers and booleans 0 / False."""
    chunk = Chunk(batch.num_rows, {})
    for column, array in zip(table.columns, batch.columns, strict=True):
        nulls: NDArray[np.bool_] | None = None
        values: Any
        if column.dtype == "str":
            values = array
            if array.null_count:
                nulls = array.is_null().to_numpy(zero_copy_only=False)
        elif column.dtype == "float64":
            values = array.to_numpy(zero_copy_only=False)
            isnan = np.isnan(values)
            nulls = isnan if isnan.any() else None
        else:
            if array.null_count:
                nulls = array.is_null().to_numpy(zero_copy_only=False)
                array = pc.fill_null(array, False if column.dtype == "bool" else 0)
            values = array.to_numpy(zero_copy_only=False)
        chunk.values[column.name] = values
        chunk.nulls[column.name] = nulls
    return chunk


def to_chunk(table: TableDef, rows: Sequence[Sequence[Any]]) -> Chunk:
    """Row tuples (in the table's column order) as a ``Chunk``."""
    n = len(rows)
    columns = list(zip(*rows, strict=True)) if n else [() for _ in table.columns]
    chunk = Chunk(n, {})
    for column, values in zip(table.columns, columns, strict=True):
        nulls: NDArray[np.bool_] | None = None
        array: Any
        if column.dtype == "float64":
            array = np.array(values, dtype=np.float64)
            isnan = np.isnan(array)
            nulls = isnan if isnan.any() else None
        elif column.dtype == "str":
            array = list(values)
        else:
            missing = np.fromiter((v is None for v in values), dtype=bool, count=n)
            if missing.any():
                nulls = missing
                values = tuple(0 if v is None else v for v in values)
            array = np.array(values, dtype=np.bool_ if column.dtype == "bool" else column.dtype)
        chunk.values[column.name] = array
        chunk.nulls[column.name] = nulls
    return chunk


def watermarks(connection: sa.Connection, pins: dict[str, int]) -> dict[str, int]:
    """The highest row id of each pinned model's prediction tables (0 when none)."""
    out = {}
    for name, (task, model) in WATERMARKED.items():
        if task in pins:
            table = _t(model)
            top = connection.execute(sa.select(sa.func.max(table.c.id))
                                     .where(table.c.model_version_id == pins[task])).scalar()
            out[name] = int(top or 0)
    return out


# --- the queries, one per public table ---------------------------------------------


def _inner(spec: Pinned, table: TableDef, positions: Any) -> sa.Select[Any]:
    builders = {("dla", "absorbers"): _dla_absorbers, ("dla", "sightlines"): _dla_sightlines,
                ("morphology", "galaxies"): _morphology_galaxies,
                ("environment", "galaxies"): _environment_galaxies}
    columns, from_, conditions, position = builders[(spec.catalogue, table.name)](
        spec, positions is not None)
    if positions is not None:
        conditions.append(position.c.id.in_(positions))
    missing = set(table.names) - set(columns)
    if missing:
        raise RuntimeError(f"release query of {table.name} lacks columns {sorted(missing)}")
    return (sa.select(*(columns[n].label(n) for n in table.names))
            .select_from(from_).where(*conditions))


Built = tuple[dict[str, Any], Any, list[Any], sa.Table]


def _pinned(column: Any, model_version_id: int, few_positions: bool) -> Any:
    """``column = model_version_id``; written ``column + 0 = …`` when the query is
    restricted to a few positions, so that no planner starts from every prediction of
    the model (an index on ``column`` cannot serve ``column + 0``) rather than from
    those positions (SQLite without ANALYZE statistics otherwise does)."""
    return (column + 0 if few_positions else column) == model_version_id


def _sightline_columns(s: sa.Table, sv: sa.Table) -> dict[str, Any]:
    return {"sightline_id": s.c.id, "survey": sv.c.name, "object_id": s.c.external_id,
            "plate": s.c.plate, "mjd": s.c.mjd, "fiber": s.c.fiber, "thing_id": s.c.thing_id,
            "ra": s.c.ra_deg, "dec": s.c.dec_deg, "z_qso": s.c.z_qso}


def _dla_absorbers(spec: Pinned, few: bool) -> Built:
    a, s, sv = _t(DlaAbsorber), _t(Sightline), _t(Survey)
    columns = {**_sightline_columns(s, sv), "absorber_id": a.c.id,
               **{n: a.c[n] for n in ("absorber_index", "z_dla", "log_nhi", "log_nhi_err",
                                      "z_dla_err", "p_dla", "confidence", "type")}}
    from_ = a.join(s, s.c.id == a.c.sightline_id).join(sv, sv.c.id == s.c.survey_id)
    conditions = [_pinned(a.c.model_version_id, spec.pins["dla"], few),
                  a.c.id <= spec.watermarks.get("dla_absorber", 0)]
    return columns, from_, conditions, s


def _dla_sightlines(spec: Pinned, few: bool) -> Built:
    ss, s, sv = _t(SightlineSearch), _t(Sightline), _t(Survey)
    columns = {**_sightline_columns(s, sv),
               **{n: ss.c[n] for n in ("z_min", "z_max", "snr", "n_absorbers")}}
    from_ = ss.join(s, s.c.id == ss.c.sightline_id).join(sv, sv.c.id == s.c.survey_id)
    conditions = [_pinned(ss.c.model_version_id, spec.pins["dla"], few),
                  ss.c.id <= spec.watermarks.get("sightline_search", 0)]
    return columns, from_, conditions, s


def _morphology_galaxies(spec: Pinned, few: bool) -> Built:
    g, sv = _t(Galaxy), _t(Survey)
    image, m, sf = _t(Image).alias("i"), _t(Morphology).alias("m"), _t(SersicFit).alias("sf")
    scored = _t(Morphology).alias("scored")
    pin_m, wm_m = spec.pins["morphology"], spec.watermarks.get("morphology", 0)
    first_image = (
        sa.select(sa.func.min(image.c.id))
        .select_from(image.join(scored, scored.c.image_id == image.c.id))
        .where(image.c.galaxy_id == g.c.id, scored.c.model_version_id == pin_m,
               scored.c.id <= wm_m)
        .scalar_subquery()
    )
    sersic_on = sa.and_(sf.c.image_id == m.c.image_id,
                        sf.c.model_version_id == spec.pins["sersic"],
                        sf.c.id <= spec.watermarks.get("sersic_fit", 0))
    from_ = (g.join(sv, sv.c.id == g.c.survey_id)
             .join(m, sa.and_(m.c.image_id == first_image,
                              _pinned(m.c.model_version_id, pin_m, few)))
             .outerjoin(sf, sersic_on))
    out_of_profile = sa.type_coerce(
        sa.or_(m.c.out_of_profile, sa.func.coalesce(sf.c.out_of_profile, sa.false())),
        sa.Boolean)
    columns = {
        "galaxy_id": g.c.id, "survey": sv.c.name, "object_id": g.c.external_id,
        "ra": g.c.ra_deg, "dec": g.c.dec_deg, "z_spec": g.c.z_spec, "z_phot": g.c.z_phot,
        "log_mstar": g.c.log_mstar, "image_id": m.c.image_id,
        **{n: m.c[n] for n in MORPHOLOGY_COLUMNS},
        **{"r_eff_arcsec_err" if n == "r_eff_err" else n: sf.c[n] for n in SERSIC_COLUMNS},
        "out_of_profile": out_of_profile,
    }
    return columns, from_, [m.c.id <= wm_m], g


def _environment_galaxies(spec: Pinned, few: bool) -> Built:
    g, sv, e = _t(Galaxy), _t(Survey), _t(EnvironmentMeasure)
    columns = {
        "galaxy_id": g.c.id, "survey": sv.c.name, "object_id": g.c.external_id,
        "ra": g.c.ra_deg, "dec": g.c.dec_deg, "z_spec": g.c.z_spec, "z_phot": g.c.z_phot,
        "z_phot_err": g.c.z_phot_err, "z_env": e.c.z_used,
        "cylinder_count": e.c.cylinder_count, "nth_neighbour_mpc_h": e.c.nth_neighbour_mpc_h,
    }
    from_ = e.join(g, g.c.id == e.c.galaxy_id).join(sv, sv.c.id == g.c.survey_id)
    conditions = [_pinned(e.c.model_version_id, spec.pins["environment"], few),
                  e.c.id <= spec.watermarks.get("environment_measure", 0)]
    return columns, from_, conditions, g
