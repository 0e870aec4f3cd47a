"""FITS binary tables written in a stream, with deterministic CHECKSUM/DATASUM.

The header is written first with the row count measured before streaming, rows
are appended as big-endian records chunk by chunk while their 32-bit ones'
complement sum accumulates, and the header is rewritten in place at the end with
DATASUM and CHECKSUM (FITS Checksum convention, Seaman et al. 2002). ``DATE`` is
the release's creation time, so nothing depends on when the file is written.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from astropy import units as u
from astropy.io import fits

from galcat.catalog.release.definitions import Column, TableDef
from galcat.catalog.release.provenance import Provenance, fits_keyword
from galcat.catalog.release.query import Chunk
from galcat.catalog.release.writers import TableWriter, binary_records

BLOCK = 2880
FITS_TYPES = {"int16": ">i2", "int32": ">i4", "int64": ">i8", "float64": ">f8", "bool": "S1"}
TFORM = {"int16": "I", "int32": "J", "int64": "K", "float64": "D", "bool": "L"}
NULL_INT = {"int16": -(2**15), "int32": -(2**31), "int64": -(2**63)}
ZERO_CHECKSUM = "0" * 16


class FitsWriter(TableWriter):
    """An empty primary HDU and one BINTABLE extension named after the table."""

    format = "fits"
    suffix = ".fits"

    def __init__(self, path: Path, table: TableDef, widths: dict[str, int],
                 provenance: Provenance) -> None:
        super().__init__(path, table, widths, provenance)
        self._nulls = {c.name: NULL_INT[c.dtype] for c in table.columns
                       if c.nullable and c.dtype in NULL_INT}
        self._handle = open(path, "wb")  # noqa: SIM115 (closed in close())
        primary = primary_header(provenance)
        set_checksum(primary, 0)
        self._handle.write(primary.tostring().encode("ascii"))
        self._header = table_header(table, widths, provenance, self._nulls)
        self._header_at = self._handle.tell()
        self._header_bytes = self._header.tostring().encode("ascii")
        self._handle.write(self._header_bytes)
        self._sum = OnesComplementSum()
        self._data_bytes = 0

    def write(self, chunk: Chunk) -> None:
        data = binary_records(self.table, self.widths, chunk, FITS_TYPES, self._nulls,
                              bool_null=b"\0").tobytes()
        self._handle.write(data)
        self._sum.update(data)
        self._data_bytes += len(data)
        self.rows_written += chunk.n

    def close(self) -> None:
        if self._handle.closed:
            return
        padding = -self._data_bytes % BLOCK
        self._handle.write(b"\0" * padding)
        set_checksum(self._header, self._sum.value())
        final = self._header.tostring().encode("ascii")
        if len(final) != len(self._header_bytes):
            raise RuntimeError("the FITS header changed size while adding its checksum")
        self._handle.seek(self._header_at)
        self._handle.write(final)
        self._handle.close()


def primary_header(provenance: Provenance) -> fits.Header:
    header = fits.Header()
    header["SIMPLE"] = (True, "conforms to FITS standard")
    header["BITPIX"] = (8, "array data type")
    header["NAXIS"] = (0, "no primary data")
    header["EXTEND"] = (True, "the catalogue is in extension 1")
    _provenance_cards(header, provenance)
    return header


def table_header(table: TableDef, widths: dict[str, int], provenance: Provenance,
                 nulls: dict[str, int]) -> fits.Header:
    """The BINTABLE header: column cards (TTYPE, TFORM, TUNIT, TNULL, TUCD, TCOMM)
    then provenance; DATASUM and CHECKSUM are placeholders until ``close``."""
    header = fits.Header()
    header["XTENSION"] = ("BINTABLE", "binary table extension")
    header["BITPIX"] = (8, "array data type")
    header["NAXIS"] = (2, "number of array dimensions")
    row_bytes = sum(_column_bytes(c, widths) for c in table.columns)
    header["NAXIS1"] = (row_bytes, "bytes per row")
    header["NAXIS2"] = (provenance.row_count, "number of rows")
    header["PCOUNT"] = (0, "size of special data area")
    header["GCOUNT"] = (1, "one data group")
    header["TFIELDS"] = (len(table.columns), "number of columns")
    for i, column in enumerate(table.columns, start=1):
        header[f"TTYPE{i}"] = column.name
        header[f"TFORM{i}"] = (f"{widths[column.name]}A" if column.dtype == "str"
                               else TFORM[column.dtype])
        if column.unit:
            header[f"TUNIT{i}"] = fits_unit(column.unit)
        if column.name in nulls:
            header[f"TNULL{i}"] = (nulls[column.name], "null value")
        if column.ucd:
            header[f"TUCD{i}"] = column.ucd
        header[f"TCOMM{i}"] = ascii_text(column.description)
    header["EXTNAME"] = (table.name.upper(), "public table name")
    _provenance_cards(header, provenance)
    return header


@lru_cache(maxsize=256)
def fits_unit(unit: str) -> str:
    """A unit in the FITS standard's syntax: ``dex(cm-2)`` becomes ``log(cm-2)``."""
    parsed: Any = u.Unit(unit)
    if isinstance(parsed, u.FunctionUnitBase):
        return f"log({parsed.physical_unit.to_string('fits')})"
    return str(parsed.to_string("fits"))


