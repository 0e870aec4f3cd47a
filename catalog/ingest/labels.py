"""``galcat ingest labels``: label tables (votes, fits) into rows of ``label``.

Tables are read by meaning with :func:`galcat.catalog.formats.labels.normalise` (GZ2,
CANDELS, Sérsic or plain columns). Rows are matched to objects: galaxies by survey id
(``external_id``) or, failing that, by position within 1″; images by file name,
``sha256`` or ``image_id``. Rows that match nothing are counted and skipped; a bad value
refuses the whole file with its row and column named. Each file is one transaction;
loading it again replaces the labels it gave, never duplicates them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from astropy.table import Table
from sqlalchemy.orm import Session

from galcat.catalog.db import Database
from galcat.catalog.formats.columns import id_column, positions, text_values
from galcat.catalog.formats.errors import InputError, InputErrors
from galcat.catalog.formats.image_groups import file_keys
from galcat.catalog.formats.labels import STYLES, RowValues, normalise
from galcat.catalog.formats.tables import TableFormatError, read_table
from galcat.catalog.ingest.report import FileOutcome, IngestSummary
from galcat.catalog.schema import Galaxy, Image, Label, Survey
from galcat.catalog.sky import cone

KINDS = ("galaxy", "image")
MATCH_ARCSEC = 1.0


@dataclass
class LabelOutcome(FileOutcome):
    """One label file: rows written, rows that matched no object, and the style read."""

    style: str = ""
    unmatched: int = 0


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
        ids = text_values(table, name)
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
            raise InputErrors.listing(path, errors)
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
        ids = text_values(table, lookup.get(id_col.lower(), id_col))
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
        for row, text in enumerate(text_values(table, name)):
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
        raise InputErrors.listing(path, errors)
    return best
