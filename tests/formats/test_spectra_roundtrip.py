"""Writing BOSS files from mocks, DR7 spSpec files, plain tables, and damaged inputs."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from galcat.catalog.formats.boss_writer import write_boss_spec
from galcat.catalog.formats.spectra import (
    SpectrumFormatError,
    SpectrumRecord,
    read_boss_spec,
    read_sdss_dr7_spspec,
    read_spectrum,
    read_spectrum_table,
)
from galcat.models.dla.mock import generate_mock_sightlines

REAL_COADD_FORMATS = {
    "FLUX": "E",
    "LOGLAM": "E",
    "IVAR": "E",
    "AND_MASK": "J",
    "OR_MASK": "J",
    "WDISP": "E",
    "SKY": "E",
    "MODEL": "E",
}
REAL_SPECOBJ_FORMATS = {
    "PLATE": "J",
    "MJD": "J",
    "FIBERID": "J",
    "PLUG_RA": "D",
    "PLUG_DEC": "D",
    "Z": "E",
    "THING_ID": "J",
    "ZWARNING": "J",
}


def mock_record(seed: int = 0) -> SpectrumRecord:
    m = generate_mock_sightlines(1, seed)
    mask = np.zeros(m.loglam.size, np.int32)
    mask[50:55] = 1 << 23
    return SpectrumRecord(
        plate=9000,
        mjd=59000,
        fiber=17,
        thing_id=123456,
        ra_deg=150.25,
        dec_deg=2.5,
        z_qso=float(m.z_qso[0]),
        loglam=m.loglam,
        flux=m.flux[0],
        ivar=m.ivar[0],
        and_mask=mask,
        source_path="mock",
        sha256="",
    )


def test_mock_round_trips_through_a_real_format_boss_file(tmp_path) -> None:
    rec = mock_record()
    path = write_boss_spec(tmp_path / "spec-9000-59000-0017.fits", rec)
    back = read_spectrum(path)
    assert back.file_format == "boss"
    assert (back.plate, back.mjd, back.fiber, back.thing_id) == (9000, 59000, 17, 123456)
    assert (back.ra_deg, back.dec_deg) == (150.25, 2.5)
    assert back.z_qso == pytest.approx(rec.z_qso, rel=1e-7)
    assert np.array_equal(back.flux, rec.flux)
    assert np.allclose(back.loglam, rec.loglam, atol=1e-6)
    assert np.all(back.ivar[50:55] == 0) and np.array_equal(back.ivar[60:], rec.ivar[60:])
    with fits.open(path) as hdul:
        assert hdul[1].name == "COADD" and hdul[2].name == "SPECOBJ"
        coadd = {c.name: c.format for c in hdul[1].columns}
        specobj = {c.name: c.format for c in hdul[2].columns}
    assert coadd == REAL_COADD_FORMATS
    assert {k: specobj[k] for k in REAL_SPECOBJ_FORMATS} == REAL_SPECOBJ_FORMATS
    with pytest.raises(OSError):
        write_boss_spec(path, rec)


def test_lower_case_columns_are_read(tmp_path) -> None:
    rec = mock_record(1)
    path = write_boss_spec(tmp_path / "a.fits", rec)
    with fits.open(path) as hdul:
        for hdu in hdul[1:]:
            for i, col in enumerate(hdu.columns):
                hdu.header[f"TTYPE{i + 1}"] = col.name.lower()
        hdul.writeto(tmp_path / "b.fits")
    back = read_boss_spec(tmp_path / "b.fits")
    assert back.fiber == 17 and np.array_equal(back.flux, rec.flux)


def write_spspec(path, error_row: np.ndarray | None = None) -> np.ndarray:
    npix = 3000
    flux = np.linspace(1.0, 2.0, npix).astype(np.float32)
    error = np.full(npix, 0.5, np.float32) if error_row is None else error_row
    mask = np.zeros(npix, np.float32)
    mask[10] = float(1 << 23)
    image = np.vstack([flux, flux - 1.0, error, mask])
    hdu = fits.PrimaryHDU(image)
    hdu.header.update(
        {
            "COEFF0": 3.5800,
            "COEFF1": 1e-4,
            "RAOBJ": 10.5,
            "DECOBJ": -1.25,
            "Z": 3.1,
            "PLATEID": 266,
            "MJD": 51630,
            "FIBERID": 124,
        }
    )
    hdu.writeto(path)
    return flux


def test_dr7_spspec_image_rows_and_header(tmp_path) -> None:
    error = np.full(3000, 0.5, np.float32)
    error[20:25] = 0.0
    error[30] = -1.0
    flux = write_spspec(tmp_path / "spSpec-51630-0266-124.fit", error)
    rec = read_spectrum(tmp_path / "spSpec-51630-0266-124.fit")
    assert rec.file_format == "sdss_dr7"
    assert (rec.plate, rec.mjd, rec.fiber, rec.thing_id) == (266, 51630, 124, None)
    assert (rec.ra_deg, rec.dec_deg, rec.z_qso) == (10.5, -1.25, 3.1)
    assert rec.loglam[0] == 3.58 and rec.loglam[1] == pytest.approx(3.5801)
    assert np.array_equal(rec.flux, flux)
    assert rec.ivar[0] == pytest.approx(4.0)
    assert np.all(rec.ivar[20:25] == 0) and rec.ivar[30] == 0 and rec.ivar[10] == 0


def test_dr7_without_wavelength_solution_is_rejected(tmp_path) -> None:
    fits.PrimaryHDU(np.zeros((4, 100), np.float32)).writeto(tmp_path / "x.fit")
    with pytest.raises(SpectrumFormatError, match="COEFF0"):
        read_sdss_dr7_spspec(tmp_path / "x.fit")


def test_tables_with_wavelength_units_error_columns_and_metadata(tmp_path) -> None:
    lam_nm = np.linspace(360.0, 1000.0, 500)
    t = Table({"WAVE": lam_nm, "Flux": np.ones(500), "sigma": np.full(500, 0.25)})
    t["WAVE"].unit = "nm"
    t.meta["z_qso"] = 2.7
    t.meta["ra"] = 12.0
    t.write(tmp_path / "s.ecsv")
    rec = read_spectrum(tmp_path / "s.ecsv")
    assert rec.file_format == "table" and rec.z_qso == 2.7 and rec.ra_deg == 12.0
    assert rec.wavelength_aa == pytest.approx(lam_nm * 10.0)
    assert rec.ivar == pytest.approx(16.0)


def test_csv_with_loglam_needs_a_redshift(tmp_path) -> None:
    t = Table({"loglam": 3.6 + 1e-4 * np.arange(100), "flux": np.ones(100), "ivar": np.ones(100)})
    t.write(tmp_path / "s.csv")
    with pytest.raises(SpectrumFormatError, match="z_qso"):
        read_spectrum_table(tmp_path / "s.csv")
    assert read_spectrum_table(tmp_path / "s.csv", z_qso=3.3).z_qso == 3.3


def test_table_missing_columns_is_named(tmp_path) -> None:
    Table({"loglam": [3.6, 3.6001], "flux": [1.0, 1.0]}).write(tmp_path / "bad.csv")
    with pytest.raises(SpectrumFormatError, match=r"bad\.csv.*ivar or error"):
        read_spectrum_table(tmp_path / "bad.csv", z_qso=3.0)


@pytest.mark.parametrize("content", [b"", b"SIMPLE  =  garbage" * 50])
def test_corrupt_fits_raises_naming_the_file(tmp_path, content) -> None:
    path = tmp_path / "spec-1-2-3.fits"
    path.write_bytes(content)
    with pytest.raises(SpectrumFormatError, match=str(path)):
        read_boss_spec(path)


def test_fits_without_a_coadd_table_is_rejected(tmp_path) -> None:
    fits.PrimaryHDU().writeto(tmp_path / "empty.fits")
    with pytest.raises(SpectrumFormatError, match="COADD"):
        read_boss_spec(tmp_path / "empty.fits")
