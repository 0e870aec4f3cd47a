"""``galcat ingest catalog``: galaxy and sightline tables in any astropy format."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pyarrow as pa
import sqlalchemy as sa
from astropy.coordinates import Angle
from astropy.table import Table
from numpy.typing import NDArray

from galcat.catalog.db import Database
from galcat.catalog.formats.columns import (
    DEC_NAMES,
    ID_NAMES,
    INTEGER_COLUMNS,
    OPTIONAL_NAMES,
    RA_NAMES,
    numeric,
)
from galcat.catalog.formats.errors import InputError, InputErrors
from galcat.catalog.formats.tables import TableFormatError, read_table
from galcat.catalog.ingest.load import load_rows
from galcat.catalog.ingest.report import FileOutcome, IngestSummary
from galcat.catalog.schema import Galaxy, Sightline
from galcat.catalog.sky import angular_distance_deg, healpix_29
from galcat.catalog.surveys import survey_id

KINDS = ("galaxy", "sightline")
SAME_OBJECT_ARCSEC = 1.0
SAME_OBJECT_DZ = 0.01

@dataclass(frozen=True)
class ColumnChoice:
    """Which input columns feed the catalog columns (names as in the file)."""

    ra: str
    dec: str
    id: str | None
    optional: dict[str, str]


def ingest_catalog(
    db: Database,
    paths: Sequence[str | Path],
    kind: str,
    survey: str | None = None,
    ra_col: str | None = None,
    dec_col: str | None = None,
    id_col: str | None = None,
    method: str = "auto",
) -> IngestSummary:
    """Load galaxy or sightline tables; each file is one transaction.

    Idempotent on (survey, external id): loading a file twice updates, never duplicates.
    ``survey`` defaults to the file name without suffixes. ``method`` is accepted for
    compatibility and ignored: new rows always go in by ``COPY`` on PostgreSQL.
    """
    if kind not in KINDS:
        raise ValueError(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}")
    summary = IngestSummary()
    for path in paths:
        outcome = FileOutcome(path=str(path))
        summary.files.append(outcome)
        try:
            rows, merged = _prepare(path, kind, ra_col, dec_col, id_col)
            with db.session() as session:
                sid = survey_id(session, survey or _stem(path))
                model = Galaxy if kind == "galaxy" else Sightline
                rows = rows.add_column(0, "survey_id", pa.array(
                    np.full(rows.num_rows, sid, dtype=np.int64)))
                load_rows(db, session, cast(sa.Table, model.__table__), rows,
                          key=("survey_id", "external_id"))
            outcome.rows_loaded = rows.num_rows
            outcome.rows_merged = merged
        except InputErrors as exc:
            outcome.errors.extend(str(e) for e in exc.errors)
        except (InputError, TableFormatError) as exc:
            outcome.errors.append(str(exc))
        except Exception as exc:
            outcome.refused_by_database(path, exc)
    return summary


def choose_columns(
    table: Table, path: str | Path, kind: str,
    ra_col: str | None, dec_col: str | None, id_col: str | None,
) -> ColumnChoice:
    """Match the catalog's columns to the file's, case-insensitively."""
    lookup = {name.lower(): name for name in table.colnames}

    def pick(explicit: str | None, candidates: Iterable[str], what: str) -> str | None:
        if explicit is not None:
            if explicit.lower() not in lookup:
                raise InputError(path, f"no column {explicit!r} for {what}; columns are "
                                 f"{', '.join(table.colnames)}")
            return lookup[explicit.lower()]
        return next((lookup[c] for c in candidates if c in lookup), None)

    ra = pick(ra_col, RA_NAMES, "RA")
    dec = pick(dec_col, DEC_NAMES, "Dec")
    if ra is None or dec is None:
        raise InputError(path, "cannot find the RA/Dec columns; name them with --ra and --dec "
                         f"(columns are {', '.join(table.colnames)})")
    optional = {}
    for target, names in OPTIONAL_NAMES[kind].items():
        found = pick(None, names, target)
        if found is not None and found not in (ra, dec):
            optional[target] = found
    ident = pick(id_col, ("thing_id",) if kind == "sightline" else (), "the object id")
    if ident is None and not {"plate", "fiber"} <= optional.keys():
        ident = pick(None, ID_NAMES, "the object id")
    if ident is None and kind == "galaxy":
        raise InputError(path, "cannot find an object id column; name it with --id "
                         f"(columns are {', '.join(table.colnames)})")
    return ColumnChoice(ra=ra, dec=dec, id=ident, optional=optional)


def _prepare(
    path: str | Path, kind: str, ra_col: str | None, dec_col: str | None, id_col: str | None
) -> tuple[pa.Table, int]:
    """The file's rows as the catalogue's columns (duplicates collapsed), and how many
    duplicate rows were merged."""
    table = read_table(path)
    if len(table) == 0:
        raise InputError(path, "the table has no rows")
    choice = choose_columns(table, path, kind, ra_col, dec_col, id_col)
    errors: list[InputError] = []
    ra = _angles(table, choice.ra, path, errors, hours_if_text=True)
    dec = _angles(table, choice.dec, path, errors, hours_if_text=False)
    _check_positions(ra, dec, choice, path, errors)
    values = {k: _column(table, c, k in INTEGER_COLUMNS, path, errors)
              for k, c in choice.optional.items()}
    ids = _external_ids(table, choice, values, path, errors)
    if errors:
        raise InputErrors.listing(path, errors)
    keep, merged = _collapse_duplicates(ids, ra, dec, values, path)
    ra = np.mod(ra[keep], 360.0)
    dec = dec[keep]
    columns = {"external_id": pa.array(ids[keep], type=pa.string()),
               "ra_deg": pa.array(ra), "dec_deg": pa.array(dec),
               "healpix_29": pa.array(healpix_29(ra, dec))}
    columns |= {k: v.take(pa.array(keep)) for k, v in values.items()}
    return pa.table(columns), merged


def _angles(
    table: Table, name: str, path: str | Path, errors: list[InputError], hours_if_text: bool
) -> NDArray[np.float64]:
    col = table[name]
    mask = np.asarray(getattr(col, "mask", np.zeros(len(col), bool)), dtype=bool)
    if col.dtype.kind in "SU":
        text = np.char.strip(np.asarray(col, dtype=str))
        out = np.full(len(col), np.nan)
        sexagesimal = np.char.find(text, ":") >= 0
        if sexagesimal.any():
            unit = "hourangle" if hours_if_text else "deg"
            for i in np.flatnonzero(sexagesimal & ~mask):
                try:
                    out[i] = Angle(text[i], unit=unit).degree
                except Exception:
                    errors.append(
                        InputError(path, f"cannot parse angle {text[i]!r}", int(i) + 1, name))
        plain = ~sexagesimal & ~mask
        for i in np.flatnonzero(plain):
            try:
                out[i] = float(text[i])
            except ValueError:
                errors.append(InputError(path, f"not a number: {text[i]!r}", int(i) + 1, name))
        return out
    if col.dtype.kind not in "iuf":
        raise InputError(path, f"column holds {col.dtype}, not angles", None, name)
    values = np.asarray(col, dtype=np.float64).copy()
    unit = str(getattr(col, "unit", "") or "").strip().lower()
    if unit in ("rad", "radian", "radians"):
        values = np.degrees(values)
    values[mask] = np.nan
    return values


def _check_positions(
    ra: NDArray[np.float64], dec: NDArray[np.float64], choice: ColumnChoice,
    path: str | Path, errors: list[InputError],
) -> None:
    for i in np.flatnonzero(~np.isfinite(ra)):
        errors.append(InputError(path, "RA is missing or not a number", int(i) + 1, choice.ra))
    for i in np.flatnonzero(~np.isfinite(dec)):
        errors.append(InputError(path, "Dec is missing or not a number", int(i) + 1, choice.dec))
    with np.errstate(invalid="ignore"):
        for i in np.flatnonzero(np.abs(dec) > 90):
            errors.append(InputError(
                path, f"Dec {dec[i]:g} is outside [-90, 90] degrees", int(i) + 1, choice.dec))


def _column(table: Table, name: str, integer: bool, path: str | Path,
            errors: list[InputError]) -> pa.Array:
    """An optional column as int64 (``integer``) or float64; masked, non-finite and
    blank values are null."""
    col = table[name]
    raw = np.asarray(col)
    missing = np.asarray(getattr(col, "mask", np.zeros(len(col), bool)), dtype=bool).copy()
    if integer and raw.dtype.kind in "iub":
        return pa.array(raw.astype(np.int64), mask=missing)
    floats = raw.astype(np.float64) if raw.dtype.kind in "iubf" else \
        numeric(table, name, path, errors)
    missing |= ~np.isfinite(floats)
    if integer:
        with np.errstate(invalid="ignore"):
            bad = ~missing & ((floats != np.round(floats)) | (np.abs(floats) >= 2.0**63))
        for i in np.flatnonzero(bad):
            errors.append(InputError(path, f"not an integer: {floats[i]:g}", int(i) + 1, name))
        return pa.array(np.where(missing | bad, 0, floats).astype(np.int64), mask=missing)
    return pa.array(floats, mask=missing)


def _external_ids(
    table: Table, choice: ColumnChoice, values: dict[str, pa.Array],
    path: str | Path, errors: list[InputError],
) -> NDArray[np.str_]:
    if choice.id is None:
        keys = [k for k in ("plate", "mjd", "fiber") if k in values]
        ids = np.array(["-".join(str(p) for p in parts)
                        for parts in zip(*(values[k].to_pylist() for k in keys), strict=True)])
        for i in np.flatnonzero(np.char.find(ids, "None") >= 0):
            errors.append(InputError(path, f"{'/'.join(keys)} is missing", int(i) + 1))
        return ids
    col = table[choice.id]
    raw = np.asarray(col)
    if raw.dtype.kind == "S":
        raw = np.char.decode(raw, "ascii", errors="replace")
    ids = np.char.strip(raw.astype(str))
    mask = np.asarray(getattr(col, "mask", np.zeros(len(col), bool)), dtype=bool)
    for i in np.flatnonzero(mask | (ids == "")):
        errors.append(InputError(path, "the object id is missing", int(i) + 1, choice.id))
    too_long = np.char.str_len(ids) > 64
    for i in np.flatnonzero(too_long):
        errors.append(InputError(path, "the object id is longer than 64 characters", int(i) + 1,
                                 choice.id))
    return ids


def _collapse_duplicates(
    ids: NDArray[np.str_], ra: NDArray[np.float64], dec: NDArray[np.float64],
    values: dict[str, pa.Array], path: str | Path,
) -> tuple[NDArray[np.intp], int]:
    """Rows sharing an id are one object listed twice if they agree on position (< 1″)
    and redshift (|Δz| ≤ 0.01, catalogues round z differently); otherwise the file is
    refused, naming both rows."""
    _, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    if len(first) == len(ids):
        return np.arange(len(ids)), 0
    z_key = next((k for k in ("z_qso", "z_spec") if k in values), None)
    owner = first[inverse]
    dupes = np.flatnonzero(owner != np.arange(len(ids)))
    sep_arcsec = angular_distance_deg(ra[owner[dupes]], dec[owner[dupes]],
                                      ra[dupes], dec[dupes]) * 3600.0
    errors = []
    for row, sep in zip(dupes.tolist(), sep_arcsec.tolist(), strict=True):
        other = int(owner[row])
        same_z = z_key is None or _same(values[z_key][row].as_py(),
                                        values[z_key][other].as_py())
        if sep > SAME_OBJECT_ARCSEC or not same_z:
            errors.append(InputError(
                path, f"id {str(ids[row])!r} repeats row {other + 1} with a different position "
                f"({sep:.2f}″ apart) or redshift", row + 1))
    if errors:
        raise InputErrors.listing(path, errors)
    return np.sort(first), len(dupes)


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(float(a), float(b), abs_tol=SAME_OBJECT_DZ)


def _stem(path: str | Path) -> str:
    name = Path(path).name
    return name.split(".")[0]
