"""A TAP answer in the format asked for: VOTable (default), CSV, FITS or Parquet."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from galcat.catalog.release.definitions import Column, TableDef
from galcat.catalog.release.votable import tabledata_document


@dataclass(frozen=True)
class Format:
    name: str
    media_type: str
    suffix: str


FORMATS = {
    "votable": Format("votable", "application/x-votable+xml", "vot"),
    "csv": Format("csv", "text/csv; charset=utf-8", "csv"),
    "fits": Format("fits", "application/fits", "fits"),
    "parquet": Format("parquet", "application/vnd.apache.parquet", "parquet"),
}
ALIASES = {
    "votable": "votable", "application/x-votable+xml": "votable", "text/xml": "votable",
    "votable/td": "votable", "application/x-votable+xml;serialization=tabledata": "votable",
    "csv": "csv", "text/csv": "csv", "fits": "fits", "application/fits": "fits",
    "parquet": "parquet", "application/vnd.apache.parquet": "parquet",
}


class FormatError(Exception):
    """A RESPONSEFORMAT TAP does not write."""


def parse_format(value: str | None) -> Format:
    """The format named by TAP's ``RESPONSEFORMAT``/``FORMAT`` (a short name or a MIME
    type; parameters after ``;`` other than TABLEDATA's are ignored)."""
    text = (value or "votable").strip().lower().replace(" ", "")
    name = ALIASES.get(text) or ALIASES.get(text.split(";")[0])
    if name is None:
        raise FormatError(f"RESPONSEFORMAT={value!r} is not one TAP here writes: choose "
                          f"{', '.join(FORMATS)} (or their MIME types)")
    return FORMATS[name]


def write_answer(fmt: Format, columns: Sequence[Column], rows: Sequence[Sequence[Any]],
                 infos: Sequence[tuple[str, str]], description: str, overflow: bool) -> bytes:
    """The answer's bytes; for VOTable, ``QUERY_STATUS`` says ``OVERFLOW`` when MAXREC
    cut the rows."""
    if fmt.name == "votable":
        table = TableDef("result", "TAP result", description, (), tuple(columns), "")
        return tabledata_document(table, columns, rows, infos, description,
                                  "OVERFLOW" if overflow else "OK")
    if fmt.name == "csv":
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow([c.name for c in columns])
        writer.writerows(["" if v is None else v for v in row] for row in rows)
        return text.getvalue().encode("utf-8")
    table = astropy_table(columns, rows, infos)
    buffer = io.BytesIO()
    if fmt.name == "fits":
        table.write(buffer, format="fits")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrays = {c.name: pa.array([row[i] for row in rows]) for i, c in enumerate(columns)}
        pq.write_table(pa.table(arrays) if arrays else pa.table({}), buffer)
    return buffer.getvalue()


def astropy_table(columns: Sequence[Column], rows: Sequence[Sequence[Any]],
                  infos: Sequence[tuple[str, str]]) -> Any:
    """The answer as an astropy Table with units, descriptions and masks."""
    from astropy.table import MaskedColumn, Table

    table = Table(meta={"COMMENT": [f"{name}: {value}" for name, value in infos]})
    for i, column in enumerate(columns):
        values = [row[i] for row in rows]
        mask = np.array([v is None for v in values], dtype=bool)
        if column.dtype == "str":
            data: Any = np.array(["" if v is None else str(v) for v in values], dtype=str)
        elif column.dtype == "bool":
            data = np.array([bool(v) if v is not None else False for v in values])
        elif column.dtype == "float64":
            data = np.array([np.nan if v is None else float(v) for v in values])
        else:
            data = np.array([0 if v is None else int(v) for v in values], dtype=np.int64)
        table[column.name] = MaskedColumn(data, mask=mask, unit=column.unit or None,
                                          description=column.description or None)
    return table
