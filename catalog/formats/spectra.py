"""Quasar spectrum files: readers for BOSS/eBOSS, SDSS DR7 and plain tables; a BOSS writer.

Every reader returns a :class:`SpectrumRecord` on a log10(λ/Å) grid with flux in
1e-17 erg s⁻¹ cm⁻² Å⁻¹ and inverse variance ``ivar`` (0 = no data). Pixels whose
AND_MASK has the BRIGHTSKY bit (23) set get ivar = 0. ``sha256`` is the digest of
the file's bytes, which are the bytes parsed (read once).

- BOSS/eBOSS ``spec-PLATE-MJD-FIBER.fits``: HDU 1 (COADD) columns FLUX, LOGLAM, IVAR,
  AND_MASK, …; HDU 2 (SPECOBJ) one row with PLATE, MJD, FIBERID, PLUG_RA, PLUG_DEC, Z,
  THING_ID. Column names are matched case-insensitively.
- SDSS-I/II DR7 ``spSpec-MJD-PLATE-FIB.fit``: primary image rows flux, continuum-
  subtracted flux, error, mask; λ = 10^(COEFF0 + COEFF1 i); header RAOBJ, DECOBJ, Z,
  PLATEID, MJD, FIBERID; ivar = 1/error² (0 where error ≤ 0).
- Any table astropy reads (ECSV, FITS table, CSV, …) with ``loglam`` or a wavelength
  column (Å unless the column carries another length unit), ``flux`` and ``ivar`` (or
  an ``error``/``sigma`` column), and z_qso from a column, the table metadata or an
  argument.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from galcat.catalog.formats.fits_bytes import (
    FitsDamaged,
    FitsLayoutError,
    read_hdus,
    table_columns,
)
from galcat.catalog.formats.fits_rows import first_row_fields
from galcat.catalog.formats.registry import KINDS, file_format

BRIGHTSKY_BIT = 23
_BOSS_NAME = re.compile(r"spec-(\d+)-(\d+)-(\d+)\.fits?(\.gz)?$", re.IGNORECASE)


class SpectrumFormatError(ValueError):
    """A spectrum file is unreadable, truncated or lacks what its format requires."""


@dataclass(frozen=True, eq=False)
class SpectrumRecord:
    """One quasar spectrum and its identifiers (angles in degrees, log10 λ in Å)."""

    plate: int | None
    mjd: int | None
    fiber: int | None
    thing_id: int | None
    ra_deg: float
    dec_deg: float
    z_qso: float
    loglam: np.ndarray = field(repr=False)
    flux: np.ndarray = field(repr=False)
    ivar: np.ndarray = field(repr=False)
    and_mask: np.ndarray | None = field(repr=False)
    source_path: str
    sha256: str
    file_format: str = "boss"

    @property
    def n_pixels(self) -> int:
        return int(self.loglam.size)

    @property
    def wavelength_aa(self) -> np.ndarray:
        return np.asarray(10.0 ** self.loglam.astype(np.float64))

    @property
    def snr_median(self) -> float | None:
        """Median flux·√ivar over pixels with ivar > 0 (None when there are none): the
        S/N that picks which observation of a quasar is searched."""
        good = self.ivar > 0
        return float(np.median(self.flux[good] * np.sqrt(self.ivar[good]))) if good.any() else None


def read_file_bytes(path: Path) -> tuple[bytes, str]:
    """A file's bytes and their sha256 (hex), read once; a clear error if it cannot be read."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpectrumFormatError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    if not data:
        raise SpectrumFormatError(f"{path}: file is empty")
    return data, hashlib.sha256(data).hexdigest()


def _parse_errors() -> tuple[type[Exception], ...]:
    """What astropy raises on a damaged file: its VerifyError, and the plain errors (even
    AssertionError and AttributeError) its parser lets out on mangled headers."""
    from astropy.io.fits.verify import VerifyError

    return (OSError, ValueError, TypeError, IndexError, KeyError, AssertionError,
            AttributeError, OverflowError, VerifyError)


