"""Label tables read by meaning: vote tables and fit tables as one values dict per row.

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

A bad value is reported with its file, row and column; :func:`normalise` raises them
all at once (:class:`~galcat.catalog.formats.errors.InputErrors`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.table import Table

from galcat.catalog.formats.columns import DEC_NAMES, ID_NAMES, RA_NAMES, numeric
from galcat.catalog.formats.errors import InputError, InputErrors
from galcat.vocabulary import (
    CANDELS_FLAGS,
    CANDELS_SPELLINGS,
    GZ2_TREE,
    GZ2_VARIANTS,
)

STYLES = ("auto", "gz2", "candels", "sersic", "columns")
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
RowValues = dict[str, float]


@dataclass(frozen=True)
class NormalisedLabels:
    """A table read as labels: the style, one values dict per row, and the columns used."""

    style: str
    values: list[RowValues]
    used: frozenset[str]


def gz2_parent(column: str) -> str | None:
    """The Kaggle column whose answer leads to ``column``'s question (None for roots)."""
    return GZ2_TREE.question(int(column[5:].split(".")[0])).parent


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
        raise InputErrors.listing(path, errors)
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


def _check_fraction(values: np.ndarray, name: str, path: str | Path,
                    errors: list[InputError]) -> None:
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero((values < -1e-6) | (values > 1 + 1e-6))
    for i in bad:
        errors.append(InputError(path, f"vote fraction {values[i]:g} is outside [0, 1]",
                                 int(i) + 1, name))


def _t_columns(colnames: Sequence[str]) -> dict[str, dict[tuple[int, int], str]]:
    """GZ2 catalogue columns by variant, keyed by (question, answer position)."""
    by_answer = {a: (q.number, i) for q in GZ2_TREE.questions
                 for i, a in enumerate(q.catalogue_answers)}
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
        known = {c.lower(): c for c in GZ2_TREE.columns}
        for low, name in kaggle.items():
            if low not in known:
                errors.append(InputError(path, "not a column of the GZ2 decision tree "
                                         "(Class1.1 … Class11.6)", None, name))
                continue
            columns[known[low]] = numeric(table, name, path, errors)
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
        fractions = {(q, i): numeric(table, name, path, errors)
                     for (q, i), name in found[chosen].items()}
        for (q, i), name in found[chosen].items():
            _check_fraction(fractions[(q, i)], name, path, errors)
            used.add(name)
        for question in GZ2_TREE.questions:
            q = question.number
            for i in range(len(question.answers)):
                if (q, i) not in fractions:
                    continue
                parent = question.parent
                scale = np.ones(n) if parent is None else columns.get(parent)
                if scale is None:
                    errors.append(InputError(path, f"question {q} needs its parent answer "
                                             f"{parent} to be converted to the cumulative "
                                             "form", None, found[chosen][(q, i)]))
                    continue
                columns[f"Class{q}.{i + 1}"] = fractions[(q, i)] * scale
    order = [c for c in GZ2_TREE.columns if c in columns]
    return _rows(n, {c: columns[c] for c in order}), used


def _candels_columns(colnames: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in colnames:
        word = re.sub(r"^f_?", "", name.lower()) if name.lower().startswith("f") else None
        if word is None:
            continue
        for flag, spellings in CANDELS_SPELLINGS.items():
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
            columns[flag] = numeric(table, found[flag], path, errors)
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
    cols = {k: numeric(table, name, path, errors) for k, name in present.items()}
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
        columns[name] = numeric(table, name, path, [])
    if not columns:
        raise InputError(path, "no numeric label columns besides ids and positions")
    return _rows(len(table), columns), set(columns)


def _rows(n: int, columns: dict[str, np.ndarray]) -> list[RowValues]:
    out: list[RowValues] = [{} for _ in range(n)]
    for name, values in columns.items():
        for i in np.flatnonzero(np.isfinite(values)):
            out[i][name] = float(values[i])
    return out
