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
from galcat.catalog.schema import Galaxy, Image
from galcat.catalog.sky import angular_distance_deg, cone, healpix_29
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
            stored = [_store(db, session, record, psf, extra, survey, cat)
                      for _, _, record, psf, extra in parsed]
    except Exception:
        stored = []
        for outcome, group, record, psf, extra in parsed:
            try:
                with db.session() as session:
                    stored.append(_store(db, session, record, psf, extra, survey, cat))
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


def _store(db: Database, session: Session, record: ImageRecord, psf: np.ndarray | None,
           extra: dict[str, Any], survey: str | None,
           cat: Catalogue | None) -> tuple[bool, bool, bool]:
    """Write one image; return (new image?, linked to a galaxy?, matched a catalogue row?)."""
    centre = (extra["centre_ra_deg"], extra["centre_dec_deg"]) if "centre_ra_deg" in extra \
        else None
    galaxy_id, matched = None, False
    if cat is not None:
        row = cat.row_for(Path(record.source_path), centre)
        if row is not None:
            matched = True
            galaxy_id = _catalogue_galaxy(db, session, cat, row, Path(record.source_path))
            extra["catalogue"], extra["catalogue_row"] = cat.path, row + 1
            extra["catalogue_sha256"] = cat.sha256
    if galaxy_id is None and centre is not None:
        near = cone(session, "galaxy", centre[0], centre[1], GALAXY_MATCH_ARCSEC / 3600.0,
                    columns=["id"], limit=1)
        galaxy_id = int(near[0]["id"]) if near else None
    existing = session.execute(sa.select(Image.id, Image.galaxy_id, Image.extra).where(
        Image.sha256 == record.sha256)).one_or_none()
    if existing is not None:
        values: dict[str, Any] = {}
        if galaxy_id is not None and existing.galaxy_id is None:
            values["galaxy_id"] = galaxy_id
        if matched:
            values["extra"] = {**(existing.extra or {}), **{
                k: extra[k] for k in ("catalogue", "catalogue_row", "catalogue_sha256")}}
        if values:
            session.execute(sa.update(Image).where(Image.id == existing.id).values(**values))
        return False, galaxy_id is not None, matched
    sid = None
    if survey is not None:
        sid = survey_id(session, survey, kind="imaging",
                        pixel_scale_arcsec=record.pixel_scale_arcsec,
                        zero_point_mag=record.zero_point,
                        psf_fwhm_arcsec=record.psf_fwhm_arcsec,
                        band=",".join(record.bands)[:32] or None)
    pixels = record.pixels
    image = Image(
        survey_id=sid, galaxy_id=galaxy_id, source_path=str(Path(record.source_path).resolve()),
        sha256=record.sha256, height=int(pixels.shape[0]), width=int(pixels.shape[1]),
        channels=1 if pixels.ndim == 2 else int(pixels.shape[2]), dtype="float32",
        bands=",".join(record.bands)[:64] or None,
        pixel_scale_arcsec=record.pixel_scale_arcsec, zero_point_mag=record.zero_point,
        psf_fwhm_arcsec=record.psf_fwhm_arcsec, sky_sigma=record.sky_sigma,
        wcs_header=record.wcs_header or None, extra=extra,
    )
    session.add(image)
    session.flush()
    session.add(image_pixels_row(image.id, pixels, record.rms, psf))
    return True, galaxy_id is not None, matched


def _catalogue_galaxy(db: Database, session: Session, cat: Catalogue, row: int,
                      source: Path) -> int:
    """Create or update the galaxy of catalogue ``row``; write its labels; return its id."""
    if cat.ra is None or cat.dec is None:
        raise InputError(cat.path, "the catalogue has no RA/Dec columns and no IAU-style "
                         "J-names, so its galaxies have no position", row + 1)
    ra, dec = float(cat.ra[row]), float(cat.dec[row])
    if not (math.isfinite(ra) and math.isfinite(dec)) or abs(dec) > 90:
        raise InputError(cat.path, "missing or invalid RA/Dec", row + 1)
    external = cat.external_ids[row] or file_stem(source.name)
    if len(external) > 64:
        raise InputError(cat.path, "the object id is longer than 64 characters", row + 1)
    sid = survey_id(session, cat.survey)
    ra %= 360.0
    db.upsert(session, cast(sa.Table, Galaxy.__table__), [{
        "survey_id": sid, "external_id": external, "ra_deg": ra, "dec_deg": dec,
        "healpix_29": int(healpix_29(np.array([ra]), np.array([dec]))[0])}],
        key=("survey_id", "external_id"))
    gid = int(session.execute(sa.select(Galaxy.id).where(
        Galaxy.survey_id == sid, Galaxy.external_id == external)).scalar_one())
    if cat.labels.values[row]:
        write_labels(session, cat.label_set, "galaxy", [(gid, cat.labels.values[row])],
                     source=cat.path)
    return gid
