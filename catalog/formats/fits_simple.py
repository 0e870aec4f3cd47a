"""A reader for the simplest FITS file: one floating-point 2-D primary image, no extensions.

Everything else (extensions, scaled or integer pixels, long strings, non-standard cards,
undefined values, record-valued cards) is left to astropy: :func:`read_simple_fits`
returns None for it. What it returns is what astropy gives for the same bytes: the
header values as ``Card.value``, the header text as ``Header.tostring(sep="\\n")`` and
the pixels bit for bit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

BLOCK = 2880
CARD = 80
_KEYWORD = re.compile(r"^[A-Z0-9_-]{1,8} *$")
_STRING = re.compile(r"^ *'((?:[^']|'')*)' *(/.*)?$")
_NUMBER = re.compile(r"^ *([+-]?(?:\.\d+|\d+(?:\.\d*)?)(?:[DE][+-]?\d+)?) *(/.*)?$")
_LOGICAL = re.compile(r"^ *([TF]) *(/.*)?$")
_REFUSED = frozenset({"BSCALE", "BZERO", "BLANK", "GROUPS", "EXTNAME", "IMAGETYP", "XTENSION",
                      "CONTINUE", "HIERARCH", "PCOUNT", "GCOUNT", "ZIMAGE"})
_COMMENTARY = frozenset({"COMMENT", "HISTORY", ""})
_DTYPES = {-32: ">f4", -64: ">f8"}


@dataclass(frozen=True)
class SimpleCard:
    """One header card: keyword, parsed value (None for commentary) and 80-char image."""

    keyword: str
    value: Any
    image: str


@dataclass(frozen=True)
class SimpleFits:
    """Header cards, header text (``Header.tostring(sep="\\n")``) and big-endian pixels
    (NAXIS2, NAXIS1) of a one-image FITS file."""

    cards: list[SimpleCard]
    header_text: str
    data: np.ndarray


def read_simple_fits(raw: bytes) -> SimpleFits | None:
    """The primary image of ``raw`` (uncompressed FITS bytes) if the file is of the simplest
    kind this module reads; None for anything else."""
    cards: list[SimpleCard] = []
    offset = 0
    while True:
        if offset + BLOCK > len(raw):
            return None
        block = raw[offset:offset + BLOCK]
        offset += BLOCK
        try:
            text = block.decode("ascii")
        except UnicodeDecodeError:
            return None
        ended = False
        for start in range(0, BLOCK, CARD):
            image = text[start:start + CARD]
            if not image.isprintable():
                return None
            if ended:
                if image.strip():
                    return None
                continue
            if image.rstrip() == "END":
                ended = True
                continue
            card = _parse_card(image)
            if card is None:
                return None
            cards.append(card)
        if ended:
            break
    values = {c.keyword: c.value for c in reversed(cards)}
    head = [c.keyword for c in cards[:5]]
    if head != ["SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2"] or values["SIMPLE"] is not True \
            or values["NAXIS"] != 2 or _REFUSED & values.keys():
        return None
    if sum(c.keyword not in _COMMENTARY for c in cards) != len(values.keys() - _COMMENTARY):
        return None
    n1, n2, bitpix = values["NAXIS1"], values["NAXIS2"], values["BITPIX"]
    if bitpix not in _DTYPES or not all(type(n) is int and n > 0 for n in (n1, n2)):
        return None
    nbytes = n1 * n2 * abs(bitpix) // 8
    if len(raw) != offset + -(-nbytes // BLOCK) * BLOCK:
        return None
    data = np.frombuffer(raw, dtype=_DTYPES[bitpix], count=n1 * n2, offset=offset)
    header_text = "\n".join([*(c.image for c in cards), "END".ljust(CARD)])
    header_text += " " * (-len(header_text) % BLOCK)
    return SimpleFits(cards, header_text, data.reshape(n2, n1))


def _parse_card(image: str) -> SimpleCard | None:
    if not _KEYWORD.match(image[:8]):
        return None if image[:8].strip() else SimpleCard("", None, image)
    keyword = image[:8].rstrip()
    if keyword in ("COMMENT", "HISTORY"):
        return SimpleCard(keyword, None, image)
    if image[8:10] != "= ":
        return None
    field = image[10:]
    match = _STRING.match(field)
    if match:
        value = match.group(1).replace("''", "'").rstrip()
        return None if ":" in value else SimpleCard(keyword, value, image)
    match = _LOGICAL.match(field)
    if match:
        return SimpleCard(keyword, match.group(1) == "T", image)
    match = _NUMBER.match(field)
    if match:
        digits = match.group(1)
        try:
            number: int | float = int(digits)
        except ValueError:
            number = float(digits.replace("D", "E"))
        return SimpleCard(keyword, number, image)
    return None
