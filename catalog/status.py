"""A short account of a catalog: where it is, its schema revision, rows per table."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from galcat.catalog import migrate
from galcat.catalog.db import Database
from galcat.catalog.schema import metadata

COUNTED_TABLES = (
    "survey", "galaxy", "image", "sightline", "spectrum", "simulation", "label",
    "model_version", "job", "dla_absorber", "morphology", "sersic_fit", "release",
)


@dataclass(frozen=True)
class CatalogStatus:
    database: str
    revision: str | None
    head: str | None
    row_counts: dict[str, int]

    @property
    def up_to_date(self) -> bool:
        return self.revision is not None and self.revision == self.head


def catalog_status(db: Database) -> CatalogStatus:
    """Revision and row counts (empty counts before ``galcat init``)."""
    revision = migrate.current_revision(db)
    counts: dict[str, int] = {}
    if revision is not None:
        with db.engine.connect() as connection:
            for name in COUNTED_TABLES:
                table = metadata.tables[name]
                counts[name] = int(
                    connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                )
    return CatalogStatus(
        database=db.engine.url.render_as_string(hide_password=True),
        revision=revision,
        head=migrate.head_revision(db),
        row_counts=counts,
    )
