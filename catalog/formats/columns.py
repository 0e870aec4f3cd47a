"""How catalogue files name the columns galcat reads, and reading them by meaning.

Names are matched case-insensitively; the first candidate present wins.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from astropy.table import Table

from galcat.catalog.formats.errors import InputError

RA_NAMES = ("ra", "ra_deg", "radeg", "plug_ra", "_ra", "raj2000", "ra_icrs", "ra_obj", "qso_ra")
DEC_NAMES = (
    "dec", "dec_deg", "decdeg", "plug_dec", "_de", "_dec", "dej2000", "decj2000", "dec_icrs",
    "dec_obj", "qso_dec",
)
ID_NAMES = (
    "id", "objid", "obj_id", "object_id", "source_id", "galaxy_id", "targetid", "specobjid",
    "name", "qso",
)
OPTIONAL_NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "galaxy": {
        "z_spec": ("z_spec", "zspec", "z"),
        "z_phot": ("z_phot", "zphot", "photoz", "photo_z", "z_best"),
        "z_phot_err": ("z_phot_err", "zphot_err", "photoz_err", "photo_z_err", "z_phot_sigma"),
        "log_mstar": ("log_mstar", "logmstar", "log_mass", "logmass", "lmass", "log_m"),
        "mag_ab": ("mag_ab", "mag"),
    },
    "sightline": {
        "z_qso": ("z_qso", "zqso", "zem", "qso_zem", "z"),
        "plate": ("plate", "sdss_plate", "plateid"),
        "mjd": ("mjd", "sdss_mjd"),
        "fiber": ("fiber", "fiberid", "fiber_id", "sdss_fibid", "fibid"),
        "thing_id": ("thing_id",),
    },
}
INTEGER_COLUMNS = {"plate", "mjd", "fiber", "thing_id"}
IAU_NAME = re.compile(
    r"^(?:[A-Z0-9]+\s*)?J(\d{2})(\d{2})(\d{2}(?:\.\d+)?)([+-])(\d{2})(\d{2})(\d{2}(?:\.\d+)?)$")


def numeric(table: Table, name: str, path: str | Path,
             errors: list[InputError]) -> np.ndarray:
    """Column as float64 with NaN for masked or missing values."""
    col = table[name]
    mask = np.asarray(getattr(col, "mask", np.zeros(len(col), bool)), dtype=bool)
    raw = np.asarray(col)
    if raw.dtype.kind in "biuf":
        out = raw.astype(float)
    else:
        out = np.full(len(col), np.nan)
        for i, text in enumerate(raw):
            word = text.decode() if isinstance(text, bytes) else str(text)
            if mask[i] or word.strip().lower() in ("", "nan", "null", "none", "--", "na"):
                continue
            try:
                out[i] = float(word)
            except ValueError:
                errors.append(InputError(path, f"not a number: {word!r}", i + 1, name))
    out[mask] = np.nan
    return out


def id_column(table: Table, explicit: str | None, path: str | Path,
              extra: Sequence[str] = ()) -> str | None:
    """The table's object-id column: ``explicit`` or the first well-known name."""
    lookup = {name.lower(): name for name in table.colnames}
    if explicit is not None:
        if explicit.lower() not in lookup:
            raise InputError(path, f"no column {explicit!r} for the object id; columns are "
                             f"{', '.join(table.colnames)}")
        return lookup[explicit.lower()]
    for name in (*extra, "galaxyid", "dr7objid", "objid", *ID_NAMES, "iauname"):
        if name in lookup:
            return lookup[name]
    return None


def text_values(table: Table, name: str) -> list[str | None]:
    col = table[name]
    mask = np.asarray(getattr(col, "mask", np.zeros(len(col), bool)), dtype=bool)
    out: list[str | None] = []
    for value, masked in zip(np.asarray(col), mask, strict=True):
        if masked:
            out.append(None)
        elif isinstance(value, bytes):
            out.append(value.decode("ascii", errors="replace").strip())
        elif isinstance(value, float | np.floating) and float(value).is_integer():
            out.append(str(int(value)))
        else:
            out.append(str(value).strip())
    return out


def positions(table: Table, path: str | Path) -> tuple[np.ndarray, np.ndarray] | None:
    """RA, Dec (degrees) from RA/Dec columns, else from IAU ``Jhhmmss.s±ddmmss.s`` names."""
    lookup = {name.lower(): name for name in table.colnames}
    ra = next((lookup[c] for c in RA_NAMES if c in lookup), None)
    dec = next((lookup[c] for c in DEC_NAMES if c in lookup), None)
    if ra is not None and dec is not None:
        return numeric(table, ra, path, []), numeric(table, dec, path, [])
    for name in table.colnames:
        if np.asarray(table[name]).dtype.kind not in "SU":
            continue
        parsed = [parse_iau_name(t) if t else None for t in text_values(table, name)]
        if sum(p is not None for p in parsed) >= max(1, len(parsed) // 2):
            return (np.array([p[0] if p else np.nan for p in parsed]),
                    np.array([p[1] if p else np.nan for p in parsed]))
    return None


def parse_iau_name(name: str) -> tuple[float, float] | None:
    """(RA, Dec) in degrees of an IAU name ``[SURVEY ]Jhhmmss.ss±ddmmss.s`` (truncated, per IAU)."""
    m = IAU_NAME.match(name.strip())
    if m is None:
        return None
    ra = 15.0 * (int(m[1]) + int(m[2]) / 60.0 + float(m[3]) / 3600.0)
    dec = int(m[5]) + int(m[6]) / 60.0 + float(m[7]) / 3600.0
    if ra >= 360.0 or dec > 90.0:
        return None
    return ra, -dec if m[4] == "-" else dec


