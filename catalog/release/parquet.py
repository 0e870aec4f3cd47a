"""Parquet through pyarrow's ParquetWriter: one row group per chunk.

Each field carries ``unit``, ``ucd`` and ``description`` metadata; the schema
carries the provenance as JSON (``galcat.provenance``) and astropy's own
``table_meta_yaml`` header, so astropy's reader restores units, descriptions and
provenance too. pyarrow writes no timestamps; ``created_by`` names its version.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from galcat.catalog.release.definitions import TableDef
from galcat.catalog.release.provenance import Provenance
from galcat.catalog.release.query import Chunk
from galcat.catalog.release.stream import ARROW_TYPES
from galcat.catalog.release.writers import TableWriter, arrow_column


class ParquetWriter(TableWriter):
    """A release table as Parquet (zstd-compressed columns)."""

    format = "parquet"
    suffix = ".parquet"

    def __init__(self, path: Path, table: TableDef, widths: dict[str, int],
                 provenance: Provenance) -> None:
        super().__init__(path, table, widths, provenance)
        self.schema = arrow_schema(table, provenance)
        self._writer = pq.ParquetWriter(str(path), self.schema, compression="zstd")
        self._closed = False

    def write(self, chunk: Chunk) -> None:
        arrays = [arrow_column(c, chunk) for c in self.table.columns]
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema),
                                 row_group_size=max(chunk.n, 1))
        self.rows_written += chunk.n

    def close(self) -> None:
        if not self._closed:
            self._writer.close()
            self._closed = True


def arrow_schema(table: TableDef, provenance: Provenance) -> pa.Schema:
    fields = [pa.field(c.name, ARROW_TYPES[c.dtype], nullable=True,
                       metadata={"unit": c.unit, "ucd": c.ucd, "description": c.description})
              for c in table.columns]
    from galcat.catalog.release.ecsv import astropy_header

    metadata = {
        "galcat.provenance": json.dumps(provenance.as_dict(), sort_keys=True),
        "table_meta_yaml": "\n".join(astropy_header(table, provenance, delimiter=None)),
    }
    return pa.schema(fields, metadata=metadata)
