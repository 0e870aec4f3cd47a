"""``galcat ingest spectra``: quasar spectra in, one sightline per quasar, one row per file.

Two observations of one quasar (same THING_ID) become two spectra of one sightline.
Files are de-duplicated by sha256; each file is one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from galcat.catalog.db import Database
from galcat.catalog.formats.errors import InputError
from galcat.catalog.formats.registry import find_files
from galcat.catalog.formats.spectra import SpectrumFormatError, SpectrumRecord, read_spectrum
from galcat.catalog.ingest.report import FileOutcome, IngestSummary
from galcat.catalog.pixels import spectrum_pixels_row
from galcat.catalog.schema import Sightline, Spectrum
from galcat.catalog.sky import healpix_29
from galcat.catalog.surveys import survey_id

DEFAULT_SURVEY = {"boss": "boss", "sdss_dr7": "sdss-dr7", "table": "spectra"}


def sightline_key(record: SpectrumRecord) -> str:
    """THING_ID when the survey assigned one, else plate-mjd-fiber, else the file name."""
    if record.thing_id is not None and record.thing_id > 0:
        return str(record.thing_id)
    if record.plate is not None and record.fiber is not None:
        return f"{record.plate}-{record.mjd}-{record.fiber}"
    return Path(record.source_path).name.split(".")[0]


def ingest_spectra(
    db: Database, paths: Sequence[str | Path], survey: str | None = None,
    z_qso: float | None = None,
) -> IngestSummary:
    """Load spectrum files; a bad file is reported and skipped, the rest load."""
    summary = IngestSummary()
    files = find_files("spectrum", paths)
    if not files:
        summary.files.append(FileOutcome(path=", ".join(map(str, paths)),
                                         errors=["no spectrum files found"]))
    for path in files:
        outcome = FileOutcome(path=str(path))
        summary.files.append(outcome)
        try:
            if _already_in(db, path):
                outcome.rows_merged = 1
                continue
            record = read_spectrum(path, z_qso=z_qso)
            _check(record, path)
            with db.session() as session:
                added = _store(session, record, survey or DEFAULT_SURVEY.get(record.file_format,
                                                                             "spectra"))
            outcome.rows_loaded = int(added)
            outcome.rows_merged = int(not added)
        except (SpectrumFormatError, InputError) as exc:
            outcome.errors.append(str(exc))
        except Exception as exc:
            outcome.refused_by_database(path, exc)
    return summary


def _already_in(db: Database, path: Path) -> bool:
    """True when a spectrum with this file's sha256 is loaded already (no need to parse)."""
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return False
    with db.new_session() as session:
        return session.execute(sa.select(Spectrum.id).where(
            Spectrum.sha256 == digest)).first() is not None


def _check(record: SpectrumRecord, path: Path) -> None:
    if not (np.isfinite(record.ra_deg) and np.isfinite(record.dec_deg)):
        raise InputError(path, "the spectrum has no sky position (RA/Dec)")
    if abs(record.dec_deg) > 90:
        raise InputError(path, f"Dec {record.dec_deg:g} is outside [-90, 90] degrees")
    if not np.isfinite(record.z_qso):
        raise InputError(path, "no quasar redshift: give --z-qso or a z column")


def _store(session: Session, record: SpectrumRecord, survey: str) -> bool:
    """Add the spectrum (and its sightline if new); False if this file is already in."""
    known = session.execute(
        sa.select(Spectrum.id).where(Spectrum.sha256 == record.sha256)).scalar_one_or_none()
    if known is not None:
        return False
    sid = survey_id(session, survey, kind="spectroscopy")
    key = sightline_key(record)
    sightline = session.execute(sa.select(Sightline).where(
        Sightline.survey_id == sid, Sightline.external_id == key)).scalar_one_or_none()
    if sightline is None:
        ra = float(record.ra_deg) % 360.0
        sightline = Sightline(
            survey_id=sid, external_id=key, plate=record.plate, mjd=record.mjd,
            fiber=record.fiber, thing_id=record.thing_id, ra_deg=ra,
            dec_deg=float(record.dec_deg), healpix_29=int(healpix_29([ra], [record.dec_deg])[0]),
            z_qso=float(record.z_qso))
        session.add(sightline)
        session.flush()
    spectrum = Spectrum(
        sightline_id=sightline.id, plate=record.plate, mjd=record.mjd, fiber=record.fiber,
        source_path=str(Path(record.source_path).resolve()), source_format=record.file_format,
        sha256=record.sha256, n_pixels=record.n_pixels,
        wavelength_min_aa=float(10 ** record.loglam[0]),
        wavelength_max_aa=float(10 ** record.loglam[-1]), snr_median=record.snr_median)
    session.add(spectrum)
    session.flush()
    session.add(spectrum_pixels_row(spectrum.id, record.loglam, record.flux, record.ivar,
                                    record.and_mask))
    return True
