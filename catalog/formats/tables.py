"""Read and write tables by format through astropy.table (FITS, VOTable, ECSV, CSV, Parquet)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

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
    """Parquet through pyarrow alone (astropy's reader also wants pandas). Text columns
    become numpy strings, as from the other formats; a masked column that astropy wrote as
    its data and a ``NAME.mask`` column is read masked."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pq.read_table(str(path))
    masks = _astropy_masks(arrow)
    table = Table()
    for name in arrow.column_names:
        if name in masks.values():
            continue
        column = arrow.column(name)
        values = column.to_numpy(zero_copy_only=False)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            values = column.fill_null("").to_numpy(zero_copy_only=False).astype(str)
        mask = column.is_null().to_numpy(zero_copy_only=False)
        if name in masks:
            mask = mask | arrow.column(masks[name]).fill_null(False).to_numpy(
                zero_copy_only=False).astype(bool)
        table[name] = np.ma.MaskedArray(values, mask=mask) if mask.any() else values
    return table


def _astropy_masks(arrow: Any) -> dict[str, str]:
    """{data column: mask column} of the masked columns astropy wrote into ``arrow``."""
    text = (arrow.schema.metadata or {}).get(b"table_meta_yaml")
    if text is None:
        return {}
    from astropy.table.meta import get_header_from_yaml

    header = get_header_from_yaml(text.decode().splitlines())
    serialized = (header.get("meta") or {}).get("__serialized_columns__") or {}
    out = {}
    for name, spec in serialized.items():
        if isinstance(spec, dict) and isinstance(spec.get("mask"), dict):
            data = spec.get("data")
            out[data["name"] if isinstance(data, dict) else name] = spec["mask"]["name"]
    return {d: m for d, m in out.items()
            if d in arrow.column_names and m in arrow.column_names and d != m}


def write_table(table: Table, path: str | Path, overwrite: bool = True) -> None:
    """Write ``table`` in the format its suffix names."""
    fmt = table_format(path)
    table.write(str(path), format=fmt, overwrite=overwrite)
