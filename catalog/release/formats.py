"""Which writer writes each release file format: one table from format name to class.

``DEFAULT_FORMATS`` are the single-file formats a release writes unless told
otherwise; ``hats`` (a HATS collection folder per table) is written on request.
"""

from __future__ import annotations

from pathlib import Path

from galcat.catalog.release.definitions import TableDef
from galcat.catalog.release.ecsv import CsvWriter
from galcat.catalog.release.fits import FitsWriter
from galcat.catalog.release.hats import HatsWriter
from galcat.catalog.release.parquet import ParquetWriter
from galcat.catalog.release.provenance import Provenance
from galcat.catalog.release.votable import VOTableWriter
from galcat.catalog.release.writers import TableWriter

WRITERS: dict[str, type[TableWriter]] = {
    w.format: w for w in (FitsWriter, VOTableWriter, ParquetWriter, CsvWriter, HatsWriter)}
FORMATS = tuple(WRITERS)
DEFAULT_FORMATS = ("fits", "votable", "parquet", "csv")


def open_writer(fmt: str, path: Path, table: TableDef, widths: dict[str, int],
                provenance: Provenance) -> TableWriter:
    """A writer of format ``fmt`` (one of ``FORMATS``) for ``path``."""
    return writer_class(fmt)(path, table, widths, provenance)


def writer_class(fmt: str) -> type[TableWriter]:
    """The writer class of format ``fmt``."""
    try:
        return WRITERS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}: choose from {', '.join(FORMATS)}") from None