def _open_fits(path: Path, data: bytes) -> Any:
    from astropy.io import fits
    from astropy.utils.exceptions import AstropyUserWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", AstropyUserWarning)
            hdul = fits.open(io.BytesIO(data), memmap=False, lazy_load_hdus=False)
    except AstropyUserWarning as exc:
        raise SpectrumFormatError(f"{path}: truncated or damaged FITS file ({exc})") from exc
    except _parse_errors() as exc:
        raise SpectrumFormatError(f"{path}: not a readable FITS file ({exc})") from exc
    return hdul


def _columns(path: Path, hdu: Any, what: str) -> dict[str, str]:
    names = getattr(getattr(hdu, "columns", None), "names", None)
    if not names:
        raise SpectrumFormatError(f"{path}: {what} is not a table")
    return {name.upper(): name for name in names}


def _require(path: Path, cols: dict[str, str], needed: tuple[str, ...], what: str) -> None:
    missing = [c for c in needed if c not in cols]
    if missing:
        raise SpectrumFormatError(
            f"{path}: {what} lacks column(s) {', '.join(missing)} (has {', '.join(cols)})"
        )


def _apply_brightsky(ivar: np.ndarray, and_mask: np.ndarray | None) -> np.ndarray:
    ivar = np.where(np.isfinite(ivar) & (ivar > 0), ivar, 0.0).astype(np.float32)
    if and_mask is not None:
        ivar[(and_mask.astype(np.int64) >> BRIGHTSKY_BIT) & 1 == 1] = 0.0
    return ivar


def _check_grid(path: Path, loglam: np.ndarray, flux: np.ndarray, ivar: np.ndarray) -> None:
    if loglam.size < 2:
        raise SpectrumFormatError(f"{path}: spectrum has {loglam.size} pixel(s)")
    if not (flux.shape == ivar.shape == loglam.shape):
        raise SpectrumFormatError(
            f"{path}: flux, ivar and loglam lengths differ "
            f"({flux.size}, {ivar.size}, {loglam.size})"
        )
    if not np.all(np.isfinite(loglam)) or not np.all(np.diff(loglam) > 0):
        raise SpectrumFormatError(f"{path}: wavelength grid is not finite and increasing")


def read_boss_spec(path: str | Path) -> SpectrumRecord:
    """Read a BOSS/eBOSS ``spec-PLATE-MJD-FIBER.fits`` coadd (HDU 1) and its SPECOBJ row."""
    path = Path(path)
    data, digest = read_file_bytes(path)
    return _boss_from_hdul(path, _open_fits(path, data), digest, data)


def _boss_from_hdul(path: Path, hdul: Any, digest: str, data: bytes) -> SpectrumRecord:
    try:
        return _boss_record(path, hdul, digest, data)
    except _parse_errors() as exc:
        if isinstance(exc, SpectrumFormatError):
            raise
        raise SpectrumFormatError(f"{path}: damaged BOSS spectrum ({exc})") from exc


_SPECOBJ_KEYS = ("PLATE", "MJD", "FIBERID", "PLUG_RA", "PLUG_DEC", "Z", "THING_ID")
_COADD_COLUMNS = ("FLUX", "LOGLAM", "IVAR", "AND_MASK")


def _boss_fast(path: Path, data: bytes, digest: str) -> SpectrumRecord | None:
    """The BOSS record decoded straight from the bytes (:mod:`.fits_bytes`); None when the
    file is not a BOSS coadd or not a layout that reader handles (astropy then reads it)."""
    try:
        hdus = read_hdus(data, limit=3)
        if len(hdus) < 2 or str(hdus[1].value("XTENSION", "")).strip() != "BINTABLE":
            return None
        coadd = table_columns(hdus[1], data, _COADD_COLUMNS)
        if not {"FLUX", "LOGLAM", "IVAR"} <= set(coadd):
            return None
        meta: dict[str, Any] = {}
        if len(hdus) > 2 and str(hdus[2].value("XTENSION", "")).strip() == "BINTABLE" \
                and hdus[2].int("NAXIS2", 0) > 0:
            meta = {k: v[0] for k, v in table_columns(hdus[2], data, _SPECOBJ_KEYS).items()
                    if v.ndim == 1}
    except FitsDamaged as exc:
        raise SpectrumFormatError(f"{path}: damaged FITS file ({exc})") from exc
    except FitsLayoutError:
        return None
    header = {k: hdus[0].value(k) for k in _HEADER_FALLBACK.values() if k in hdus[0].cards}
    return _boss_from_columns(path, coadd, meta, header, digest)


