"""VOTable 1.3 documents written by hand, so that they stream and validate cleanly.

Release files use BINARY2 (packed big-endian rows with a null-flag prefix, base64
in 76-character lines) appended chunk by chunk; cone-search responses, which are
small, use TABLEDATA. Units are written in the CDS syntax VOTable 1.3 asks for
(``[cm-2]`` for a logarithmic column density). Provenance goes into ``INFO``
elements of the RESOURCE.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import numpy as np
from astropy import units as u

from galcat.catalog.release.definitions import Column, TableDef
from galcat.catalog.release.provenance import Provenance
from galcat.catalog.release.query import Chunk
from galcat.catalog.release.writers import TableWriter, binary_records

DATATYPE = {"int16": "short", "int32": "int", "int64": "long", "float64": "double",
            "bool": "boolean", "str": "char"}
BINARY_TYPES = {"int16": ">i2", "int32": ">i4", "int64": ">i8", "float64": ">f8", "bool": "S1"}
LINE_BYTES = 57
"""Bytes per 76-character base64 line."""

HEAD = ('<?xml version="1.0" encoding="utf-8"?>\n'
        '<VOTABLE version="1.3" xmlns="http://www.ivoa.net/xml/VOTable/v1.3" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.ivoa.net/xml/VOTable/v1.3 '
        'http://www.ivoa.net/xml/VOTable/v1.3">\n')


@lru_cache(maxsize=256)
def votable_unit(unit: str) -> str:
    """A unit in the CDS syntax of VOTable 1.3 (``dex(cm-2)`` → ``[cm-2]``)."""
    return str(u.Unit(unit).to_string("cds"))


def info(name: str, value: str, text: str = "") -> str:
    body = f">{escape(text)}</INFO>" if text else "/>"
    return f"  <INFO name={quoteattr(name)} value={quoteattr(value)}{body}\n"


def field(column: Column, arraysize: str | None) -> str:
    attrs = [f"name={quoteattr(column.name)}", f'datatype="{DATATYPE[column.dtype]}"']
    if arraysize is not None:
        attrs.append(f'arraysize="{arraysize}"')
    if column.unit:
        attrs.append(f"unit={quoteattr(votable_unit(column.unit))}")
    if column.ucd:
        attrs.append(f"ucd={quoteattr(column.ucd)}")
    if column.ucd.startswith(("pos.eq.ra", "pos.eq.dec")):
        attrs.append('ref="icrs"')
    return (f"   <FIELD {' '.join(attrs)}>\n"
            f"    <DESCRIPTION>{escape(column.description)}</DESCRIPTION>\n   </FIELD>\n")


def document_start(table: TableDef, columns: Sequence[Column], infos: Iterable[str],
                   arraysizes: dict[str, str], nrows: int | None, description: str) -> str:
    """Everything up to and including ``<DATA>``."""
    parts = [HEAD, ' <RESOURCE type="results">\n',
             f"  <DESCRIPTION>{escape(description)}</DESCRIPTION>\n", *infos,
             '  <COOSYS ID="icrs" system="ICRS"/>\n']
    rows = f' nrows="{nrows}"' if nrows is not None else ""
    parts.append(f"  <TABLE name={quoteattr(table.name)}{rows}>\n"
                 f"   <DESCRIPTION>{escape(table.description)}</DESCRIPTION>\n")
    parts += [field(c, arraysizes.get(c.name)) for c in columns]
    parts.append("   <DATA>\n")
    return "".join(parts)


DOCUMENT_END = "   </DATA>\n  </TABLE>\n </RESOURCE>\n</VOTABLE>\n"


class VOTableWriter(TableWriter):
    """A release table as VOTable 1.3 BINARY2, streamed."""

    format = "votable"
    suffix = ".vot"

    def __init__(self, path: Path, table: TableDef, widths: dict[str, int],
                 provenance: Provenance) -> None:
        super().__init__(path, table, widths, provenance)
        self._handle = open(path, "wb")  # noqa: SIM115 (closed in close())
        infos = [info("QUERY_STATUS", "OK")]
        infos += [info(name, value, meaning) for name, value, meaning in provenance.items()]
        start = document_start(
            table, table.columns, infos, {s: str(w) for s, w in widths.items()},
            provenance.row_count,
            f"galcat public catalogue {provenance.catalogue}, release {provenance.tag}, "
            f"table {provenance.table}")
        self._handle.write(start.encode("utf-8"))
        self._handle.write(b'    <BINARY2>\n     <STREAM encoding="base64">\n')
        self._null_bytes = (len(table.columns) + 7) // 8
        self._pending = b""

    def write(self, chunk: Chunk) -> None:
        records = binary_records(
            self.table, self.widths, chunk, BINARY_TYPES, bool_null=b"?",
            prefix=[("_nulls", ("u1", (self._null_bytes,)))])
        flags = np.zeros((chunk.n, len(self.table.columns)), dtype=bool)
        for i, column in enumerate(self.table.columns):
            nulls = chunk.nulls.get(column.name)
            if nulls is not None:
                flags[:, i] = nulls
        records["_nulls"] = np.packbits(flags, axis=1)[:, : self._null_bytes]
        data = self._pending + records.tobytes()
        usable = len(data) - len(data) % LINE_BYTES
        self._handle.write(base64.encodebytes(data[:usable]))
        self._pending = data[usable:]
        self.rows_written += chunk.n

    def close(self) -> None:
        if self._handle.closed:
            return
        if self._pending:
            self._handle.write(base64.encodebytes(self._pending))
        self._handle.write(b"     </STREAM>\n    </BINARY2>\n")
        self._handle.write(DOCUMENT_END.encode("utf-8"))
        self._handle.close()


def tabledata_document(table: TableDef, columns: Sequence[Column],
                       rows: Iterable[Sequence[Any]], infos: Sequence[tuple[str, str]],
                       description: str, status: str = "OK") -> bytes:
    """A small VOTable with TABLEDATA rows (values in ``columns`` order); ``status`` is
    the DAL ``QUERY_STATUS`` (``OK`` or ``OVERFLOW``)."""
    start = document_start(
        table, columns, [info("QUERY_STATUS", status), *(info(n, v) for n, v in infos)],
        {c.name: "*" for c in columns if c.dtype == "str"}, None, description)
    body = ["    <TABLEDATA>\n"]
    for row in rows:
        cells = "".join(f"<TD>{tabledata_cell(v)}</TD>" for v in row)
        body.append(f"     <TR>{cells}</TR>\n")
    body.append("    </TABLEDATA>\n")
    return (start + "".join(body) + DOCUMENT_END).encode("utf-8")


def error_document(message: str) -> bytes:
    """An IVOA error response in both dialects: ``INFO name="Error"`` under the root
    (Simple Cone Search 1.03) and ``INFO name="QUERY_STATUS" value="ERROR"`` in the
    results RESOURCE (DALI)."""
    return (HEAD + info("Error", message).replace("  <INFO", " <INFO")
            + ' <RESOURCE type="results">\n'
            + info("QUERY_STATUS", "ERROR", message)
            + " </RESOURCE>\n</VOTABLE>\n").encode("utf-8")


def tabledata_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "T" if value else "F"
    if isinstance(value, float | np.floating):
        return "" if np.isnan(value) else repr(float(value))
    if isinstance(value, str):
        return escape(value)
    return str(value)
