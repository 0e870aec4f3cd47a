"""One read of a release query: its row count, string widths, and the rows kept for writing.

A release must know how many rows a table has and how long its longest strings are
before it writes the first byte (FITS and VOTable headers declare both), and then
write the same rows. Rather than run the query twice, ``Scan`` reads it once, keeps
the rows in an unlinked temporary Arrow IPC file (the only copy, on disk; nothing
large stays in memory) and plays them back chunk by chunk. Counting and streaming
the same spooled rows also means the header always describes exactly the rows that
follow, however the catalogue changes meanwhile.

``keep`` and ``take`` hand a scan from ``measure`` to the ``iter_chunks`` that follows
on the same connection for the same statement.
"""

from __future__ import annotations

import os
import tempfile
import weakref
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from galcat.catalog.release.definitions import TableDef
from galcat.catalog.release.stream import arrow_schema, read_batches, rebatch

READ_ROWS = 16_384
"""Rows per batch read from the database into the spool."""


class Scan:
    """The rows of one query, read once: ``rows``, ``widths`` and ``batches``."""

    def __init__(self, connection: sa.Connection, stmt: sa.Select[Any], table: TableDef
                 ) -> None:
        strings = [c.name for c in table.columns if c.dtype == "str"]
        self.rows = 0
        longest = dict.fromkeys(strings, 0)
        self._schema = arrow_schema(table)
        self._file = _anonymous_file()
        try:
            with pa.ipc.new_stream(self._file[0], self._schema) as spool:
                for batch in read_batches(connection, stmt, table, READ_ROWS):
                    spool.write_batch(batch)
                    self.rows += batch.num_rows
                    for name in strings:
                        top = pc.max(pc.utf8_length(batch.column(name))).as_py()
                        longest[name] = max(longest[name], top or 0)
            self._file[0].close()
        except BaseException:
            self.close()
            raise
        self.widths = {name: max(1, n) for name, n in longest.items()}
        """Characters of the longest value of each str column (at least 1)."""

    def batches(self, chunk_rows: int) -> Iterator[pa.RecordBatch]:
        """The spooled rows in batches of exactly ``chunk_rows`` (the last one fewer);
        the spool is closed at the end."""
        try:
            yield from rebatch(iter(pa.ipc.open_stream(self._file[1])), self._schema,
                               chunk_rows)
        finally:
            self.close()

    def close(self) -> None:
        for handle in self._file:
            handle.close()


def _anonymous_file() -> tuple[pa.NativeFile, pa.NativeFile]:
    """A temporary file as Arrow's own writer and reader (so no Python bytes are made
    on the way), already unlinked: it goes away when both are closed."""
    fd, path = tempfile.mkstemp(prefix="galcat-release-", suffix=".arrows")
    os.close(fd)
    try:
        return pa.OSFile(path, "wb"), pa.OSFile(path, "rb")
    finally:
        os.unlink(path)


_kept: weakref.WeakKeyDictionary[sa.Connection, tuple[str, Scan]] = (
    weakref.WeakKeyDictionary())


def statement_key(connection: sa.Connection, stmt: sa.Select[Any]) -> str:
    """What identifies a statement's rows on a connection: its SQL and parameters."""
    compiled = stmt.compile(dialect=connection.dialect,
                            compile_kwargs={"render_postcompile": True})
    return f"{compiled}\n{sorted(compiled.params.items())!r}"


def keep(connection: sa.Connection, stmt: sa.Select[Any], scan: Scan) -> None:
    """Hold ``scan`` for the next ``take`` of ``stmt`` on ``connection`` (one per
    connection: a newer scan closes the older)."""
    old = _kept.pop(connection, None)
    if old is not None:
        old[1].close()
    _kept[connection] = (statement_key(connection, stmt), scan)


def take(connection: sa.Connection, stmt: sa.Select[Any]) -> Scan | None:
    """The scan kept for ``stmt`` on ``connection``, if any (it is handed over once)."""
    held = _kept.get(connection)
    if held is None or held[0] != statement_key(connection, stmt):
        return None
    del _kept[connection]
    return held[1]
