"""``galcat ingest spectra``: quasar spectra in, one sightline per quasar, one row per file.

Two observations of one quasar (same THING_ID) become two spectra of one sightline.
Files are de-duplicated by sha256; a file is loaded whole or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from galcat.catalog.db import Database
from galcat.catalog.formats.errors import InputError
from galcat.catalog.formats.registry import find_files
from galcat.catalog.formats.spectra import (
    SpectrumFormatError,
    SpectrumRecord,
    read_file_bytes,
    read_spectrum,
)
from galcat.catalog.ingest.report import FileOutcome, IngestSummary
from galcat.catalog.pixels import spectrum_pixels_row
from galcat.catalog.schema import Sightline, Spectrum, SpectrumPixels
from galcat.catalog.schema.base import utcnow
from galcat.catalog.sky import healpix_29
from galcat.catalog.surveys import survey_id

DEFAULT_SURVEY = {"boss": "boss", "sdss_dr7": "sdss-dr7", "table": "spectra"}
BATCH_FILES = 200


def sightline_key(record: SpectrumRecord) -> str:
    """THING_ID when the survey assigned one, else plate-mjd-fiber, else the file name."""
    if record.thing_id is not None and record.thing_id > 0:
        return str(record.thing_id)
    if record.plate is not None and record.fiber is not None:
        return f"{record.plate}-{record.mjd}-{record.fiber}"
    return Path(record.source_path).name.split(".")[0]


def ingest_spectra(
    db: Database, paths: Sequence[str | Path], survey: str | None = None,
    z_qso: float | None = None, batch_size: int = BATCH_FILES,
) -> IngestSummary:
    """Load spectrum files; a bad file is reported and skipped, the rest load.

    Each file is read and hashed once; files whose sha256 is in the catalogue already are
    not parsed. The good files of a batch are written in one transaction; if the database
    refuses it, each file of that batch is written in a transaction of its own, so a file
    is always all in or all out and one bad file costs only itself.
    """
    summary = IngestSummary()
    files = find_files("spectrum", paths)
    if not files:
        summary.files.append(FileOutcome(path=", ".join(map(str, paths)),
                                         errors=["no spectrum files found"]))
    for start in range(0, len(files), batch_size):
        _ingest_batch(db, files[start:start + batch_size], survey, z_qso, summary)
    return summary


def _ingest_batch(db: Database, paths: Sequence[Path], survey: str | None,
                  z_qso: float | None, summary: IngestSummary) -> None:
    contents: dict[int, tuple[bytes, str]] = {}
    outcomes = [FileOutcome(path=str(path)) for path in paths]
    summary.files.extend(outcomes)
    for i, path in enumerate(paths):
        try:
            contents[i] = read_file_bytes(path)
        except SpectrumFormatError as exc:
            outcomes[i].errors.append(str(exc))
    known = _known_digests(db, {digest for _, digest in contents.values()})
    parsed: list[tuple[FileOutcome, SpectrumRecord]] = []
    for i, content in contents.items():
        digest = content[1]
        if digest in known:
            outcomes[i].rows_merged = 1
            continue
        known.add(digest)
        try:
            record = read_spectrum(paths[i], z_qso=z_qso, content=content)
            _check(record, paths[i])
        except (SpectrumFormatError, InputError) as exc:
            outcomes[i].errors.append(str(exc))
            continue
        parsed.append((outcomes[i], record))
    if not parsed:
        return
    try:
        with db.session() as session:
            added = _store_batch(session, [record for _, record in parsed], survey)
        for (outcome, _), new in zip(parsed, added, strict=True):
            outcome.rows_loaded = int(new)
    except Exception:
        for outcome, record in parsed:
            try:
                with db.session() as session:
                    outcome.rows_loaded = int(_store_batch(session, [record], survey)[0])
            except Exception as exc:
                outcome.refused_by_database(record.source_path, exc)
    for outcome, _ in parsed:
        outcome.rows_merged = int(outcome.ok and not outcome.rows_loaded)


def _survey(record: SpectrumRecord, survey: str | None) -> str:
    return survey or DEFAULT_SURVEY.get(record.file_format, "spectra")


def _known_digests(db: Database, digests: set[str]) -> set[str]:
    """Which of these sha256 digests the catalogue's spectra have already."""
    if not digests:
        return set()
    with db.new_session() as session:
        return set(session.execute(sa.select(Spectrum.sha256).where(
            Spectrum.sha256.in_(sorted(digests)))).scalars())