def _provenance_cards(header: fits.Header, provenance: Provenance) -> None:
    header["DATE"] = (provenance.created_at, "release creation time (UTC)")
    for name, value, meaning in provenance.items():
        # a comment that does not fit beside the value is left out (COMMENT explains all)
        header[fits_keyword(name)] = (value, meaning if len(value) + len(meaning) < 50 else "")
    header.add_comment(f"galcat public catalogue '{provenance.catalogue}', release "
                       f"{provenance.tag}, table {provenance.table}.")
    header.add_comment("Provenance: RELTAG release tag, RELDATE creation time, CODEVER galcat "
                       "version, NROWS rows, RWHERE row filter; per pinned model n: MODELn "
                       "name@version, MTASKn task, MSHAn weights sha256, MTRAINn training-set "
                       "fingerprint, MCODEn galcat version that trained it.")
    header["DATASUM"] = ("0", "data unit checksum")
    header["CHECKSUM"] = (ZERO_CHECKSUM, "HDU checksum")


def ascii_text(text: str) -> str:
    """FITS headers are ASCII: accents are dropped (Sérsic → Sersic), as is anything else
    outside ASCII."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _column_bytes(column: Column, widths: dict[str, int]) -> int:
    if column.dtype == "str":
        return widths[column.name]
    return int(np.dtype(FITS_TYPES[column.dtype]).itemsize)


class OnesComplementSum:
    """The FITS 32-bit ones' complement sum of a byte stream fed in any pieces."""

    def __init__(self) -> None:
        self._total = 0
        self._tail = b""

    def update(self, data: bytes) -> None:
        if self._tail:
            data = self._tail + data
        usable = len(data) - len(data) % 4
        self._tail = data[usable:]
        words = np.frombuffer(data, dtype=">u4", count=usable // 4)
        self._total += int(words.sum(dtype=np.uint64))

    def value(self) -> int:
        total = self._total
        if self._tail:
            total += int.from_bytes(self._tail.ljust(4, b"\0"), "big")
        return fold(total)


def fold(total: int) -> int:
    """End-around carry down to 32 bits."""
    while total >> 32:
        total = (total & 0xFFFFFFFF) + (total >> 32)
    return total


def set_checksum(header: fits.Header, datasum: int) -> None:
    """Set DATASUM and a CHECKSUM that makes the whole HDU sum to -0."""
    header["DATASUM"] = str(datasum)
    header["CHECKSUM"] = ZERO_CHECKSUM
    hdu_sum = OnesComplementSum()
    hdu_sum.update(header.tostring().encode("ascii"))
    total = fold(hdu_sum.value() + datasum)
    header["CHECKSUM"] = encode_checksum(~total & 0xFFFFFFFF)


_EXCLUDED = frozenset(b":;<=>?@[\\]^_`")


def encode_checksum(value: int) -> str:
    """The 16-character ASCII encoding of a 32-bit value (FITS Checksum appendix)."""
    ascii_bytes = [0] * 16
    for i in range(4):
        byte = (value >> (24 - 8 * i)) & 0xFF
        quotient, remainder = byte // 4 + 0x30, byte % 4
        ch = [quotient + remainder, quotient, quotient, quotient]
        changed = True
        while changed:
            changed = False
            for j in (0, 2):
                if ch[j] in _EXCLUDED or ch[j + 1] in _EXCLUDED:
                    ch[j] += 1
                    ch[j + 1] -= 1
                    changed = True
        for j in range(4):
            ascii_bytes[4 * j + i] = ch[j]
    text = bytes(ascii_bytes)
    return (text[-1:] + text[:-1]).decode("ascii")
