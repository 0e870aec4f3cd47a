"""Streaming table writers, one per release format, and their registry.

A writer is opened with the table definition, the string widths and row count
measured before streaming, and the provenance; it then takes ``Chunk`` after
``Chunk`` and holds at most one chunk in memory. Output depends only on those
inputs, never on the clock, so a frozen release re-exports byte for byte.
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from galcat.catalog.release.definitions import Column, TableDef
from galcat.catalog.release.provenance import Provenance
from galcat.catalog.release.query import Chunk


class ReleaseWriteError(Exception):
    """A value that cannot be written as declared (too long, not ASCII, ...)."""


class TableWriter(abc.ABC):
    """Writes one table to one file, chunk by chunk."""

    format: ClassVar[str]
    suffix: ClassVar[str]

    def __init__(self, path: Path, table: TableDef, widths: dict[str, int],
                 provenance: Provenance) -> None:
        self.path = path
        self.table = table
        self.widths = widths
        self.provenance = provenance
        self.rows_written = 0

    @abc.abstractmethod
    def write(self, chunk: Chunk) -> None:
        """Append the chunk's rows."""

    @abc.abstractmethod
    def close(self) -> None:
        """Finish the file (footers, checksums)."""

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def fixed_width(column: Column, values: list[str], width: int) -> NDArray[Any]:
    """Strings as a fixed-width ASCII byte array; refuses values that do not fit."""
    text = np.asarray(values, dtype=str)
    if text.size and text.dtype.itemsize // 4 > width:
        raise ReleaseWriteError(
            f"column {column.name}: a value is longer than the {width} characters measured "
            "before writing; the catalogue changed while the release was written, try again")
    try:
        return text.astype(f"S{width}")
    except UnicodeEncodeError:
        raise ReleaseWriteError(
            f"column {column.name}: a value is not ASCII, which FITS and VOTable fixed-width "
            "columns cannot hold") from None


def binary_records(table: TableDef, widths: dict[str, int], chunk: Chunk,
                   types: dict[str, str], null_value: dict[str, Any] | None = None,
                   bool_null: bytes = b"\0", prefix: list[tuple[str, Any]] | None = None
                   ) -> NDArray[Any]:
    """A chunk as packed big-endian records (FITS rows, VOTable BINARY2 rows).

    ``types`` maps each dtype to a numpy type; strings are fixed width, booleans one
    byte ``T``/``F`` (``bool_null`` when null), null integers ``null_value[name]``.
    """
    fields = list(prefix or [])
    for column in table.columns:
        if column.dtype == "str":
            fields.append((column.name, f"S{widths[column.name]}"))
        else:
            fields.append((column.name, types[column.dtype]))
    records = np.zeros(chunk.n, dtype=np.dtype(fields))
    for column in table.columns:
        values = chunk.values[column.name]
        nulls = chunk.nulls.get(column.name)
        if column.dtype == "str":
            records[column.name] = fixed_width(column, values, widths[column.name])
        elif column.dtype == "bool":
            flags = np.where(values, b"T", b"F")
            if nulls is not None:
                flags[nulls] = bool_null
            records[column.name] = flags
        else:
            records[column.name] = values
            if nulls is not None and null_value and column.name in null_value:
                records[column.name][nulls] = null_value[column.name]
    return records
