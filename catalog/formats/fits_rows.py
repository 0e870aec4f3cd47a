"""Scalar columns of one row of a FITS binary table, read straight from the file's bytes
(for tables far wider than the few columns wanted)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

TFORM = re.compile(r"^\s*(\d*)([LXBIJKAEDCMPQ])")
TFORM_BYTES = {
    "L": 1,
    "B": 1,
    "I": 2,
    "J": 4,
    "K": 8,
    "A": 1,
    "E": 4,
    "D": 8,
    "C": 8,
    "M": 16,
    "P": 8,
    "Q": 16,
}
TFORM_DTYPE = {"B": ">u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8"}


def first_row_fields(hdul: Any, index: int, data: bytes, keys: tuple[str, ...]) -> dict[str, Any]:
    """Scalar columns ``keys`` of row 0 of binary table ``index``, decoded from the header.

    A spAll-style SPECOBJ table has ~240 columns; decoding only the few we need is
    ~50× faster than building astropy's column objects. Anything unusual (scaled or
    non-scalar columns) falls back to astropy.
    """
    header = hdul[index].header
    wanted = {k.upper() for k in keys}
    offset, found, layout = 0, {}, []
    for i in range(1, int(header["TFIELDS"]) + 1):
        m = TFORM.match(str(header[f"TFORM{i}"]))
        if m is None:
            raise ValueError(f"unknown TFORM{i} {header[f'TFORM{i}']!r}")
        repeat = int(m.group(1) or 1)
        code = m.group(2)
        width = (repeat + 7) // 8 if code == "X" else repeat * TFORM_BYTES[code]
        name = str(header[f"TTYPE{i}"]).strip().upper()
        if name in wanted:
            layout.append((name, i, code, repeat, offset))
        offset += width
    if offset != int(header["NAXIS1"]):
        raise ValueError(f"column widths add up to {offset}, NAXIS1 is {header['NAXIS1']}")
    start = hdul.fileinfo(index)["datLoc"]
    row = data[start : start + offset]
    if len(row) < offset:
        raise ValueError("table row is truncated")
    for name, i, code, repeat, off in layout:
        scaled = f"TSCAL{i}" in header or f"TZERO{i}" in header
        if scaled or repeat != 1 or code not in TFORM_DTYPE:
            table = hdul[index].data
            found[name] = table[0][{c.upper(): c for c in table.columns.names}[name]]
            continue
        found[name] = np.frombuffer(row, dtype=TFORM_DTYPE[code], count=1, offset=off)[0]
    return found
