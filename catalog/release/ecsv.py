"""CSV with a commented header: the file is plain CSV and valid ECSV at once.

Lines starting with ``#`` hold astropy's ECSV 1.0 header (column types, units,
descriptions, and the provenance under ``meta``), so ``Table.read(path,
format="ascii.ecsv")`` restores units and provenance while any CSV reader that
skips ``#`` comments sees a plain table. The rows are written by pyarrow's CSV
writer chunk by chunk; null values are empty fields, booleans ``True``/``False``.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from astropy.table import Table

from galcat.catalog.release.definitions import TableDef
from galcat.catalog.release.provenance import Provenance
from galcat.catalog.release.query import Chunk
from galcat.catalog.release.writers import TableWriter, arrow_column

NUMPY_DTYPES = {"int16": "i2", "int32": "i4", "int64": "i8", "float64": "f8", "bool": "?",
                "str": "U1"}
CSV_TYPES = {"int16": pa.int16(), "int32": pa.int32(), "int64": pa.int64(),
             "float64": pa.float64(), "bool": pa.string(), "str": pa.string()}


class CsvWriter(TableWriter):
    """A release table as CSV with an ECSV header."""

    format = "csv"
    suffix = ".csv"

    def __init__(self, path: Path, table: TableDef, widths: dict[str, int],
                 provenance: Provenance) -> None:
        super().__init__(path, table, widths, provenance)
        self._handle = open(path, "wb")  # noqa: SIM115 (closed in close())
        header = astropy_header(table, provenance, delimiter=",")
        self._handle.write(("\n".join(header) + "\n").encode("utf-8"))
        self._schema = pa.schema([pa.field(c.name, CSV_TYPES[c.dtype]) for c in table.columns])
        self._writer = pacsv.CSVWriter(
            self._handle, self._schema,
            write_options=pacsv.WriteOptions(include_header=False, quoting_style="needed"))

    def write(self, chunk: Chunk) -> None:
        arrays = []
        for column in self.table.columns:
            array = arrow_column(column, chunk)
            if column.dtype == "bool":
                array = pc.if_else(array, "True", "False")
            arrays.append(array)
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self._schema))
        self.rows_written += chunk.n

    def close(self) -> None:
        if self._handle.closed:
            return
        self._writer.close()
        self._handle.close()


def astropy_table(table: TableDef, provenance: Provenance) -> Table:
    """A zero-row astropy Table with the public columns, units, descriptions and meta."""
    out = Table(meta={"provenance": provenance.as_dict(),
                      "description": table.description})
    for column in table.columns:
        out[column.name] = np.zeros(0, dtype=NUMPY_DTYPES[column.dtype])
        out[column.name].unit = column.unit or None
        out[column.name].description = column.description
        if column.ucd:
            out[column.name].meta["ucd"] = column.ucd
    return out


def astropy_header(table: TableDef, provenance: Provenance, delimiter: str | None
                   ) -> list[str]:
    """The ECSV header lines (``#`` comments and the column-name line); with
    ``delimiter=None`` the bare YAML that astropy's Parquet writer stores."""
    empty = astropy_table(table, provenance)
    if delimiter is None:
        from astropy.table import meta

        return list(meta.get_yaml_from_table(empty))
    buffer = io.StringIO()
    empty.write(buffer, format="ascii.ecsv", delimiter=delimiter)
    return buffer.getvalue().splitlines()