def _check(record: SpectrumRecord, path: Path) -> None:
    if not (np.isfinite(record.ra_deg) and np.isfinite(record.dec_deg)):
        raise InputError(path, "the spectrum has no sky position (RA/Dec)")
    if abs(record.dec_deg) > 90:
        raise InputError(path, f"Dec {record.dec_deg:g} is outside [-90, 90] degrees")
    if not np.isfinite(record.z_qso):
        raise InputError(path, "no quasar redshift: give --z-qso or a z column")


def _store_batch(session: Session, records: list[SpectrumRecord], survey: str | None
                 ) -> list[bool]:
    """Add the spectra (and the sightlines that are new) in bulk; for each record, False
    if its file was in the catalogue already (another ingest may have loaded it since)."""
    present = set(session.execute(sa.select(Spectrum.sha256).where(
        Spectrum.sha256.in_([r.sha256 for r in records]))).scalars())
    new = [r for r in records if r.sha256 not in present]
    if new:
        survey_ids = {name: survey_id(session, name, kind="spectroscopy")
                      for name in {_survey(r, survey) for r in new}}
        keys = [(survey_ids[_survey(r, survey)], sightline_key(r)) for r in new]
        sightlines = _sightline_ids(session, new, keys)
        spectrum_ids = session.execute(
            sa.insert(Spectrum).returning(Spectrum.id, sort_by_parameter_order=True),
            [_spectrum_row(record, sightlines[key]) for record, key in
             zip(new, keys, strict=True)]).scalars().all()
        session.execute(sa.insert(SpectrumPixels), [
            _pixels_row(spectrum_id, record)
            for spectrum_id, record in zip(spectrum_ids, new, strict=True)])
    return [r.sha256 not in present for r in records]


def _sightline_ids(session: Session, records: list[SpectrumRecord],
                   keys: list[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """Id of each (survey id, external id), inserting the sightlines not yet there (the
    first record of a new quasar gives its position and redshift)."""
    wanted = set(keys)
    found = {(sid, key): sightline_id for sightline_id, sid, key in session.execute(
        sa.select(Sightline.id, Sightline.survey_id, Sightline.external_id).where(
            Sightline.external_id.in_(sorted({k for _, k in wanted}))))
             if (sid, key) in wanted}
    first: dict[tuple[int, str], SpectrumRecord] = {}
    for record, key in zip(records, keys, strict=True):
        if key not in found:
            first.setdefault(key, record)
    if first:
        ra = np.array([float(r.ra_deg) % 360.0 for r in first.values()])
        dec = np.array([float(r.dec_deg) for r in first.values()])
        pixels = healpix_29(ra, dec)
        rows = [{"survey_id": sid, "external_id": key, "plate": r.plate, "mjd": r.mjd,
                 "fiber": r.fiber, "thing_id": r.thing_id, "ra_deg": float(ra[i]),
                 "dec_deg": float(dec[i]), "healpix_29": int(pixels[i]),
                 "z_qso": float(r.z_qso)}
                for i, ((sid, key), r) in enumerate(first.items())]
        ids = session.execute(
            sa.insert(Sightline).returning(Sightline.id, sort_by_parameter_order=True),
            rows).scalars().all()
        found.update(zip(first, ids, strict=True))
    return found


def _spectrum_row(record: SpectrumRecord, sightline_id: int) -> dict[str, Any]:
    return {"sightline_id": sightline_id, "plate": record.plate, "mjd": record.mjd,
            "fiber": record.fiber, "source_path": str(Path(record.source_path).resolve()),
            "source_format": record.file_format, "sha256": record.sha256,
            "n_pixels": record.n_pixels, "wavelength_min_aa": float(10 ** record.loglam[0]),
            "wavelength_max_aa": float(10 ** record.loglam[-1]),
            "snr_median": record.snr_median, "created_at": utcnow()}


def _pixels_row(spectrum_id: int, record: SpectrumRecord) -> dict[str, Any]:
    row = spectrum_pixels_row(spectrum_id, record.loglam, record.flux, record.ivar,
                              record.and_mask)
    return {"spectrum_id": spectrum_id, "loglam": row.loglam, "flux": row.flux,
            "ivar": row.ivar, "mask": row.mask}
