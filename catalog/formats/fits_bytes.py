"""A strict, fast reader of FITS headers and binary-table columns straight from a file's
bytes (FITS Standard 4.0 §4 and §7.3): numpy views, no astropy objects.

It understands what survey spectra use: fixed-format header cards, BINTABLE columns of
L, X, B, I, J, K, A, E, D (scalar or with a repeat count), TSCAL/TZERO. A layout it does
not handle (variable-length arrays, complex columns) raises :class:`FitsLayoutError`, and
the caller falls back to astropy. A file that breaks the standard (no END, a negative or
absurd size, more than 999 columns, data shorter than the header says) raises
:class:`FitsDamaged`: the caller reports it and does not hand it to astropy, which would
try to honour the absurd sizes (a header claiming 10¹¹ columns exhausts the memory).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

BLOCK = 2880
CARD = 80
_TFORM = re.compile(r"^\s*(\d*)([LXBIJKAED])\s*$")
_DTYPE = {"L": "i1", "B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8"}
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([EeDd][+-]?\d+)?$")


class FitsLayoutError(ValueError):
    """The bytes are not a FITS layout this reader handles."""


class FitsDamaged(FitsLayoutError):
    """The bytes break the FITS standard: the file is damaged."""


@dataclass(frozen=True)
class Hdu:
    """One header-data unit: its header cards (keyword → raw value text) and where its
    data lie in the file."""

    cards: dict[str, str]
    data_start: int
    data_bytes: int

    def value(self, keyword: str, default: Any = None) -> Any:
        """A card's value as bool, int, float or str (``default`` when absent)."""
        raw = self.cards.get(keyword)
        return default if raw is None else parse_value(raw)

    def int(self, keyword: str, default: int | None = None) -> int:
        value = self.value(keyword, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise FitsDamaged(f"{keyword} is {value!r}, not an integer")
        return value


def parse_value(raw: str) -> Any:
    """The value of a fixed- or free-format card (the text after ``= ``)."""
    text = raw.strip()
    if text.startswith("'"):
        end, out = 1, []
        while True:
            close = text.find("'", end)
            if close < 0:
                raise FitsDamaged(f"unterminated string {raw!r}")
            out.append(text[end:close])
            if text[close + 1:close + 2] == "'":
                out.append("'")
                end = close + 2
                continue
            return "".join(out).rstrip()
    text = text.split("/", 1)[0].strip()
    if text in ("T", "F"):
        return text == "T"
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if _NUMBER.match(text):
        return float(text.replace("D", "E").replace("d", "e"))
    return text


def read_hdus(data: bytes, limit: int | None = None) -> list[Hdu]:
    """The first ``limit`` HDUs (all when None) of a FITS file held in ``data``."""
    hdus: list[Hdu] = []
    offset = 0
    while offset < len(data) and (limit is None or len(hdus) < limit):
        cards: dict[str, str] = {}
        end = None
        position = offset
        while end is None:
            block = data[position:position + BLOCK]
            if len(block) < BLOCK:
                raise FitsDamaged("header ends before its END card")
            text = block.decode("ascii", errors="strict") if block.isascii() else None
            if text is None:
                raise FitsDamaged("header holds non-ASCII bytes")
            for k in range(0, BLOCK, CARD):
                card = text[k:k + CARD]
                keyword = card[:8].rstrip()
                if keyword == "END":
                    end = position + BLOCK
                    break
                if card[8:10] == "= " and keyword not in cards:
                    cards[keyword] = card[10:]
            position += BLOCK
        hdu = Hdu(cards, end, 0)
        first = not hdus
        if first and hdu.value("SIMPLE") is not True:
            raise FitsDamaged("not a FITS file (no SIMPLE = T)")
        bitpix = abs(hdu.int("BITPIX"))
        naxis = hdu.int("NAXIS")
        if bitpix not in (8, 16, 32, 64) or not 0 <= naxis <= 999:
            raise FitsDamaged(f"BITPIX {bitpix} or NAXIS {naxis} is not valid")
        size = 0
        if naxis:
            size = 1
            for i in range(1, naxis + 1):
                size *= _non_negative(hdu, f"NAXIS{i}")
        size = bitpix // 8 * _non_negative(hdu, "GCOUNT", 1) * (
            _non_negative(hdu, "PCOUNT", 0) + size)
        hdus.append(Hdu(cards, end, size))
        offset = end + -(-size // BLOCK) * BLOCK
    return hdus


def _non_negative(hdu: Hdu, keyword: str, default: int | None = None) -> int:
    value = hdu.int(keyword, default)
    if value < 0:
        raise FitsDamaged(f"{keyword} = {value} is negative")
    return value


def table_columns(hdu: Hdu, data: bytes, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Columns ``names`` (case-insensitive; those present) of a BINTABLE HDU, native-endian,
    TSCAL/TZERO applied."""
    if str(hdu.value("XTENSION", "")).strip() != "BINTABLE":
        raise FitsLayoutError("not a binary table")
    if hdu.int("PCOUNT", 0):
        raise FitsLayoutError("variable-length columns")
    wanted = {n.upper() for n in names}
    fields, where = [], {}
    n_fields = hdu.int("TFIELDS")
    if not 0 <= n_fields <= 999:
        raise FitsDamaged(f"TFIELDS = {n_fields} is outside 0–999")
    for i in range(1, n_fields + 1):
        match = _TFORM.match(str(hdu.value(f"TFORM{i}", "")))
        if match is None:
            raise FitsLayoutError(f"TFORM{i} {hdu.value(f'TFORM{i}')!r} not handled")
        repeat, code = int(match.group(1) or 1), match.group(2)
        if code == "X":
            base, repeat = "u1", (repeat + 7) // 8
        elif code == "A":
            base, repeat = f"S{repeat}", 1
        else:
            base = _DTYPE[code]
        name = str(hdu.value(f"TTYPE{i}", f"COL{i}")).strip().upper()
        key = f"f{i}"
        fields.append((key, base, (repeat,)) if repeat != 1 else (key, base))
        if name in wanted:
            where[name] = (key, i)
    row = np.dtype(fields)
    n_rows, width = _non_negative(hdu, "NAXIS2"), _non_negative(hdu, "NAXIS1")
    if row.itemsize != width:
        raise FitsDamaged(f"columns add up to {row.itemsize} bytes, NAXIS1 is {width}")
    if hdu.data_start + n_rows * width > len(data):
        raise FitsDamaged("table data are truncated")
    table = np.frombuffer(data, dtype=row, count=n_rows, offset=hdu.data_start)
    out = {}
    for name, (key, i) in where.items():
        column = table[key]
        scale, zero = hdu.value(f"TSCAL{i}", 1), hdu.value(f"TZERO{i}", 0)
        if column.dtype.kind == "S":
            out[name] = column
        elif scale != 1 or zero != 0:
            out[name] = column.astype(np.float64) * scale + zero
        else:
            out[name] = column.astype(column.dtype.newbyteorder("="))
    return out
