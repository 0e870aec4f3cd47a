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
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from galcat.catalog.release.definitions import Column, TableDef
from galcat.catalog.release.provenance import Provenance
from galcat.catalog.release.query import Chunk
from galcat.catalog.release.stream import ARROW_TYPES


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


def string_array(values: Any) -> pa.Array:
    """A str column's values (a list of str or an Arrow string array) as an Arrow array."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values
    return pa.array(values, type=pa.string())


def arrow_column(column: Column, chunk: Chunk) -> pa.Array:
    """One column of a chunk as an Arrow array of its release type, nulls included."""
    values = chunk.values[column.name]
    nulls = chunk.nulls.get(column.name)
    if column.dtype == "str":
        array = string_array(values)
        if nulls is None or array.null_count == int(nulls.sum()):
            return array
        return pc.if_else(pa.array(nulls), pa.scalar(None, pa.string()), array)
    return pa.array(values, type=ARROW_TYPES[column.dtype], mask=nulls)


def fixed_width(column: Column, values: Any, width: int) -> NDArray[Any]:
    """Strings as a fixed-width ASCII byte array (NUL padded); refuses values that do
    not fit."""
    array = string_array(values)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    array = array.cast(pa.large_string())
    n = len(array)
    _, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[array.offset:array.offset + n + 1]
    data = (np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None
            else np.zeros(0, dtype=np.uint8))[offsets[0]:offsets[-1]]
    lengths = np.diff(offsets)
    if array.null_count:
        lengths = np.where(array.is_null().to_numpy(zero_copy_only=False), 0, lengths)
    ascii_only = not (data >= 0x80).any()
    characters = lengths if ascii_only else pc.utf8_length(array).fill_null(0).to_numpy()
    if n and characters.max() > width:
        raise ReleaseWriteError(
            f"column {column.name}: a value is longer than the {width} characters measured "
            "before writing; the catalogue changed while the release was written, try again")
    if not ascii_only:
        raise ReleaseWriteError(
            f"column {column.name}: a value is not ASCII, which FITS and VOTable fixed-width "
            "columns cannot hold")
    out = np.zeros((n, width), dtype=np.uint8)
    if lengths.sum():
        rows = np.repeat(np.arange(n), lengths)
        within = np.arange(len(rows)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        out[rows, within] = data[np.repeat(offsets[:-1] - offsets[0], lengths) + within]
    return out.view(f"S{width}").ravel()


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
