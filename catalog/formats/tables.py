"""Read and write tables by format through astropy.table (FITS, VOTable, ECSV, CSV, Parquet)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from astropy.table import Table

from galcat.catalog.formats.registry import FORMATS, file_format


class TableFormatError(Exception):
    """A file could not be read or written as a table."""


def table_format(path: str | Path) -> str:
    """The astropy format name for ``path``, from its (possibly compressed) suffix."""
    found = file_format(path)
    if found is None or found.astropy is None:
        known = ", ".join(s for f in FORMATS if f.astropy for s in f.suffixes)
        raise TableFormatError(f"{path}: unknown table format; use one of {known}")
    return found.astropy


def read_table(path: str | Path) -> Table:
    """Read any table astropy reads; non-standard unit strings are kept, not fatal."""
    fmt = table_format(path)
    kwargs: dict[str, object] = {}
    if fmt == "fits":
        kwargs["unit_parse_strict"] = "silent"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if fmt == "parquet":
                return _read_parquet(path)
            return Table.read(str(path), format=fmt, **kwargs)
    except FileNotFoundError:
        raise TableFormatError(f"{path}: no such file") from None
    except Exception as exc:
        raise TableFormatError(f"{path}: cannot be read as {fmt}: {exc}") from exc


def _read_parquet(path: str | Path) -> Table:
    """Parquet through pyarrow alone (astropy's reader also wants pandas)."""
    import pyarrow.parquet as pq

    arrow = pq.read_table(str(path))
    table = Table()
    for name in arrow.column_names:
        column = arrow.column(name)
        values = column.to_numpy(zero_copy_only=False)
        if column.null_count:
            mask = column.is_null().to_numpy(zero_copy_only=False)
            table[name] = np.ma.MaskedArray(values, mask=mask)
        else:
            table[name] = values
    return table


def write_table(table: Table, path: str | Path, overwrite: bool = True) -> None:
    """Write ``table`` in the format its suffix names."""
    fmt = table_format(path)
    table.write(str(path), format=fmt, overwrite=overwrite)
