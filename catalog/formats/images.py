"""Galaxy image files in, profile FITS files out (no database, no Keras).

Every reader returns an :class:`ImageRecord` with pixels in **FITS
orientation**: row 0 is the bottom of the sky image (+y north when the WCS is
north-up). PNG and JPEG store the top row first, so their rows are flipped on
reading; position angles measured on any record therefore mean the same thing.

Formats
-------
FITS (``.fits .fit .fts``, optionally ``.gz``/``.fz``)
    The science image is the primary HDU or the HDU named/numbered by ``hdu``;
    without ``hdu``, every floating-point 2-D HDU that is not a noise or mask
    map becomes a channel (e.g. a DECaLS g/r/z cutout), and a 3-D cube's first
    axis becomes channels. Noise maps are recognised by EXTNAME (``RMS ERR
    SIGMA NOISE`` as sigma; ``WHT WEIGHT IVAR INVVAR`` as inverse variance) or
    by ``IMAGETYP`` (``invvar``/``weight``/``rms``), and converted to sigma
    (``inf`` where the inverse variance is 0). A separate noise file can be
    given as ``rms_path``.
    The AB zero point comes from ``MAGZERO``, ``MAGZPT``, ``PHOTZP`` or
    ``MAGZP``, else from HST's ``PHOTFLAM``/``PHOTPLAM``
    (``-2.5 log10 PHOTFLAM - 5 log10 PHOTPLAM - 2.408``). HST's ``PHOTZPT``
    is the ST-magnitude zero point of flux *densities* and is deliberately
    ignored. ``PSF_FWHM`` (arcsec) and ``SKYSIG`` (flux units) are read
    as-is; the pixel scale comes from the celestial WCS (CD or PC/CDELT).
PNG / JPEG
    Display images: RGB(A) become 3 channels (alpha dropped), grey stays 2-D,
    values scaled to [0, 1] by the integer type's maximum. No photometry.
NumPy ``.npy``
    Not an image format (no header, no WCS, no units) but a common way to
    ship cutouts: accepted as bare pixels (2-D, or 3-D with channels last)
    with every photometric field ``None``. Pickled/object arrays are refused.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from galcat.catalog.formats.fits_simple import SimpleFits, read_simple_fits
from galcat.catalog.formats.registry import KINDS, is_display_image

ZERO_POINT_KEYS = ("MAGZERO", "MAGZPT", "PHOTZP", "MAGZP")
SIGMA_NAMES = frozenset({"RMS", "ERR", "ERROR", "SIGMA", "NOISE", "STD"})
IVAR_NAMES = frozenset({"WHT", "WEIGHT", "IVAR", "INVVAR", "IVM"})
MASK_NAMES = frozenset({"MASK", "DQ", "SEG", "SEGMAP", "FLAGS", "BPM"})
MAX_HDUS = 1000
"""A FITS file with more HDUs than this is refused as damaged."""


class ImageFormatError(ValueError):
    """A file could not be read as a galaxy image; the message names the file."""


@dataclass(frozen=True)
class ImageRecord:
    """One image as read from a file.

    ``pixels`` is float32, ``(H, W)`` or ``(H, W, C)``; ``rms`` the per-pixel 1σ
    noise in the same shape (flux units) or ``None``. ``sha256`` is the hash of
    the file's bytes (for :func:`read_bands`, of the files' hashes in order). ``header`` maps FITS
    keywords to values (COMMENT/HISTORY dropped), ``header_text`` is the full
    header card image and ``wcs_header`` the celestial WCS cards ("" if none).
    """

    pixels: np.ndarray
    source_path: str
    sha256: str
    format: str
    rms: np.ndarray | None = None
    header: Mapping[str, Any] = field(default_factory=dict)
    header_text: str = ""
    wcs_header: str = ""
    zero_point: float | None = None
    zero_point_source: str | None = None
    psf_fwhm_arcsec: float | None = None
    sky_sigma: float | None = None
    pixel_scale_arcsec: float | None = None
    bands: tuple[str, ...] = ()
    centre_deg: tuple[float, float] | None = None
    """(RA, Dec) of the image centre from its celestial WCS, when it has one."""

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.pixels.shape)

    @property
    def display_image(self) -> bool:
        """A PNG or JPEG: scaled colours, no photometry."""
        return is_display_image(self.format)

    def profile_metadata(self) -> dict[str, Any]:
        """FITS-style keys for ``models.galaxy.profile.check_profile``."""
        ny, nx = self.pixels.shape[:2]
        return {
            "MAGZERO": self.zero_point,
            "PSF_FWHM": self.psf_fwhm_arcsec,
            "SKYSIG": self.sky_sigma,
            "PIXSCALE": self.pixel_scale_arcsec,
            "HAS_RMS": self.rms is not None,
            "NAXIS1": nx,
            "NAXIS2": ny,
        }


def _kind(path: Path) -> str:
    found = KINDS["image"].accepts(path)
    if found is None:
        raise ImageFormatError(
            f"{path}: unknown image type; expected one of {', '.join(KINDS['image'].suffixes())}")
    return {"png": "raster", "jpeg": "raster"}.get(found.name, found.name)


def read_image_bytes(path: Path) -> tuple[bytes, str]:
    """A file's bytes and their sha256 (hex), read once."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImageFormatError(f"{path}: cannot read file: {exc}") from exc
    return raw, hashlib.sha256(raw).hexdigest()


