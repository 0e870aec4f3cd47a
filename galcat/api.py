"""The Python API for notebooks: the catalogue as astropy Tables, jobs as handles.

>>> import galcat
>>> cat = galcat.Catalog()                  # the embedded default; or Catalog("postgresql://…")
>>> near = cat.cone(150.1, 2.2, 0.05)       # galaxies within 0.05° of (150.1, 2.2), nearest first
>>> counts = cat.sql("SELECT survey_id, count(*) AS n FROM galaxy GROUP BY survey_id")
>>> absorbers = cat.release("dla-2026.1")   # the frozen table of a release, with its provenance
>>> job = galcat.submit(galcat.InferDla(model="dla@latest"))
>>> job.wait(progress=True).state
'done'

Reads are read-only; :meth:`Catalog.sql` refuses anything that writes.
"""

from __future__ import annotations

import os
from pathlib import Path

from astropy.table import Column, MaskedColumn, Table

from galcat.catalog.db import Database, get_database
from galcat.catalog.release.build import load_release
from galcat.catalog.release.definitions import catalogue
from galcat.catalog.release.ecsv import astropy_table
from galcat.catalog.release.provenance import Provenance
from galcat.catalog.release.query import select_rows, to_chunk
from galcat.catalog.schema_version import SCHEMA_HEAD, stored_revision
from galcat.catalog.settings import Settings, load_settings
from galcat.catalog.sky import cone
from galcat.catalog.sql import rows_to_table, run_sql
from galcat.workers.queue.jobs import JobHandle
from galcat.workers.queue.jobs import submit as submit_job
from galcat.workers.queue.specs import JobSpec


class CatalogError(Exception):
    """A catalogue that cannot be read: absent, or at another schema revision."""


class Catalog:
    """A galcat catalogue: ``url`` (SQLAlchemy; default from ``GALCAT_DATABASE_URL``, else
    the SQLite file under ``home`` or ``GALCAT_HOME``)."""

    def __init__(self, url: str | None = None, *, home: str | Path | None = None) -> None:
        env = dict(os.environ)
        if url is not None:
            env["GALCAT_DATABASE_URL"] = url
        if home is not None:
            env["GALCAT_HOME"] = str(home)
        self.settings: Settings = load_settings(env)
        revision = stored_revision(self.settings)
        if revision != SCHEMA_HEAD:
            state = "no galcat catalogue" if revision is None else f"schema revision {revision}"
            raise CatalogError(f"{self.settings.database_url}: {state}, not {SCHEMA_HEAD}; "
                               "run `galcat init` first")
        self.db: Database = get_database(self.settings)

    def __repr__(self) -> str:
        return f"Catalog({self.settings.database_url!r})"

    def cone(self, ra_deg: float, dec_deg: float, radius_deg: float, table: str = "galaxy",
             limit: int | None = None) -> Table:
        """Rows of ``table`` (galaxy or sightline) within ``radius_deg`` of (RA, Dec) in
        degrees (ICRS), nearest first, with ``distance_deg``."""
        with self.db.new_session() as session:
            rows = cone(session, table, ra_deg, dec_deg, radius_deg, limit=limit)
        if not rows:
            return Table(names=["id", "ra_deg", "dec_deg", "distance_deg"])
        names = list(rows[0])
        return rows_to_table(names, [tuple(r[n] for n in names) for r in rows])

    def sql(self, query: str) -> Table:
        """The result of one read-only SQL statement."""
        result = run_sql(self.db, query)
        return rows_to_table(result.names, result.rows)

    def release(self, tag: str, table: str | None = None) -> Table:
        """A table of release ``tag`` (default its first: absorbers, or galaxies) exactly as
        frozen, with units, descriptions and the release's provenance in ``meta``."""
        record = load_release(self.db, tag)
        definition = catalogue(record.catalogue)
        names = [t.name for t in definition.tables]
        chosen = definition.tables[0] if table is None else \
            next((t for t in definition.tables if t.name == table), None)
        if chosen is None:
            raise ValueError(f"release {tag} has no table {table!r} (tables: {', '.join(names)})")
        with self.db.engine.connect() as connection:
            rows = connection.execute(select_rows(record.pinned, chosen)).all()
        spec = record.spec
        provenance = Provenance(tag, record.catalogue, chosen.name, spec["created_at"],
                                spec["code_version"], len(rows),
                                tuple(record.models), record.pinned.where)
        template = astropy_table(chosen, provenance)
        chunk = to_chunk(chosen, rows)
        out = Table(meta=template.meta)
        for column in chosen.columns:
            mask = chunk.nulls.get(column.name)
            values = chunk.values[column.name]
            out[column.name] = Column(values) if mask is None else MaskedColumn(values, mask=mask)
            out[column.name].unit = template[column.name].unit
            out[column.name].description = template[column.name].description
            out[column.name].meta.update(template[column.name].meta)
        return out

    def submit(self, spec: JobSpec) -> JobHandle:
        """Queue ``spec`` on this catalogue's broker; the handle has ``.wait(progress=True)``."""
        return submit_job(spec, self.settings)


def submit(spec: JobSpec, settings: Settings | None = None) -> JobHandle:
    """Queue ``spec`` (a typed job, e.g. ``InferDla(model="dla@2")``) on the catalogue of
    the environment's settings; returns a handle with ``.status()`` and ``.wait()``."""
    return submit_job(spec, settings)