def _boss_record(path: Path, hdul: Any, digest: str, data: bytes) -> SpectrumRecord:
    if len(hdul) < 2:
        raise SpectrumFormatError(f"{path}: no COADD table (HDU 1) in a {len(hdul)}-HDU file")
    coadd = hdul[1]
    cols = _columns(path, coadd, "HDU 1 (COADD)")
    _require(path, cols, ("FLUX", "LOGLAM", "IVAR"), "HDU 1 (COADD)")
    columns = {name: coadd.data[cols[name]] for name in _COADD_COLUMNS if name in cols}
    meta: dict[str, Any] = {}
    has_specobj = len(hdul) > 2 and hdul[2].header.get("XTENSION") == "BINTABLE"
    if has_specobj and int(hdul[2].header.get("NAXIS2", 0)) > 0:
        meta.update(first_row_fields(hdul, 2, data, _SPECOBJ_KEYS))
    return _boss_from_columns(path, columns, meta, hdul[0].header, digest)


_HEADER_FALLBACK = {
    "PLATE": "PLATEID",
    "MJD": "MJD",
    "FIBERID": "FIBERID",
    "PLUG_RA": "PLUG_RA",
    "PLUG_DEC": "PLUG_DEC",
    "THING_ID": "THING_ID",
    "Z": "Z",
}


def _boss_from_columns(path: Path, columns: dict[str, Any], meta: dict[str, Any],
                       header: Any, digest: str) -> SpectrumRecord:
    """The record from the COADD columns, the SPECOBJ row's fields and the primary header."""
    loglam = np.asarray(columns["LOGLAM"], dtype=np.float64)
    flux = np.asarray(columns["FLUX"], dtype=np.float32)
    and_mask = np.asarray(columns["AND_MASK"], dtype=np.int32) if "AND_MASK" in columns \
        else None
    ivar = _apply_brightsky(np.asarray(columns["IVAR"], dtype=np.float32), and_mask)
    _check_grid(path, loglam, flux, ivar)
    meta = dict(meta)
    for key, hkey in _HEADER_FALLBACK.items():
        if key not in meta and hkey in header:
            meta[key] = header[hkey]
    name_match = _BOSS_NAME.search(path.name)
    if name_match:
        for key, value in zip(("PLATE", "MJD", "FIBERID"), name_match.groups()[:3], strict=True):
            meta.setdefault(key, int(value))
    if "Z" not in meta:
        raise SpectrumFormatError(f"{path}: no redshift (SPECOBJ column Z or header Z)")
    if "PLUG_RA" not in meta or "PLUG_DEC" not in meta:
        raise SpectrumFormatError(f"{path}: no position (SPECOBJ PLUG_RA/PLUG_DEC)")
    return SpectrumRecord(
        plate=int(meta["PLATE"]) if "PLATE" in meta else None,
        mjd=int(meta["MJD"]) if "MJD" in meta else None,
        fiber=int(meta["FIBERID"]) if "FIBERID" in meta else None,
        thing_id=int(meta["THING_ID"]) if int(meta.get("THING_ID", -1)) >= 0 else None,
        ra_deg=float(meta["PLUG_RA"]),
        dec_deg=float(meta["PLUG_DEC"]),
        z_qso=float(meta["Z"]),
        loglam=loglam,
        flux=flux,
        ivar=ivar,
        and_mask=and_mask,
        source_path=str(path),
        sha256=digest,
        file_format="boss",
    )


def read_sdss_dr7_spspec(path: str | Path) -> SpectrumRecord:
    """Read an SDSS-I/II DR7 ``spSpec-MJD-PLATE-FIB.fit`` (primary image of 4+ rows)."""
    path = Path(path)
    data, digest = read_file_bytes(path)
    return _dr7_record(path, _open_fits(path, data), digest)


