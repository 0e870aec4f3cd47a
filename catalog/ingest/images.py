"""``galcat ingest images``: galaxy cutouts into ``image`` and ``image_pixels`` rows.

Files are read by :mod:`galcat.catalog.formats.images` (FITS with WCS, noise HDUs,
zero point and PSF from the header; multi-band cutouts as channels; PNG/JPEG; .npy)
and grouped with their noise maps, PSFs and masks by
:mod:`galcat.catalog.formats.image_groups`. Images are written a batch per transaction
(an image with its companions is never split); they are de-duplicated by the sha256 of
the science file's bytes, read once.

With ``catalogue``, each image is joined to the catalogue row that names its file
(by base name or stem, in any id or path column) or, failing that, lies within
1.5″ of its WCS centre. The row's galaxy is created or updated (position from
RA/Dec columns or an IAU ``Jhhmmss.ss±ddmmss.s`` name) and its numeric columns
become labels of that galaxy in ``label_set``. Without a catalogue, an image with
a WCS is linked to an existing galaxy within 1″ of its centre.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import sqlalchemy as sa
from astropy.table import Table
from sqlalchemy.orm import Session

from galcat.catalog.db import Database
from galcat.catalog.formats.columns import DEC_NAMES, RA_NAMES, id_column, positions
from galcat.catalog.formats.errors import InputError, InputErrors
from galcat.catalog.formats.image_groups import file_keys, file_stem, group_files, read_group
from galcat.catalog.formats.images import ImageFormatError, ImageRecord, read_image_bytes
from galcat.catalog.formats.labels import NormalisedLabels, normalise
from galcat.catalog.formats.registry import find_files
from galcat.catalog.formats.tables import read_table
from galcat.catalog.ingest.labels import write_labels
from galcat.catalog.ingest.report import FileOutcome, IngestSummary
from galcat.catalog.pixels import image_pixels_row
from galcat.catalog.schema import Galaxy, Image, ImagePixels
from galcat.catalog.schema.base import utcnow
from galcat.catalog.sky import angular_distance_deg, cone_ranges, healpix_29
from galcat.catalog.surveys import survey_id

BATCH_IMAGES = 100
CATALOGUE_MATCH_ARCSEC = 1.5
GALAXY_MATCH_ARCSEC = 1.0
ID_HINT = re.compile(r"id|name|file|path|loc|iau", re.I)


@dataclass
class ImageIngestSummary(IngestSummary):
    """Outcomes per science file, plus companions attached and catalogue joins."""

    attached: dict[str, str] = field(default_factory=dict)
    linked: int = 0
    unmatched: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Catalogue:
    """A catalogue table prepared for joining images to its rows."""

    path: str
    table: Table
    by_key: dict[str, set[int]]
    ra: np.ndarray | None
    dec: np.ndarray | None
    external_ids: list[str | None]
    labels: NormalisedLabels
    survey: str
    label_set: str
    sha256: str = ""

    def row_for(self, source: Path, centre: tuple[float, float] | None) -> int | None:
        """The row naming ``source``, else the nearest within 1.5″ of ``centre``."""
        rows = set().union(*(self.by_key.get(k, set()) for k in file_keys(str(source))))
        if len(rows) > 1:
            raise InputError(source, f"the catalogue {self.path} names this file in rows "
                             f"{', '.join(str(r + 1) for r in sorted(rows))}")
        if rows:
            return next(iter(rows))
        if centre is None or self.ra is None or self.dec is None:
            return None
        with np.errstate(invalid="ignore"):
            sep = angular_distance_deg(centre[0], centre[1], self.ra, self.dec) * 3600.0
        sep = np.where(np.isfinite(sep), sep, np.inf)
        best = int(np.argmin(sep))
        return best if sep[best] <= CATALOGUE_MATCH_ARCSEC else None


def ingest_images(
    db: Database,
    paths: Sequence[str | Path],
    survey: str | None = None,
    catalogue: str | Path | None = None,
    label_set: str | None = None,
    hdu: int | str | None = None,
    batch_size: int = BATCH_IMAGES,
) -> ImageIngestSummary:
    """Load galaxy images (and their companions), ``batch_size`` images per transaction;
    when the database refuses a batch, each image of it is written on its own, so an
    image is always all in or all out.

    Raises ``InputError``, ``InputErrors`` or ``galcat.catalog.formats.tables.TableFormatError``
    for a catalogue that cannot be used (nothing is loaded then).
    """
    cat = load_catalogue(catalogue, survey, label_set) if catalogue is not None else None
    groups, attached = group_files(find_files("image", paths))
    summary = ImageIngestSummary(attached={str(k): str(v) for k, v in attached.items()})
    for start in range(0, len(groups), batch_size):
        _ingest_batch(db, groups[start:start + batch_size], survey, cat, hdu, summary)
    return summary


Parsed = tuple[FileOutcome, Any, ImageRecord, "np.ndarray | None", dict[str, Any]]


def _ingest_batch(db: Database, groups: Sequence[Any], survey: str | None,
                  cat: Catalogue | None, hdu: int | str | None,
                  summary: ImageIngestSummary) -> None:
    """Read each science file once; skip those unchanged; write the rest in one
    transaction, or each in its own when the database refuses the batch."""
    outcomes = [FileOutcome(path=str(group.science)) for group in groups]
    summary.files.extend(outcomes)
    contents: dict[int, tuple[bytes, str]] = {}
    for i, group in enumerate(groups):
        try:
            contents[i] = read_image_bytes(group.science)
        except ImageFormatError as exc:
            outcomes[i].errors.append(str(exc))
    unchanged = _unchanged(db, {digest for _, digest in contents.values()}, cat)
    parsed: list[Parsed] = []
    for i, content in contents.items():
        if content[1] in unchanged:
            outcomes[i].rows_merged = 1
            continue
        try:
            parsed.append((outcomes[i], groups[i], *read_group(groups[i], hdu, content)))
        except InputErrors as exc:
            outcomes[i].errors.extend(str(e) for e in exc.errors)
        except (InputError, ImageFormatError) as exc:
            outcomes[i].errors.append(str(exc))
    if not parsed:
        return
    stored: list[tuple[bool, bool, bool] | None]
    try:
        with db.session() as session:
            stored = list(_store_batch(db, session, [p[2:] for p in parsed], survey, cat))
    except Exception:
        stored = []
        for outcome, group, record, psf, extra in parsed:
            try:
                with db.session() as session:
                    stored.extend(_store_batch(db, session, [(record, psf, extra)], survey, cat))
            except InputErrors as exc:
                outcome.errors.extend(str(e) for e in exc.errors)
                stored.append(None)
            except InputError as exc:
                outcome.errors.append(str(exc))
                stored.append(None)
            except Exception as exc:
                outcome.refused_by_database(group.science, exc)
                stored.append(None)
    for (outcome, group, *_), result in zip(parsed, stored, strict=True):
        if result is None:
            continue
        new, linked, matched = result
        outcome.rows_loaded, outcome.rows_merged = (1, 0) if new else (0, 1)
        summary.linked += int(linked)
        if cat is not None and not matched:
            summary.unmatched.append(str(group.science))


def _unchanged(db: Database, digests: set[str], cat: Catalogue | None) -> set[str]:
    """Of these file digests, those in the catalogue already, linked to their galaxy, and
    joined to the same catalogue file (by content) as now: nothing to re-read."""
    if not digests:
        return set()
    with db.new_session() as session:
        rows = session.execute(sa.select(Image.sha256, Image.galaxy_id, Image.extra).where(
            Image.sha256.in_(sorted(digests)))).all()
    return {row.sha256 for row in rows if row.galaxy_id is not None and (
        cat is None or (row.extra or {}).get("catalogue_sha256") == cat.sha256)}


def load_catalogue(path: str | Path, survey: str | None, label_set: str | None) -> Catalogue:
    """Read a catalogue for joining: file keys per row, positions, ids and labels."""
    table = read_table(path)
    if len(table) == 0:
        raise InputError(path, "the catalogue has no rows")
    key_columns = [n for n in table.colnames if np.asarray(table[n]).dtype.kind in "SUO"
                   or (np.asarray(table[n]).dtype.kind in "iu" and ID_HINT.search(n))]
    by_key: dict[str, set[int]] = {}
    for name in key_columns:
        for row, value in enumerate(_strings(table, name)):
            for key in file_keys(value or ""):
                by_key.setdefault(key, set()).add(row)
    pos = positions(table, path)
    ident = id_column(table, None, path)
    ids: list[str | None] = _strings(table, ident) if ident is not None else [None] * len(table)
    lookup = {n.lower(): n for n in table.colnames}
    skip = [*key_columns, *(lookup[c] for c in (*RA_NAMES, *DEC_NAMES) if c in lookup)]
    labels = normalise(table, path, skip=skip) if _has_numeric(table, skip) else \
        NormalisedLabels("columns", [{} for _ in range(len(table))], frozenset())
    name = label_set or Path(path).name.split(".")[0]
    if len(name) > 64:
        raise InputError(path, "label set name longer than 64 characters; give --label-set")
    return Catalogue(str(path), table, by_key, None if pos is None else pos[0],
                     None if pos is None else pos[1], ids, labels,
                     survey or Path(path).name.split(".")[0], name,
                     hashlib.sha256(Path(path).read_bytes()).hexdigest())


def _has_numeric(table: Table, skip: Sequence[str]) -> bool:
    return any(np.asarray(table[n]).dtype.kind in "biuf" for n in table.colnames
               if n not in skip)


def _strings(table: Table, name: str) -> list[str | None]:
    col = table[name]
    mask = np.asarray(getattr(col, "mask", np.zeros(len(col), bool)), dtype=bool)
    out: list[str | None] = []
    for value, masked in zip(np.asarray(col), mask, strict=True):
        text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
        out.append(None if masked else text.strip())
    return out


def _store_batch(db: Database, session: Session,
                 items: Sequence[tuple[ImageRecord, np.ndarray | None, dict[str, Any]]],
                 survey: str | None, cat: Catalogue | None) -> list[tuple[bool, bool, bool]]:
    """Write these images in ``session`` with one statement per table where it can; return
    (new image?, linked to a galaxy?, matched a catalogue row?) for each, in order.

    The same rows result as writing the images one after the other: a later copy of a
    file (same sha256) updates the row of the first; the last catalogue row of a galaxy
    gives its position and labels; surveys are created in the order they are first needed.
    """
    survey_ids: dict[tuple[str, str], int] = {}

    def sid_of(name: str, kind: str, **fields: Any) -> int:
        if (name, kind) not in survey_ids:
            survey_ids[(name, kind)] = survey_id(session, name, kind=kind, **fields)
        return survey_ids[(name, kind)]

    digests = sorted({record.sha256 for record, _, _ in items})
    existing = {row.sha256: row for row in session.execute(
        sa.select(Image.id, Image.sha256, Image.galaxy_id, Image.extra).where(
            Image.sha256.in_(digests))).all()} if digests else {}
    galaxies: dict[tuple[int, str], dict[str, Any]] = {}
    labels: dict[tuple[int, str], Any] = {}
    plans: list[dict[str, Any]] = []
    for record, psf, extra in items:
        centre = (extra["centre_ra_deg"], extra["centre_dec_deg"]) \
            if "centre_ra_deg" in extra else None
        plan: dict[str, Any] = {"record": record, "psf": psf, "extra": extra,
                                "galaxy": None, "galaxy_id": None, "matched": False}
        if cat is not None:
            row = cat.row_for(Path(record.source_path), centre)
            if row is not None:
                key, values = _catalogue_galaxy_row(cat, row, Path(record.source_path),
                                                    sid_of(cat.survey, "catalog"))
                galaxies.pop(key, None)
                galaxies[key] = values
                if cat.labels.values[row]:
                    labels.pop(key, None)
                    labels[key] = cat.labels.values[row]
                plan["galaxy"], plan["matched"] = key, True
                extra["catalogue"], extra["catalogue_row"] = cat.path, row + 1
                extra["catalogue_sha256"] = cat.sha256
        if plan["galaxy"] is None and centre is not None:
            plan["centre"] = centre
        if record.sha256 not in existing:
            plan["sid"] = None if survey is None else sid_of(
                survey, "imaging", pixel_scale_arcsec=record.pixel_scale_arcsec,
                zero_point_mag=record.zero_point, psf_fwhm_arcsec=record.psf_fwhm_arcsec,
                band=",".join(record.bands)[:32] or None)
        plans.append(plan)
    lonely = [plan for plan in plans if "centre" in plan]
    for plan, gid in zip(lonely, _nearest_galaxies(session, [p["centre"] for p in lonely]),
                         strict=True):
        plan["galaxy_id"] = gid
    galaxy_ids: dict[tuple[int, str], int] = {}
    if galaxies:
        rows = list(galaxies.values())
        cells = healpix_29(np.array([r["ra_deg"] for r in rows]),
                           np.array([r["dec_deg"] for r in rows]))
        for r, cell in zip(rows, cells, strict=True):
            r["healpix_29"] = int(cell)
        db.upsert(session, cast(sa.Table, Galaxy.__table__), rows,
                  key=("survey_id", "external_id"))
        for sid in {k[0] for k in galaxies}:
            names = sorted(ext for s, ext in galaxies if s == sid)
            galaxy_ids.update(((sid, ext), int(gid)) for ext, gid in session.execute(
                sa.select(Galaxy.external_id, Galaxy.id).where(
                    Galaxy.survey_id == sid, Galaxy.external_id.in_(names))))
        if labels and cat is not None:
            write_labels(session, cat.label_set, "galaxy",
                         [(galaxy_ids[k], v) for k, v in labels.items()], source=cat.path)
    return _write_images(session, plans, existing, galaxy_ids)


def _nearest_galaxies(session: Session, centres: Sequence[tuple[float, float]],
                      chunk: int = 25) -> list[int | None]:
    """Id of the nearest galaxy within 1″ of each (RA, Dec) in degrees (None where there is
    none), as ``cone`` finds it, with one query per ``chunk`` centres (its HEALPix ranges
    are integers written into the SQL text: building them as SQLAlchemy clauses cost more
    than the query)."""
    out: list[int | None] = [None] * len(centres)
    radius = GALAXY_MATCH_ARCSEC / 3600.0
    for start in range(0, len(centres), chunk):
        part = centres[start:start + chunk]
        ranges = [cone_ranges(ra, dec, radius) for ra, dec in part]
        cells_sql = " OR ".join(f"healpix_29 BETWEEN {int(lo)} AND {int(hi) - 1}"
                                for own in ranges for lo, hi in own)
        rows = session.execute(sa.text(
            f"SELECT id, ra_deg, dec_deg, healpix_29 FROM galaxy WHERE {cells_sql}")).all()
        if not rows:
            continue
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        ra = np.array([r[1] for r in rows], dtype=np.float64)
        dec = np.array([r[2] for r in rows], dtype=np.float64)
        cells = np.array([r[3] for r in rows], dtype=np.int64)
        for k, (c_ra, c_dec) in enumerate(part):
            inside = np.zeros(len(rows), dtype=bool)
            for lo, hi in ranges[k]:
                inside |= (cells >= lo) & (cells < hi)
            dist = angular_distance_deg(c_ra, c_dec, ra, dec)
            keep = np.flatnonzero(inside & (dist <= radius))
            if keep.size:
                out[start + k] = int(ids[keep[np.argmin(dist[keep])]])
    return out


def _write_images(session: Session, plans: list[dict[str, Any]], existing: dict[str, Any],
                  galaxy_ids: dict[tuple[int, str], int]) -> list[tuple[bool, bool, bool]]:
    """Insert the new images and their pixels, update the known ones; outcomes in order."""
    out: list[tuple[bool, bool, bool]] = []
    new: dict[str, dict[str, Any]] = {}
    updates: dict[int, dict[str, Any]] = {}
    keys = ("catalogue", "catalogue_row", "catalogue_sha256")
    for plan in plans:
        record, extra, matched = plan["record"], plan["extra"], plan["matched"]
        galaxy_id = galaxy_ids[plan["galaxy"]] if plan["galaxy"] is not None \
            else plan["galaxy_id"]
        known = existing.get(record.sha256)
        if known is not None or record.sha256 in new:
            if known is None:
                row = new[record.sha256]
            else:
                row = updates.setdefault(known.id, {
                    "galaxy_id": known.galaxy_id, "extra": known.extra, "changed": False})
            if galaxy_id is not None and row["galaxy_id"] is None:
                row["galaxy_id"], row["changed"] = galaxy_id, True
            if matched:
                row["extra"] = {**(row["extra"] or {}), **{k: extra[k] for k in keys}}
                row["changed"] = True
            out.append((False, galaxy_id is not None, matched))
            continue
        pixels = record.pixels
        new[record.sha256] = {
            "survey_id": plan["sid"], "galaxy_id": galaxy_id,
            "source_path": str(Path(record.source_path).resolve()),
            "sha256": record.sha256, "height": int(pixels.shape[0]),
            "width": int(pixels.shape[1]),
            "channels": 1 if pixels.ndim == 2 else int(pixels.shape[2]), "dtype": "float32",
            "bands": ",".join(record.bands)[:64] or None,
            "pixel_scale_arcsec": record.pixel_scale_arcsec,
            "zero_point_mag": record.zero_point, "psf_fwhm_arcsec": record.psf_fwhm_arcsec,
            "sky_sigma": record.sky_sigma, "wcs_header": record.wcs_header or None,
            "extra": extra, "created_at": utcnow(), "changed": True,
            "pixels": (pixels, record.rms, plan["psf"])}
        out.append((True, galaxy_id is not None, matched))
    for image_id, row in updates.items():
        if row["changed"]:
            session.execute(sa.update(Image).where(Image.id == image_id).values(
                galaxy_id=row["galaxy_id"], extra=row["extra"]))
    if new:
        rows = list(new.values())
        ids = session.execute(
            sa.insert(Image).returning(Image.id, sort_by_parameter_order=True),
            [{k: v for k, v in row.items() if k not in ("changed", "pixels")} for row in rows],
        ).scalars().all()
        blobs = [image_pixels_row(int(i), *row["pixels"]) for i, row in zip(ids, rows,
                                                                            strict=True)]
        session.execute(sa.insert(ImagePixels), [
            {"image_id": b.image_id, "data": b.data, "rms": b.rms, "psf": b.psf} for b in blobs])
    return out


def _catalogue_galaxy_row(cat: Catalogue, row: int, source: Path,
                          sid: int) -> tuple[tuple[int, str], dict[str, Any]]:
    """The ``galaxy`` row of catalogue ``row`` in survey ``sid`` (position in degrees, no
    HEALPix cell yet), with its (survey, external id) key."""
    if cat.ra is None or cat.dec is None:
        raise InputError(cat.path, "the catalogue has no RA/Dec columns and no IAU-style "
                         "J-names, so its galaxies have no position", row + 1)
    ra, dec = float(cat.ra[row]), float(cat.dec[row])
    if not (math.isfinite(ra) and math.isfinite(dec)) or abs(dec) > 90:
        raise InputError(cat.path, "missing or invalid RA/Dec", row + 1)
    external = cat.external_ids[row] or file_stem(source.name)
    if len(external) > 64:
        raise InputError(cat.path, "the object id is longer than 64 characters", row + 1)
    ra %= 360.0
    return (sid, external), {
        "survey_id": sid, "external_id": external, "ra_deg": ra, "dec_deg": dec}
