"""``galcat ingest labels``: vote tables and fit tables as rows of ``label``.

Styles (found from the column names, or forced with ``style``)
--------------------------------------------------------------
``gz2``
    Galaxy Zoo 2. Kaggle ``Class1.1 … Class11.6`` columns are stored as given
    (cumulative probabilities, Dieleman+2015). The GZ2 catalogue's per-question
    ``tNN_…_aNN_…_fraction`` columns (or ``_weighted_fraction`` / ``_debiased``,
    chosen by ``gz2_variant``) are converted to that cumulative form by
    multiplying each answer by its parent answer, so one label set has one meaning.
``candels``
    CANDELS visual-classification flag fractions, stored as ``f_spheroid f_disk
    f_irr f_ps f_unc`` (Kartaltepe+2015 / Huertas-Company+2015 spellings accepted).
``sersic``
    Single-Sérsic fits (GALFIT, van der Wel+2012): ``mag, r_eff_arcsec, sersic_n,
    axis_ratio, pa_deg`` and their ``*_err``; radii in pixels need ``re_unit="pixel"``
    and ``pixel_scale_arcsec``.
``columns``
    Every other numeric column, under its own name (e.g. a ring flag).

Rows are matched to objects: galaxies by survey id (``external_id``) or, failing
that, by position within 1″; images by file name, ``sha256`` or ``image_id``.
Rows that match nothing are counted and skipped; a bad value refuses the whole
file with its row and column named. Each file is one transaction; loading it
again replaces the labels it gave, never duplicates them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from astropy.table import Table
from sqlalchemy.orm import Session

from galcat.catalog.db import Database
from galcat.catalog.ingest.report import FileOutcome, IngestSummary, InputError
from galcat.catalog.ingest.tables import (
    DEC_NAMES,
    ID_NAMES,
    MAX_ERRORS_LISTED,
    RA_NAMES,
    InputErrors,
)
from galcat.catalog.schema import Galaxy, Image, Label, Survey
from galcat.catalog.sky import cone
from galcat.catalog.tableio import TableFormatError, read_table

STYLES = ("auto", "gz2", "candels", "sersic", "columns")
KINDS = ("galaxy", "image")
MATCH_ARCSEC = 1.0

GZ2_ANSWER_NUMBERS: dict[int, tuple[int, ...]] = {
    1: (1, 2, 3), 2: (4, 5), 3: (6, 7), 4: (8, 9), 5: (10, 11, 12, 13), 6: (14, 15),
    7: (16, 17, 18), 8: (19, 20, 21, 22, 23, 24, 38), 9: (25, 26, 27), 10: (28, 29, 30),
    11: (31, 32, 33, 34, 36, 37),
}
"""GZ2 catalogue answer numbers (``aNN``) of each question, in Kaggle answer order."""
GZ2_PARENTS: dict[int, str | None] = {
    1: None, 2: "Class1.2", 3: "Class2.2", 4: "Class2.2", 5: "Class2.2", 6: None,
    7: "Class1.1", 8: "Class6.1", 9: "Class2.1", 10: "Class4.1", 11: "Class4.1",
}
"""The answer leading to each question (the Kaggle tree of ``models.galaxy.gz2``)."""
GZ2_COLUMNS = tuple(f"Class{q}.{i + 1}" for q, answers in GZ2_ANSWER_NUMBERS.items()
                    for i in range(len(answers)))
GZ2_VARIANTS = ("debiased", "weighted_fraction", "fraction")

CANDELS_FLAGS = ("f_spheroid", "f_disk", "f_irr", "f_ps", "f_unc")
_CANDELS_SPELLINGS = {
    "f_spheroid": ("spheroid", "sph"), "f_disk": ("disk",),
    "f_irr": ("irr", "irregular", "peculiar"),
    "f_ps": ("ps", "point", "pointsource", "point_source", "compact"),
    "f_unc": ("unc", "unclass", "unclassifiable"),
}

SERSIC_NAMES: dict[str, tuple[str, ...]] = {
    "mag": ("mag", "mag_sersic", "sersic_mag", "mag_galfit"),
    "mag_err": ("mag_err", "dmag", "e_mag", "magerr", "mag_error", "err_mag"),
    "r_eff": ("r_eff_arcsec", "re_arcsec", "reff_arcsec", "r_eff", "re", "reff", "r_e",
              "re_pix", "r_eff_pix", "re_px"),
    "r_eff_err": ("r_eff_err", "dre", "e_re", "re_err", "reff_err", "r_e_err", "re_arcsec_err"),
    "sersic_n": ("sersic_n", "n_sersic", "nsersic", "n"),
    "sersic_n_err": ("sersic_n_err", "dn", "e_n", "n_err"),
    "axis_ratio": ("axis_ratio", "q", "ba", "b_a", "axrat", "ar"),
    "axis_ratio_err": ("axis_ratio_err", "dq", "e_q", "q_err", "dba", "ba_err"),
    "pa_deg": ("pa_deg", "pa", "theta", "posang"),
    "pa_err": ("pa_err", "dpa", "e_pa", "pa_deg_err"),
}
FILE_COLUMN_HINT = re.compile(r"file|path|loc|png|jpg|fits|image|img", re.I)
IAU_NAME = re.compile(
    r"^(?:[A-Z0-9]+\s*)?J(\d{2})(\d{2})(\d{2}(?:\.\d+)?)([+-])(\d{2})(\d{2})(\d{2}(?:\.\d+)?)$")

RowValues = dict[str, float]


@dataclass
class LabelOutcome(FileOutcome):
    """One label file: rows written, rows that matched no object, and the style read."""

    style: str = ""
    unmatched: int = 0


@dataclass(frozen=True)
class NormalisedLabels:
    """A table read as labels: the style, one values dict per row, and the columns used."""

    style: str
    values: list[RowValues]
    used: frozenset[str]


def gz2_parent(column: str) -> str | None:
    """The Kaggle column whose answer leads to ``column``'s question (None for roots)."""
    return GZ2_PARENTS[int(column[5:].split(".")[0])]


