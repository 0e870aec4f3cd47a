"""Spectra written as BOSS ``spec`` files: how mock sightlines reach disk in the format
the readers (and real surveys) use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

from galcat.catalog.formats.spectra import SpectrumRecord


def write_boss_spec(path: str | Path, record: SpectrumRecord, overwrite: bool = False) -> Path:
    """Write ``record`` as a BOSS ``spec`` file (COADD + SPECOBJ HDUs, real column types).

    Columns not held by the record (OR_MASK, WDISP, SKY, MODEL; Z_ERR, …) are written
    as zeros so the layout matches the survey's files.
    """

    path = Path(path)
    n = record.n_pixels
    and_mask = np.zeros(n, np.int32) if record.and_mask is None else record.and_mask
    primary = fits.PrimaryHDU()
    hdr = primary.header
    hdr["TELESCOP"] = "SDSS 2.5-M"
    hdr["PLATEID"] = record.plate if record.plate is not None else 0
    hdr["MJD"] = record.mjd if record.mjd is not None else 0
    hdr["FIBERID"] = record.fiber if record.fiber is not None else 0
    hdr["PLUG_RA"] = record.ra_deg
    hdr["PLUG_DEC"] = record.dec_deg
    hdr["THING_ID"] = record.thing_id if record.thing_id is not None else -1
    hdr["COEFF0"] = float(record.loglam[0])
    hdr["COEFF1"] = float(np.median(np.diff(record.loglam)))
    hdr["RUN2D"] = "galcat"
    zeros = np.zeros(n, np.float32)
    coadd = fits.BinTableHDU.from_columns(
        [
            fits.Column("FLUX", "E", array=np.asarray(record.flux, np.float32)),
            fits.Column("LOGLAM", "E", array=np.asarray(record.loglam, np.float32)),
            fits.Column("IVAR", "E", array=np.asarray(record.ivar, np.float32)),
            fits.Column("AND_MASK", "J", array=np.asarray(and_mask, np.int32)),
            fits.Column("OR_MASK", "J", array=np.asarray(and_mask, np.int32)),
            fits.Column("WDISP", "E", array=zeros),
            fits.Column("SKY", "E", array=zeros),
            fits.Column("MODEL", "E", array=zeros),
        ],
        name="COADD",
    )
    specobj = fits.BinTableHDU.from_columns(
        [
            fits.Column("PLATE", "J", array=[record.plate or 0]),
            fits.Column("MJD", "J", array=[record.mjd or 0]),
            fits.Column("FIBERID", "J", array=[record.fiber or 0]),
            fits.Column("RUN2D", "7A", array=["galcat"]),
            fits.Column("OBJTYPE", "3A", array=["QSO"]),
            fits.Column("PLUG_RA", "D", array=[record.ra_deg]),
            fits.Column("PLUG_DEC", "D", array=[record.dec_deg]),
            fits.Column("CLASS", "6A", array=["QSO"]),
            fits.Column("Z", "E", array=[record.z_qso]),
            fits.Column("Z_ERR", "E", array=[0.0]),
            fits.Column("ZWARNING", "J", array=[0]),
            fits.Column("SN_MEDIAN_ALL", "E", array=[0.0]),
            fits.Column(
                "THING_ID", "J", array=[record.thing_id if record.thing_id is not None else -1]
            ),
        ],
        name="SPECOBJ",
    )
    fits.HDUList([primary, coadd, specobj]).writeto(path, overwrite=overwrite)
    return path