def _dr7_record(path: Path, hdul: Any, digest: str) -> SpectrumRecord:
    try:
        image = hdul[0].data
    except _parse_errors() as exc:
        raise SpectrumFormatError(f"{path}: damaged spectrum image ({exc})") from exc
    header = hdul[0].header
    if image is None or np.ndim(image) != 2 or image.shape[0] < 3:
        shape = None if image is None else image.shape
        raise SpectrumFormatError(
            f"{path}: primary HDU is not a (≥3, npix) spectrum image (shape {shape})"
        )
    missing = [k for k in ("COEFF0", "COEFF1", "Z") if k not in header]
    if missing:
        raise SpectrumFormatError(f"{path}: header lacks {', '.join(missing)}")
    npix = image.shape[1]
    loglam = float(header["COEFF0"]) + float(header["COEFF1"]) * np.arange(npix)
    flux = np.asarray(image[0], dtype=np.float32)
    error = np.asarray(image[2], dtype=np.float64)
    good = np.isfinite(error) & (error > 0)
    ivar = np.where(good, 1.0 / np.where(good, error, 1.0) ** 2, 0.0)
    and_mask = np.asarray(image[3], dtype=np.int64).astype(np.int32) if image.shape[0] > 3 else None
    ivar = _apply_brightsky(ivar.astype(np.float32), and_mask)
    _check_grid(path, loglam, flux, ivar)

    def opt_int(key: str) -> int | None:
        return int(header[key]) if key in header else None

    return SpectrumRecord(
        plate=opt_int("PLATEID"),
        mjd=opt_int("MJD"),
        fiber=opt_int("FIBERID"),
        thing_id=None,
        ra_deg=float(header.get("RAOBJ", header.get("RA", np.nan))),
        dec_deg=float(header.get("DECOBJ", header.get("DEC", np.nan))),
        z_qso=float(header["Z"]),
        loglam=loglam,
        flux=flux,
        ivar=ivar,
        and_mask=and_mask,
        source_path=str(path),
        sha256=digest,
        file_format="sdss_dr7",
    )


def _find(cols: dict[str, str], *candidates: str) -> str | None:
    for c in candidates:
        if c.upper() in cols:
            return cols[c.upper()]
    return None