def ingest_labels(
    db: Database,
    paths: Sequence[str | Path],
    label_set: str,
    kind: str,
    *,
    style: str = "auto",
    id_col: str | None = None,
    survey: str | None = None,
    gz2_variant: str | None = None,
    re_unit: str | None = None,
    pixel_scale_arcsec: float | None = None,
) -> IngestSummary:
    """Load label tables into ``label_set`` for objects of ``kind``; one transaction per file."""
    if kind not in KINDS:
        raise ValueError(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if style not in STYLES:
        raise ValueError(f"--style must be one of {', '.join(STYLES)}, not {style!r}")
    if not label_set or len(label_set) > 64:
        raise ValueError("--set must be a name of 1 to 64 characters")
    summary = IngestSummary()
    for path in paths:
        outcome = LabelOutcome(path=str(path))
        summary.files.append(outcome)
        try:
            table = read_table(path)
            if len(table) == 0:
                raise InputError(path, "the table has no rows")
            labels = normalise(table, path, style, gz2_variant=gz2_variant, re_unit=re_unit,
                               pixel_scale_arcsec=pixel_scale_arcsec)
            outcome.style = labels.style
            with db.session() as session:
                if kind == "galaxy":
                    ids = match_galaxies(session, table, path, id_col, survey)
                else:
                    ids = match_images(session, table, path, id_col)
                rows = [(oid, v) for oid, v in zip(ids, labels.values, strict=True)
                        if oid is not None and v]
                if not rows:
                    raise InputError(path, f"none of the {len(table)} rows matched a {kind} in "
                                     "the catalog (ingest the objects first, or name the id "
                                     "column with --id)")
                write_labels(session, label_set, kind, rows, source=str(path))
            outcome.rows_loaded = len({oid for oid, _ in rows})
            outcome.rows_merged = len(rows) - outcome.rows_loaded
            outcome.unmatched = sum(oid is None for oid in ids)
        except InputErrors as exc:
            outcome.errors.extend(str(e) for e in exc.errors)
        except (InputError, TableFormatError) as exc:
            outcome.errors.append(str(exc))
        except Exception as exc:
            outcome.refused_by_database(path, exc)
    return summary


def write_labels(session: Session, label_set: str, kind: str,
                 rows: Sequence[tuple[int, RowValues]], source: str) -> None:
    """Replace the labels of these objects in ``label_set`` (the last row of an object wins)."""
    latest = dict(rows)
    ids = sorted(latest)
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        session.execute(sa.delete(Label).where(
            Label.label_set == label_set, Label.object_kind == kind, Label.object_id.in_(chunk)))
        session.execute(sa.insert(Label), [
            {"label_set": label_set, "object_kind": kind, "object_id": oid,
             "values": latest[oid], "source": source} for oid in chunk])


def normalise(table: Table, path: str | Path, style: str = "auto", *,
              gz2_variant: str | None = None, re_unit: str | None = None,
              pixel_scale_arcsec: float | None = None,
              skip: Sequence[str] = ()) -> NormalisedLabels:
    """Read ``table``'s label columns in ``style`` (``auto``: detect) as one dict per row."""
    lookup = {name.lower(): name for name in table.colnames}
    chosen = style if style != "auto" else detect_style(table)
    errors: list[InputError] = []
    if chosen == "gz2":
        values, used = _gz2(table, path, gz2_variant, errors)
    elif chosen == "candels":
        values, used = _candels(table, path, errors)
    elif chosen == "sersic":
        values, used = _sersic(table, path, lookup, re_unit, pixel_scale_arcsec, errors)
    else:
        values, used = _columns(table, path, skip)
    if errors:
        extra = len(errors) - MAX_ERRORS_LISTED
        listed = errors[:MAX_ERRORS_LISTED]
        if extra > 0:
            listed.append(InputError(path, f"... and {extra} more errors"))
        raise InputErrors(listed)
    return NormalisedLabels(chosen, values, frozenset(used))


def detect_style(table: Table) -> str:
    """The label style of ``table`` from its column names."""
    names = [n.lower() for n in table.colnames]
    if any(re.fullmatch(r"class\d+\.\d+", n) for n in names) or _t_columns(table.colnames):
        return "gz2"
    if len(_candels_columns(table.colnames)) >= 2:
        return "candels"
    found = {k for k, cands in SERSIC_NAMES.items() if any(c in names for c in cands)}
    if {"r_eff", "sersic_n"} <= found and found & {"mag", "axis_ratio"}:
        return "sersic"
    return "columns"


def _numeric(table: Table, name: str, path: str | Path,
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


def _check_fraction(values: np.ndarray, name: str, path: str | Path,
                    errors: list[InputError]) -> None:
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero((values < -1e-6) | (values > 1 + 1e-6))
    for i in bad:
        errors.append(InputError(path, f"vote fraction {values[i]:g} is outside [0, 1]",
                                 int(i) + 1, name))


def _t_columns(colnames: Sequence[str]) -> dict[str, dict[tuple[int, int], str]]:
    """GZ2 catalogue columns by variant, keyed by (question, answer position)."""
    by_answer = {a: (q, i) for q, answers in GZ2_ANSWER_NUMBERS.items()
                 for i, a in enumerate(answers)}
    out: dict[str, dict[tuple[int, int], str]] = {}
    for name in colnames:
        low = name.lower()
        variant = next((v for v in ("weighted_fraction", "debiased", "fraction")
                        if low.endswith("_" + v)), None)
        match = re.match(r"^t(\d\d)_.*_a(\d\d)_", low)
        if variant is None or match is None:
            continue
        question, answer = int(match[1]), int(match[2])
        if answer in by_answer and by_answer[answer][0] == question:
            out.setdefault(variant, {})[by_answer[answer]] = name
    return out


def _gz2(table: Table, path: str | Path, variant: str | None,
         errors: list[InputError]) -> tuple[list[RowValues], set[str]]:
    n = len(table)
    columns: dict[str, np.ndarray] = {}
    used: set[str] = set()
    kaggle = {n.lower(): n for n in table.colnames if re.fullmatch(r"class\d+\.\d+", n.lower())}
    if kaggle:
        known = {c.lower(): c for c in GZ2_COLUMNS}
        for low, name in kaggle.items():
            if low not in known:
                errors.append(InputError(path, "not a column of the GZ2 decision tree "
                                         "(Class1.1 … Class11.6)", None, name))
                continue
            columns[known[low]] = _numeric(table, name, path, errors)
            _check_fraction(columns[known[low]], name, path, errors)
            used.add(name)
    else:
        found = _t_columns(table.colnames)
        if variant is not None and variant not in found:
            raise InputError(path, f"no GZ2 columns ending in _{variant} (found: "
                             f"{', '.join(found) or 'none'})")
        chosen = variant or next((v for v in GZ2_VARIANTS if v in found), None)
        if chosen is None:
            raise InputError(path, "no GZ2 vote columns (Class1.1 … or t01_…_fraction)")
        fractions = {(q, i): _numeric(table, name, path, errors)
                     for (q, i), name in found[chosen].items()}
        for (q, i), name in found[chosen].items():
            _check_fraction(fractions[(q, i)], name, path, errors)
            used.add(name)
        for q in GZ2_ANSWER_NUMBERS:
            for i in range(len(GZ2_ANSWER_NUMBERS[q])):
                if (q, i) not in fractions:
                    continue
                parent = GZ2_PARENTS[q]
                scale = np.ones(n) if parent is None else columns.get(parent)
                if scale is None:
                    errors.append(InputError(path, f"question {q} needs its parent answer "
                                             f"{parent} to be converted to the cumulative "
                                             "form", None, found[chosen][(q, i)]))
                    continue
                columns[f"Class{q}.{i + 1}"] = fractions[(q, i)] * scale
    order = [c for c in GZ2_COLUMNS if c in columns]
    return _rows(n, {c: columns[c] for c in order}), used


def _candels_columns(colnames: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in colnames:
        word = re.sub(r"^f_?", "", name.lower()) if name.lower().startswith("f") else None
        if word is None:
            continue
        for flag, spellings in _CANDELS_SPELLINGS.items():
            if word in spellings and flag not in out:
                out[flag] = name
    return out


def _candels(table: Table, path: str | Path,
             errors: list[InputError]) -> tuple[list[RowValues], set[str]]:
    found = _candels_columns(table.colnames)
    if not found:
        raise InputError(path, "no CANDELS flag-fraction columns (f_spheroid, f_disk, f_irr, "
                         "f_ps, f_unc)")
    columns = {}
    for flag in CANDELS_FLAGS:
        if flag in found:
            columns[flag] = _numeric(table, found[flag], path, errors)
            _check_fraction(columns[flag], found[flag], path, errors)
    return _rows(len(table), columns), set(found.values())


def _sersic(table: Table, path: str | Path, lookup: dict[str, str], re_unit: str | None,
            pixel_scale: float | None,
            errors: list[InputError]) -> tuple[list[RowValues], set[str]]:
    found = {key: next((lookup[c] for c in cands if c in lookup), None)
             for key, cands in SERSIC_NAMES.items()}
    present = {k: v for k, v in found.items() if v is not None}
    if "r_eff" not in present or "sersic_n" not in present:
        raise InputError(path, "a Sérsic table needs an effective-radius column (re, r_eff, "
                         f"re_arcsec) and an index column (n, sersic_n); columns are "
                         f"{', '.join(table.colnames)}")
    cols = {k: _numeric(table, name, path, errors) for k, name in present.items()}
    scale = _radius_scale(table, present["r_eff"], path, re_unit, pixel_scale)
    cols["r_eff"] = cols["r_eff"] * scale
    if "r_eff_err" in cols:
        cols["r_eff_err"] = cols["r_eff_err"] * scale
    _positive(cols["r_eff"], present["r_eff"], "the effective radius", path, errors)
    _positive(cols["sersic_n"], present["sersic_n"], "the Sérsic index", path, errors)
    if "axis_ratio" in cols:
        with np.errstate(invalid="ignore"):
            for i in np.flatnonzero((cols["axis_ratio"] <= 0) | (cols["axis_ratio"] > 1)):
                errors.append(InputError(path, f"axis ratio {cols['axis_ratio'][i]:g} is "
                                         "outside (0, 1]", int(i) + 1, present["axis_ratio"]))
    if "pa_deg" in cols:
        cols["pa_deg"] = np.mod(cols["pa_deg"], 180.0)
    names = {"r_eff": "r_eff_arcsec", "r_eff_err": "r_eff_err"}
    return (_rows(len(table), {names.get(k, k): v for k, v in cols.items()}),
            set(present.values()))


def _radius_scale(table: Table, name: str, path: str | Path, re_unit: str | None,
                  pixel_scale: float | None) -> float:
    unit = str(getattr(table[name], "unit", "") or "").strip().lower()
    low = name.lower()
    if re_unit is None:
        if "arcsec" in low or unit in ("arcsec", "arcsecond", "arcseconds", '"'):
            re_unit = "arcsec"
        elif "pix" in low or low.endswith("_px") or unit in ("pix", "pixel", "pixels"):
            re_unit = "pixel"
        else:
            raise InputError(path, "cannot tell whether the radius is in arcsec or pixels; "
                             "give --re-unit arcsec or --re-unit pixel --pixel-scale S",
                             None, name)
    if re_unit == "arcsec":
        return 1.0
    if re_unit != "pixel":
        raise InputError(path, f"--re-unit must be arcsec or pixel, not {re_unit!r}")
    if pixel_scale is None or not pixel_scale > 0:
        raise InputError(path, "radii in pixels need --pixel-scale (arcsec/pixel)", None, name)
    return float(pixel_scale)


def _positive(values: np.ndarray, name: str, what: str, path: str | Path,
              errors: list[InputError]) -> None:
    with np.errstate(invalid="ignore"):
        for i in np.flatnonzero(values <= 0):
            errors.append(InputError(path, f"{what} {values[i]:g} is not positive", int(i) + 1,
                                     name))


def _columns(table: Table, path: str | Path,
             skip: Sequence[str]) -> tuple[list[RowValues], set[str]]:
    ignored = {s.lower() for s in skip} | set(RA_NAMES) | set(DEC_NAMES) | set(ID_NAMES)
    ignored |= {"galaxyid", "dr7objid", "image_id", "sha256", "iauname"}
    columns = {}
    for name in table.colnames:
        raw = np.asarray(table[name])
        if name.lower() in ignored or raw.dtype.kind not in "biuf" or raw.ndim != 1:
            continue
        columns[name] = _numeric(table, name, path, [])
    if not columns:
        raise InputError(path, "no numeric label columns besides ids and positions")
    return _rows(len(table), columns), set(columns)


def _rows(n: int, columns: dict[str, np.ndarray]) -> list[RowValues]:
    out: list[RowValues] = [{} for _ in range(n)]
    for name, values in columns.items():
        for i in np.flatnonzero(np.isfinite(values)):
            out[i][name] = float(values[i])
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


def _text(table: Table, name: str) -> list[str | None]:
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
        return _numeric(table, ra, path, []), _numeric(table, dec, path, [])
    for name in table.colnames:
        if np.asarray(table[name]).dtype.kind not in "SU":
            continue
        parsed = [parse_iau_name(t) if t else None for t in _text(table, name)]
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


def match_galaxies(session: Session, table: Table, path: str | Path, id_col: str | None,
                   survey: str | None) -> list[int | None]:
    """Galaxy id of each row (None: no match): by external id, else within 1″ of RA/Dec."""
    survey_row = None
    if survey is not None:
        survey_row = session.execute(sa.select(Survey.id).where(Survey.name == survey)
                                     ).scalar_one_or_none()
        if survey_row is None:
            raise InputError(path, f"no survey named {survey!r} in the catalog")
    name = id_column(table, id_col, path)
    out: list[int | None] = [None] * len(table)
    if name is not None:
        ids = _text(table, name)
        wanted = sorted({i for i in ids if i})
        found: dict[str, set[int]] = {}
        for start in range(0, len(wanted), 5000):
            query = sa.select(Galaxy.external_id, Galaxy.id).where(
                Galaxy.external_id.in_(wanted[start:start + 5000]))
            if survey_row is not None:
                query = query.where(Galaxy.survey_id == survey_row)
            for ext, gid in session.execute(query):
                found.setdefault(ext, set()).add(int(gid))
        errors = []
        for row, text in enumerate(ids):
            hits = found.get(text or "", set())
            if len(hits) > 1:
                errors.append(InputError(path, f"id {text!r} names galaxies in several surveys; "
                                         "give --survey", row + 1, name))
            elif hits:
                out[row] = next(iter(hits))
        if errors:
            raise InputErrors(errors[:MAX_ERRORS_LISTED])
    pos = positions(table, path)
    if pos is not None and any(o is None for o in out):
        for row in [i for i, o in enumerate(out) if o is None]:
            ra, dec = float(pos[0][row]), float(pos[1][row])
            if not (math.isfinite(ra) and math.isfinite(dec) and abs(dec) <= 90):
                continue
            near = cone(session, "galaxy", ra % 360.0, dec, MATCH_ARCSEC / 3600.0,
                        columns=["id", "survey_id"])
            near = [g for g in near if survey_row is None or g["survey_id"] == survey_row]
            if near:
                out[row] = int(near[0]["id"])
    return out


def match_images(session: Session, table: Table, path: str | Path,
                 id_col: str | None) -> list[int | None]:
    """Image id of each row: by ``image_id``, ``sha256`` or a column of file names."""
    lookup = {name.lower(): name for name in table.colnames}
    if id_col is None and "image_id" in lookup:
        id_col = lookup["image_id"]
    known = session.execute(sa.select(Image.id, Image.source_path, Image.sha256)).all()
    if id_col is not None and id_col.lower() in ("image_id", "id"):
        valid = {int(r.id) for r in known}
        ids = _text(table, lookup.get(id_col.lower(), id_col))
        return [int(i) if i and i.isdigit() and int(i) in valid else None for i in ids]
    by_key: dict[str, set[int]] = {}
    for r in known:
        by_key.setdefault(r.sha256.lower(), set()).add(int(r.id))
        for key in file_keys(r.source_path or ""):
            by_key.setdefault(key, set()).add(int(r.id))
    candidates = [lookup[id_col.lower()]] if id_col is not None and id_col.lower() in lookup \
        else [n for n in table.colnames if np.asarray(table[n]).dtype.kind in "SUO"
              or n.lower() in ("galaxyid", "objid", "id")]
    if id_col is not None and not candidates:
        raise InputError(path, f"no column {id_col!r}; columns are {', '.join(table.colnames)}")
    best: list[int | None] = [None] * len(table)
    best_hits = 0
    errors: list[InputError] = []
    for name in candidates:
        found: list[int | None] = []
        col_errors = []
        for row, text in enumerate(_text(table, name)):
            hits = set().union(*(by_key.get(k, set()) for k in file_keys(text or "")))
            if len(hits) > 1:
                col_errors.append(InputError(path, f"{text!r} matches images "
                                             f"{sorted(hits)}; use sha256 or image_id",
                                             row + 1, name))
            found.append(next(iter(hits)) if len(hits) == 1 else None)
        hits_here = sum(f is not None for f in found)
        if hits_here > best_hits:
            best, best_hits, errors = found, hits_here, col_errors
    if errors:
        raise InputErrors(errors[:MAX_ERRORS_LISTED])
    return best


IMAGE_SUFFIXES = (".fits.gz", ".fit.gz", ".fts.gz", ".fits.fz", ".fits", ".fit", ".fts",
                  ".png", ".jpg", ".jpeg", ".npy")


def file_stem(name: str) -> str:
    """A file name without its directory and image suffix (``a/b.fits.gz`` → ``b``)."""
    base = Path(name.replace("\\", "/")).name
    low = base.lower()
    for suffix in IMAGE_SUFFIXES:
        if low.endswith(suffix):
            return base[: -len(suffix)]
    return base


def file_keys(name: str) -> set[str]:
    """Lower-case keys a catalogue value may use for a file: its base name and its stem."""
    if not name:
        return set()
    base = Path(name.replace("\\", "/")).name.lower()
    return {base, file_stem(base).lower()} - {""}