def read_image(
    path: str | Path, *, hdu: int | str | None = None, rms_path: str | Path | None = None,
    content: tuple[bytes, str] | None = None,
) -> ImageRecord:
    """Read a FITS, PNG/JPEG or .npy galaxy image; see the module docstring for the rules.
    ``content``: the file's (bytes, sha256) when the caller has read it already."""
    p = Path(path)
    kind = _kind(p)
    raw, digest = content or read_image_bytes(p)
    if kind == "fits":
        record = _read_fits(p, raw, digest, hdu)
    elif kind == "raster":
        record = _read_raster(p, raw, digest)
    else:
        record = _read_npy(p, raw, digest)
    if rms_path is not None:
        rms = read_image(rms_path).pixels
        if rms.shape != record.pixels.shape:
            raise ImageFormatError(
                f"{rms_path}: noise map shape {rms.shape} does not match "
                f"{p} pixels {record.pixels.shape}"
            )
        record = replace(record, rms=rms.astype(np.float32))
    return record


def _as_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool | str):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _header_dict(header: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for card in header.cards:
        key = card.keyword
        if not key or key in ("COMMENT", "HISTORY") or key in out:
            continue
        value = card.value
        out[key] = value if isinstance(value, bool | int | float | str) else None
    return out


def read_bands(paths: Sequence[str | Path], *, hdu: int | str | None = None) -> ImageRecord:
    """Single-band files of one cutout (same shape) stacked as channels ``(H, W, C)``.

    Metadata (zero point, PSF, WCS, header) are the first file's; each file's
    band name (``BAND``/``FILTER``, else the file name) goes to ``bands``. Files
    with different zero points are refused: put them on one zero point first.
    """
    if not paths:
        raise ValueError("read_bands needs at least one file")
    records = [read_image(p, hdu=hdu) for p in paths]
    first = records[0]
    for rec in records:
        if rec.pixels.shape != first.pixels.shape or rec.pixels.ndim != 2:
            raise ImageFormatError(f"{rec.source_path}: shape {rec.pixels.shape} does not "
                                   f"stack with {first.source_path} {first.pixels.shape}")
        if rec.zero_point != first.zero_point:
            raise ImageFormatError(f"{rec.source_path}: zero point {rec.zero_point} differs "
                                   f"from {first.source_path} ({first.zero_point})")
    rms = None
    if all(r.rms is not None for r in records):
        rms = np.stack([r.rms for r in records if r.rms is not None], axis=-1)
    bands = tuple(r.bands[0] if r.bands else Path(r.source_path).name for r in records)
    digest = hashlib.sha256("".join(r.sha256 for r in records).encode()).hexdigest()
    return replace(first, pixels=np.stack([r.pixels for r in records], axis=-1), rms=rms,
                   bands=bands, sha256=digest,
                   source_path=";".join(r.source_path for r in records))


def zero_point_from_header(header: Mapping[str, Any]) -> tuple[float | None, str | None]:
    """AB zero point and the keyword(s) it came from (``(None, None)`` if absent)."""
    for key in ZERO_POINT_KEYS:
        zp = _as_float(header.get(key))
        if zp is not None:
            return zp, key
    photflam, photplam = _as_float(header.get("PHOTFLAM")), _as_float(header.get("PHOTPLAM"))
    if photflam and photplam and photflam > 0 and photplam > 0:
        zp = -2.5 * math.log10(photflam) - 5.0 * math.log10(photplam) - 2.408
        return zp, "PHOTFLAM/PHOTPLAM"
    return None, None


def _role(hdu: Any) -> str:
    """'science', 'sigma', 'ivar', 'mask' or 'other' for one HDU."""
    data = hdu.data
    if data is None or data.ndim not in (2, 3) or data.size == 0:
        return "other"
    name = (hdu.name or "").upper()
    imagetyp = str(hdu.header.get("IMAGETYP", "")).strip().upper()
    for tag in (name, imagetyp):
        if tag in SIGMA_NAMES:
            return "sigma"
        if tag in IVAR_NAMES:
            return "ivar"
        if tag in MASK_NAMES:
            return "mask"
    if not np.issubdtype(data.dtype, np.floating):
        return "mask"
    return "science"


def _sigma_from(hdu: Any, role: str) -> np.ndarray:
    data = np.asarray(hdu.data, dtype=np.float64)
    if role == "sigma":
        return data.astype(np.float32)
    with np.errstate(divide="ignore"):
        return np.where(data > 0, 1.0 / np.sqrt(np.where(data > 0, data, 1.0)), np.inf).astype(
            np.float32
        )


def _channels_last(data: np.ndarray) -> np.ndarray:
    arr = np.asarray(data, dtype=np.float32)
    return np.moveaxis(arr, 0, -1) if arr.ndim == 3 else arr


_WCS_KEY = re.compile(
    r"^(NAXIS\d*|WCSAXES|CTYPE\d|CRPIX\d|CRVAL\d|CDELT\d|CUNIT\d|CD\d_\d|"
    r"PC\d_\d|PV\d_\d+|CROTA\d|LONPOLE|LATPOLE|RADESYS|RADECSYS|EQUINOX|"
    r"EPOCH|MJD-OBS|DATE-OBS|[AB]P?_\d+_\d+|[AB]P?_ORDER)$"
)


_TAN_KEY = re.compile(r"^(CTYPE|CRPIX|CRVAL|CDELT|CUNIT)[12]$|^(CD|PC)[12]_[12]$|"
                      r"^(LONPOLE|LATPOLE|RADESYS|RADECSYS|EQUINOX|EPOCH|MJD-OBS|DATE-OBS)$")
_AXIS_KEY = re.compile(r"^(WCSAXES|NAXIS\d*)$")


def plain_tan_wcs(header: Any, shape: tuple[int, ...]
                  ) -> tuple[float | None, str, tuple[float, float] | None] | None:
    """As ``_celestial_wcs`` without astropy's WCS, for a plain RA---TAN/DEC--TAN header
    (CD, or PC and/or CDELT, in degrees; no distortion, PV, CROTA or third axis): pixel
    scale in arcsec, the WCS cards as read, and (RA, Dec) of the image centre in degrees
    by the gnomonic deprojection of Calabretta & Greisen (2002); (None, "", None) for a
    header with no WCS cards at all. None for other headers."""
    cards, values = [], {}
    for card in header.cards:
        key = card.keyword
        if _AXIS_KEY.match(key):
            continue
        if _TAN_KEY.match(key):
            cards.append(card.image)
            values[key] = card.value
        elif _WCS_KEY.match(key):
            return None
    if not any(k.startswith("CTYPE") for k in values):
        return None, "", None
    try:
        if (str(values.get("CTYPE1")).strip(), str(values.get("CTYPE2")).strip()) != (
                "RA---TAN", "DEC--TAN"):
            return None
        if any(str(values.get(f"CUNIT{i}", "deg")).strip().lower() not in ("deg", "")
               for i in (1, 2)):
            return None
        if float(values.get("LONPOLE", 180.0)) != 180.0:
            return None
        cd_keys = [f"CD{i}_{j}" for i in (1, 2) for j in (1, 2)]
        has_cd = any(k in values for k in cd_keys)
        if has_cd:
            if not all(k in values for k in cd_keys) or any(
                    k.startswith(("PC", "CDELT")) for k in values):
                return None
            cd = np.array([[float(values["CD1_1"]), float(values["CD1_2"])],
                           [float(values["CD2_1"]), float(values["CD2_2"])]])
        else:
            pc = np.array([[float(values.get(f"PC{i}_{j}", float(i == j))) for j in (1, 2)]
                           for i in (1, 2)])
            cd = np.array([float(values.get("CDELT1", 1.0)),
                           float(values.get("CDELT2", 1.0))])[:, None] * pc
        crpix = np.array([float(values["CRPIX1"]), float(values["CRPIX2"])])
        ra0, dec0 = float(values["CRVAL1"]), float(values["CRVAL2"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (np.isfinite(cd).all() and np.isfinite(crpix).all() and math.isfinite(ra0)
            and abs(dec0) < 90.0) or np.linalg.det(cd) == 0:
        return None
    scales = np.sqrt((cd ** 2).sum(axis=0)) * 3600.0
    scale = float(np.sqrt(scales[0] * scales[1]))
    ny, nx = shape[:2]
    centre = tan_pix2world(cd, crpix, ra0, dec0, (nx - 1) / 2.0, (ny - 1) / 2.0)
    text = "".join(["WCSAXES =                    2".ljust(80), *cards, "END".ljust(80)])
    text = text.ljust(-(-len(text) // 2880) * 2880)
    return (scale if math.isfinite(scale) and scale > 0 else None), text, centre


def tan_pix2world(cd: np.ndarray, crpix: np.ndarray, ra0: float, dec0: float, x: float,
                  y: float) -> tuple[float, float] | None:
    """(RA, Dec) in degrees of 0-based pixel (x, y) under a TAN projection with the CD
    matrix ``cd`` (deg/pixel), reference pixel ``crpix`` (1-based) at (``ra0``, ``dec0``)
    degrees and LONPOLE 180°; None where the point is not on the sphere."""
    xi, eta = cd @ (np.array([x + 1.0, y + 1.0]) - crpix)
    phi = math.atan2(xi, -eta)
    theta = math.atan2(180.0 / math.pi, math.hypot(xi, eta))
    dphi = phi - math.pi
    d0 = math.radians(dec0)
    ra = ra0 + math.degrees(math.atan2(
        -math.cos(theta) * math.sin(dphi),
        math.sin(theta) * math.cos(d0) - math.cos(theta) * math.sin(d0) * math.cos(dphi)))
    dec = math.degrees(math.asin(max(-1.0, min(1.0, math.sin(theta) * math.sin(d0)
                                               + math.cos(theta) * math.cos(d0)
                                               * math.cos(dphi)))))
    if not (math.isfinite(ra) and math.isfinite(dec)):
        return None
    return float(ra % 360.0), float(dec)


def _celestial_wcs(header: Any, shape: tuple[int, ...]
                   ) -> tuple[float | None, str, tuple[float, float] | None]:
    """(pixel scale in arcsec, celestial WCS cards, (RA, Dec) of the image centre in
    degrees) from one WCS built from the header; (None, "", None) without one."""
    fast = plain_tan_wcs(header, shape)
    if fast is not None:
        return fast
    from astropy.io import fits
    from astropy.wcs import WCS, FITSFixedWarning

    try:
        small = fits.Header([c for c in header.cards if _WCS_KEY.match(c.keyword)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            wcs = WCS(small, naxis=2)
    except Exception:
        return None, "", None
    if not wcs.has_celestial:
        return None, "", None
    from astropy.wcs.utils import proj_plane_pixel_scales

    celestial = wcs if wcs.is_celestial else wcs.celestial
    scales = proj_plane_pixel_scales(celestial) * 3600.0
    scale = float(np.sqrt(scales[0] * scales[1]))
    centre = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ny, nx = shape[:2]
            ra, dec = celestial.all_pix2world([[(nx - 1) / 2.0, (ny - 1) / 2.0]], 0)[0]
        if math.isfinite(ra) and math.isfinite(dec) and abs(dec) <= 90:
            centre = (float(ra % 360.0), float(dec))
    except Exception:
        centre = None
    return ((scale if math.isfinite(scale) and scale > 0 else None),
            celestial.to_header_string(relax=True), centre)


def _from_simple(path: Path, digest: str, simple: SimpleFits) -> ImageRecord | None:
    """What ``_from_hdul`` gives for a one-image file read by ``read_simple_fits``; None
    where its WCS needs astropy (then the whole file is read by astropy)."""
    header = _header_dict(simple)
    wcs = plain_tan_wcs(simple, simple.data.shape)
    if wcs is None:
        return None
    bands = (str(header.get("BAND", header.get("FILTER", ""))),)
    return _fits_record(path, digest, _channels_last(simple.data), None, header,
                        simple.header_text, wcs, bands)


def _open_fits(path: Path, raw: bytes) -> Any:
    """``raw`` opened by astropy, refused if it has more than :data:`MAX_HDUS` HDUs: a
    negative NAXISn can send astropy back over the same bytes, finding HDUs without end."""
    from astropy.io import fits

    hdul = fits.open(io.BytesIO(raw), memmap=False, lazy_load_hdus=True)
    try:
        hdul[MAX_HDUS]
    except IndexError:
        return hdul
    except Exception:
        hdul.close()
        raise
    hdul.close()
    raise ImageFormatError(f"{path}: more than {MAX_HDUS} HDUs; is a header damaged?")


def _read_fits(path: Path, raw: bytes, digest: str, hdu: int | str | None) -> ImageRecord:
    try:
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        simple = read_simple_fits(raw) if hdu is None else None
        record = None if simple is None else _from_simple(path, digest, simple)
        if record is not None:
            return record
        with _open_fits(path, raw) as hdul:
            try:
                return _from_hdul(path, digest, hdul, hdu)
            except ImageFormatError:
                raise
            except Exception:
                pass
        with _open_fits(path, raw) as hdul:
            hdul.verify("silentfix")
            return _from_hdul(path, digest, hdul, hdu)
    except ImageFormatError:
        raise
    except Exception as exc:
        raise ImageFormatError(f"{path}: not a readable FITS image: {exc}") from exc


def _from_hdul(path: Path, digest: str, hdul: Any, hdu: int | str | None) -> ImageRecord:
    roles = [_role(h) for h in hdul]
    if hdu is not None:
        try:
            chosen = [hdul.index_of(hdu)]
        except (KeyError, IndexError) as exc:
            raise ImageFormatError(f"{path}: no HDU {hdu!r}") from exc
        if hdul[chosen[0]].data is None or hdul[chosen[0]].data.size == 0:
            raise ImageFormatError(f"{path}: HDU {hdu!r} holds no data")
    else:
        chosen = [i for i, r in enumerate(roles) if r == "science"]
        if not chosen:
            raise ImageFormatError(f"{path}: no floating-point image HDU found")
        first_shape = hdul[chosen[0]].data.shape
        chosen = [i for i in chosen if hdul[i].data.shape == first_shape]
    science = [_channels_last(hdul[i].data) for i in chosen]
    pixels = science[0] if len(science) == 1 else np.stack(science, axis=-1)

    noise_idx = [
        i
        for i, r in enumerate(roles)
        if r in ("sigma", "ivar") and hdul[i].data.shape[-2:] == pixels.shape[:2]
    ]
    rms = None
    if noise_idx:
        maps = [_channels_last(_sigma_from(hdul[i], roles[i])) for i in noise_idx]
        if len(maps) == 1:
            rms = maps[0]
        elif len(maps) == len(chosen) and all(m.shape == pixels.shape[:2] for m in maps):
            rms = np.stack(maps, axis=-1)
        if rms is not None and rms.shape != pixels.shape:
            rms = None

    head = hdul[chosen[0]].header
    merged = _header_dict(hdul[0].header) if chosen[0] != 0 else {}
    merged.update(_header_dict(head))
    bands = tuple(str(hdul[i].header.get("BAND", hdul[i].header.get("FILTER", ""))) for i in chosen)
    return _fits_record(path, digest, pixels, rms, merged, head.tostring(sep="\n"),
                        _celestial_wcs(head, pixels.shape), bands)


def _fits_record(path: Path, digest: str, pixels: np.ndarray, rms: np.ndarray | None,
                 header: dict[str, Any], header_text: str,
                 wcs: tuple[float | None, str, tuple[float, float] | None],
                 bands: tuple[str, ...]) -> ImageRecord:
    """The record of a FITS image from its pixels, header and (scale, WCS cards, centre)."""
    scale, wcs_text, centre = wcs
    zp, zp_src = zero_point_from_header(header)
    return ImageRecord(
        pixels=pixels,
        source_path=str(path),
        sha256=digest,
        format="fits",
        rms=rms,
        header=header,
        header_text=header_text,
        wcs_header=wcs_text,
        zero_point=zp,
        zero_point_source=zp_src,
        psf_fwhm_arcsec=_as_float(header.get("PSF_FWHM")),
        sky_sigma=_as_float(header.get("SKYSIG")),
        pixel_scale_arcsec=scale,
        bands=bands if any(bands) else (),
        centre_deg=centre,
    )


def _read_raster(path: Path, raw: bytes, digest: str) -> ImageRecord:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(raw)) as im:
            im.load()
            mode = im.mode
            if mode in ("I;16", "I;16B", "I;16L"):
                arr, top = np.asarray(im, dtype=np.float64), 65535.0
            elif mode in ("L", "1"):
                arr, top = np.asarray(im.convert("L"), dtype=np.float64), 255.0
            else:
                arr, top = np.asarray(im.convert("RGB"), dtype=np.float64), 255.0
    except Exception as exc:
        raise ImageFormatError(f"{path}: not a readable PNG/JPEG image: {exc}") from exc
    pixels = np.ascontiguousarray(np.flipud(arr / top)).astype(np.float32)
    bands = ("R", "G", "B") if pixels.ndim == 3 else ()
    return ImageRecord(
        pixels=pixels,
        source_path=str(path),
        sha256=digest,
        format=path.suffix.lower().lstrip("."),
        bands=bands,
        header={"MODE": mode},
    )


def _read_npy(path: Path, raw: bytes, digest: str) -> ImageRecord:
    try:
        arr = np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as exc:
        raise ImageFormatError(
            f"{path}: not a readable .npy array (pickles are refused): {exc}"
        ) from exc
    if (
        not isinstance(arr, np.ndarray)
        or arr.ndim not in (2, 3)
        or arr.size == 0
        or not np.issubdtype(arr.dtype, np.number)
    ):
        raise ImageFormatError(
            f"{path}: .npy holds {getattr(arr, 'shape', '?')} "
            f"{getattr(arr, 'dtype', '?')}, not a 2-D/3-D numeric image"
        )
    return ImageRecord(
        pixels=arr.astype(np.float32), source_path=str(path), sha256=digest, format="npy"
    )