def read_spectrum_table(
    path: str | Path, z_qso: float | None = None, format: str | None = None,
    content: tuple[bytes, str] | None = None,
) -> SpectrumRecord:
    """Read a plain table with loglam or wavelength (Å), flux and ivar (or error);
    ``content``: the file's (bytes, sha256) when the caller has read it already."""
    from astropy import units as u
    from astropy.table import Table

    path = Path(path)
    data, digest = content or read_file_bytes(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = file_format(path)
            if format is None and found is not None and found.name == "fits":
                table = Table.read(io.BytesIO(data), format="fits")
            else:
                table = Table.read(path, format=format)
    except Exception as exc:
        raise SpectrumFormatError(f"{path}: not a readable table ({exc})") from exc
    cols = {name.upper(): name for name in table.colnames}
    c_loglam = _find(cols, "loglam", "log_lambda")
    c_wave = _find(cols, "wavelength_aa", "wavelength", "wave", "lambda", "lam")
    c_flux = _find(cols, "flux")
    c_ivar = _find(cols, "ivar", "inverse_variance")
    c_err = _find(cols, "error", "sigma", "flux_err", "err")
    if (
        c_flux is None
        or (c_loglam is None and c_wave is None)
        or (c_ivar is None and c_err is None)
    ):
        raise SpectrumFormatError(
            f"{path}: need flux, loglam or wavelength, and ivar or error columns "
            f"(has {', '.join(table.colnames)})"
        )
    if c_loglam is not None:
        loglam = np.asarray(table[c_loglam], dtype=np.float64)
    else:
        assert c_wave is not None
        column = table[c_wave]
        wave = np.asarray(column, dtype=np.float64)
        if column.unit is not None:
            try:
                wave = (wave * column.unit).to_value(u.AA)
            except u.UnitConversionError as exc:
                raise SpectrumFormatError(
                    f"{path}: column {c_wave} has unit {column.unit}, not a length"
                ) from exc
        loglam = np.log10(wave)
    flux = np.asarray(table[c_flux], dtype=np.float32)
    if c_ivar is not None:
        ivar = np.asarray(table[c_ivar], dtype=np.float64)
    else:
        err = np.asarray(table[c_err], dtype=np.float64)
        good = np.isfinite(err) & (err > 0)
        ivar = np.where(good, 1.0 / np.where(good, err, 1.0) ** 2, 0.0)
    c_mask = _find(cols, "and_mask")
    and_mask = np.asarray(table[c_mask], dtype=np.int32) if c_mask else None
    ivar32 = _apply_brightsky(ivar.astype(np.float32), and_mask)
    _check_grid(path, loglam, flux, ivar32)

    meta = {str(k).upper(): v for k, v in table.meta.items()}
    c_z = _find(cols, "z_qso", "z")
    if z_qso is None:
        if c_z is not None:
            z_qso = float(np.asarray(table[c_z])[0])
        elif "Z_QSO" in meta:
            z_qso = float(meta["Z_QSO"])
        elif "Z" in meta:
            z_qso = float(meta["Z"])
        else:
            raise SpectrumFormatError(f"{path}: no z_qso column or metadata; pass z_qso=")

    def meta_value(*keys: str) -> Any:
        for key in keys:
            if key in meta:
                return meta[key]
            col = _find(cols, key)
            if col is not None:
                return np.asarray(table[col])[0]
        return None

    def opt_int(*keys: str) -> int | None:
        value = meta_value(*keys)
        return None if value is None else int(value)

    ra = meta_value("RA_DEG", "RA", "PLUG_RA")
    dec = meta_value("DEC_DEG", "DEC", "PLUG_DEC")
    return SpectrumRecord(
        plate=opt_int("PLATE"),
        mjd=opt_int("MJD"),
        fiber=opt_int("FIBER", "FIBERID"),
        thing_id=opt_int("THING_ID"),
        ra_deg=float("nan") if ra is None else float(ra),
        dec_deg=float("nan") if dec is None else float(dec),
        z_qso=float(z_qso),
        loglam=loglam,
        flux=flux,
        ivar=ivar32,
        and_mask=and_mask,
        source_path=str(path),
        sha256=digest,
        file_format="table",
    )


def _fits_layout(hdul: Any) -> str | None:
    """"boss" (a COADD table with FLUX, LOGLAM, IVAR), "sdss_dr7" (a 2-D image with
    COEFF0), else None (a plain table)."""
    if len(hdul) > 1 and getattr(hdul[1], "columns", None) is not None and \
            {"FLUX", "LOGLAM", "IVAR"} <= {n.upper() for n in hdul[1].columns.names}:
        return "boss"
    if hdul[0].header.get("NAXIS", 0) == 2 and "COEFF0" in hdul[0].header:
        return "sdss_dr7"
    return None


def read_spectrum(path: str | Path, z_qso: float | None = None,
                  content: tuple[bytes, str] | None = None) -> SpectrumRecord:
    """Read any supported spectrum file, recognising BOSS and DR7 FITS by their layout;
    ``content``: the file's (bytes, sha256) when the caller has read it already."""
    path = Path(path)
    found = KINDS["spectrum"].accepts(path)
    if found is None and path.exists():
        raise SpectrumFormatError(f"{path}: not a spectrum file; expected one of "
                                  f"{', '.join(KINDS['spectrum'].suffixes())}")
    if found is not None and found.name == "fits":
        content = content or read_file_bytes(path)
        data, digest = content
        fast = _boss_fast(path, data, digest)
        if fast is not None:
            return fast
        hdul = _open_fits(path, data)
        try:
            layout = _fits_layout(hdul)
        except _parse_errors() as exc:
            raise SpectrumFormatError(f"{path}: damaged FITS file ({exc})") from exc
        if layout == "boss":
            return _boss_from_hdul(path, hdul, digest, data)
        if layout == "sdss_dr7":
            return _dr7_record(path, hdul, digest)
    return read_spectrum_table(path, z_qso=z_qso, content=content)
