"""Images written in the galcat imaging profile (the FITS layout the readers expect of
mock and converted cutouts)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np


def write_profile_fits(
    path: str | Path,
    image: np.ndarray,
    meta: Mapping[str, Any],
    *,
    rms: np.ndarray | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a 2-D image in the galcat imaging profile (MAGZERO, PSF_FWHM, SKYSIG, TAN WCS).

    ``meta`` keys (case-insensitive): ``zero_point`` (required), ``psf_fwhm_arcsec``,
    ``sky_sigma``, ``pixel_scale_arcsec`` (default 0.06), ``ra_deg``/``dec_deg``
    of the stamp centre (default 0, 0), ``profile`` (a name), and any 8-character
    FITS keywords (e.g. truth: ``MAG``, ``RE_ARCS``) which are copied verbatim.
    The WCS is north up, east left (``CD1_1 < 0``), reference pixel at the
    stamp centre.
    """
    from astropy.io import fits

    arr = np.asarray(image, dtype=np.float32)
    if arr.ndim != 2:
        raise ValueError(f"image must be 2-D, got shape {arr.shape}")
    m = {str(k).lower(): v for k, v in meta.items()}
    if "zero_point" not in m:
        raise ValueError("meta needs 'zero_point' (AB mag of one flux unit)")
    scale = float(m.get("pixel_scale_arcsec", 0.06))
    hdr = fits.Header()
    ny, nx = arr.shape
    cards: list[tuple[str, Any, str]] = [
        ("CTYPE1", "RA---TAN", ""),
        ("CTYPE2", "DEC--TAN", ""),
        ("CRPIX1", (nx + 1) / 2.0, "stamp centre (1-indexed)"),
        ("CRPIX2", (ny + 1) / 2.0, "stamp centre (1-indexed)"),
        ("CRVAL1", float(m.get("ra_deg", 0.0)), "[deg]"),
        ("CRVAL2", float(m.get("dec_deg", 0.0)), "[deg]"),
        ("CD1_1", -scale / 3600.0, "[deg/pix] east left"),
        ("CD1_2", 0.0, ""),
        ("CD2_1", 0.0, ""),
        ("CD2_2", scale / 3600.0, "[deg/pix] north up"),
        ("CUNIT1", "deg", ""),
        ("CUNIT2", "deg", ""),
        ("PIXSCALE", scale, "[arcsec/pix]"),
        ("MAGZERO", float(m["zero_point"]), "AB mag = MAGZERO - 2.5 log10(counts)"),
        ("BUNIT", "counts", "flux units of MAGZERO"),
    ]
    if m.get("psf_fwhm_arcsec") is not None:
        cards.append(("PSF_FWHM", float(m["psf_fwhm_arcsec"]), "[arcsec] Gaussian PSF FWHM"))
    if m.get("sky_sigma") is not None:
        cards.append(("SKYSIG", float(m["sky_sigma"]), "per-pixel 1-sigma noise [counts]"))
    if m.get("profile") is not None:
        cards.append(("PROFILE", str(m["profile"]), "galcat imaging profile"))
    for key, value, comment in cards:
        hdr[key] = (value, comment)
    reserved = {
        "zero_point",
        "psf_fwhm_arcsec",
        "sky_sigma",
        "pixel_scale_arcsec",
        "ra_deg",
        "dec_deg",
        "profile",
    }
    for key, value in meta.items():
        if str(key).lower() in reserved:
            continue
        if len(str(key)) > 8:
            raise ValueError(f"extra FITS keyword {key!r} is longer than 8 characters")
        hdr[str(key).upper()] = value
    hdus = [fits.PrimaryHDU(arr, header=hdr)]
    if rms is not None:
        hdus.append(fits.ImageHDU(np.asarray(rms, dtype=np.float32), name="RMS"))
    out = Path(path)
    fits.HDUList(hdus).writeto(out, overwrite=overwrite)
    return out
