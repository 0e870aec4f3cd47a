"""Galaxy image files with their companions: noise maps, inverse-variance maps, PSFs, masks.

A file named like another one in the same folder plus a companion word (``_rms _sig
_sigma _err _noise``; ``_wht _weight _ivar``; ``_psf``; ``_mask``, or that word in place
of ``_im _image _sci _cutout``) is that image's noise map, PSF or bad-pixel mask (masked
pixels get an infinite RMS) rather than an image of its own. Used alike by ingest and by
the quick-look scans, so both see the same images.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from galcat.catalog.formats.errors import InputError
from galcat.catalog.formats.images import ImageRecord, read_image
from galcat.catalog.formats.registry import strip_suffix

COMPANION_ROLES = {
    "rms": "rms", "sig": "rms", "sigma": "rms", "err": "rms", "error": "rms", "noise": "rms",
    "std": "rms", "wht": "ivar", "weight": "ivar", "ivar": "ivar", "invvar": "ivar",
    "psf": "psf", "mask": "mask", "msk": "mask", "bpm": "mask",
}
SCIENCE_WORDS = ("im", "img", "image", "sci", "cutout", "drz", "data")


@dataclass(frozen=True)
class ImageGroup:
    """A science file and its companion files by role (rms, ivar, psf, mask)."""

    science: Path
    companions: dict[str, Path] = field(default_factory=dict)


def group_files(files: Sequence[Path]) -> tuple[list[ImageGroup], dict[Path, Path]]:
    """Science files with their companions, and which companion went to which image."""
    index = {(f.parent, file_stem(f.name).lower()): f for f in files}
    owner: dict[Path, tuple[Path, str]] = {}
    for f in files:
        words = file_stem(f.name).split("_")
        for j, word in enumerate(words):
            role = COMPANION_ROLES.get(word.lower())
            if role is None or len(words) == 1:
                continue
            rest = words[:j] + words[j + 1:]
            bases = ["_".join(rest)] + ["_".join([*words[:j], s, *words[j + 1:]])
                                        for s in SCIENCE_WORDS]
            target = next((index[(f.parent, b.lower())] for b in bases
                           if (f.parent, b.lower()) in index and index[(f.parent, b.lower())]
                           != f), None)
            if target is not None:
                owner[f] = (target, role)
                break
    groups: dict[Path, ImageGroup] = {}
    for f in files:
        if f not in owner or owner[f][0] in owner:
            groups[f] = ImageGroup(f, {})
    attached: dict[Path, Path] = {}
    for f, (target, role) in owner.items():
        if f in groups or target not in groups:
            continue
        if role in groups[target].companions:
            groups[f] = ImageGroup(f, {})
            continue
        groups[target].companions[role] = f
        attached[f] = target
    return [groups[f] for f in files if f in groups], attached


def read_group(group: ImageGroup, hdu: int | str | None = None,
               content: tuple[bytes, str] | None = None,
               ) -> tuple[ImageRecord, np.ndarray | None, dict[str, Any]]:
    """The science record with its noise map attached, the PSF image, and row metadata;
    ``content``: the science file's (bytes, sha256) when the caller has read it already."""
    record = read_image(group.science, hdu=hdu, content=content)
    rms = record.rms
    shape = record.pixels.shape
    if "rms" in group.companions:
        rms = _companion(group, "rms", shape)
    elif "ivar" in group.companions:
        ivar = _companion(group, "ivar", shape).astype(np.float64)
        with np.errstate(divide="ignore"):
            rms = np.where(ivar > 0, 1.0 / np.sqrt(np.where(ivar > 0, ivar, 1.0)), np.inf)
    if "mask" in group.companions:
        bad = _companion(group, "mask", shape[:2]) != 0
        if len(shape) == 3:
            bad = np.broadcast_to(bad[..., None], shape)
        rms = np.where(bad, np.inf, np.nan if rms is None else rms)
    psf = None
    if "psf" in group.companions:
        psf = read_image(group.companions["psf"]).pixels
    if rms is not None:
        record = replace(record, rms=np.asarray(rms, dtype=np.float32))
    extra: dict[str, Any] = {
        "format": record.format, "zero_point_source": record.zero_point_source,
        "has_rms": bool(rms is not None and np.isfinite(rms).any()),
        "companions": {role: str(p) for role, p in group.companions.items()},
        "header": _json_safe(dict(record.header)),
    }
    centre = wcs_centre(record)
    if centre is not None:
        extra["centre_ra_deg"], extra["centre_dec_deg"] = centre
    if psf is not None:
        extra["psf_shape"] = list(psf.shape)
        if record.psf_fwhm_arcsec is None and record.pixel_scale_arcsec:
            fwhm = psf_fwhm_px(psf if psf.ndim == 2 else psf[..., -1])
            if fwhm is not None:
                record = replace(record, psf_fwhm_arcsec=fwhm * record.pixel_scale_arcsec)
                extra["psf_fwhm_source"] = "half-maximum area of the PSF image"
    return record, psf, extra


def _companion(group: ImageGroup, role: str, shape: tuple[int, ...]) -> np.ndarray:
    path = group.companions[role]
    pixels = read_image(path).pixels
    if pixels.shape != shape:
        raise InputError(path, f"{role} map of shape {pixels.shape} does not match "
                         f"{group.science.name} of shape {shape}")
    return pixels


def psf_fwhm_px(psf: np.ndarray) -> float | None:
    """FWHM (pixels) of a PSF image from the area above half its maximum, ``2 sqrt(A/π)``."""
    p = np.nan_to_num(np.asarray(psf, dtype=float))
    peak = p.max()
    if not peak > 0:
        return None
    return float(2.0 * math.sqrt((p >= 0.5 * peak).sum() / math.pi))


def wcs_centre(record: ImageRecord) -> tuple[float, float] | None:
    """(RA, Dec) in degrees of the image centre from its celestial WCS, if any."""
    if record.centre_deg is not None:
        return record.centre_deg
    if not record.wcs_header:
        return None
    import warnings

    from astropy.io import fits
    from astropy.wcs import WCS

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            text = record.wcs_header
            wcs = WCS(fits.Header.fromstring(text, sep="\n" if "\n" in text else ""))
            ny, nx = record.pixels.shape[:2]
            ra, dec = wcs.all_pix2world([[(nx - 1) / 2.0, (ny - 1) / 2.0]], 0)[0]
    except Exception:
        return None
    if not (math.isfinite(ra) and math.isfinite(dec)) or abs(dec) > 90:
        return None
    return float(ra % 360.0), float(dec)


def file_stem(name: str) -> str:
    """A file name without its directory and suffix (``a/b.fits.gz`` → ``b``)."""
    return strip_suffix(name)


def file_keys(name: str) -> set[str]:
    """Lower-case keys a catalogue value may use for a file: its base name and its stem."""
    if not name:
        return set()
    base = Path(name.replace("\\", "/")).name.lower()
    return {base, file_stem(base).lower()} - {""}


def _json_safe(header: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in header.items():
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        if isinstance(value, str):
            value = value.replace("\x00", "")
        out[str(key)] = value
    return out

