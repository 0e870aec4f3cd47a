"""Turning profile images into network inputs without losing the photometry.

A CNN fed images scaled per galaxy (e.g. divided by their maximum) cannot
know how bright the galaxy was. galcat's networks instead see

* pixels converted to the reference zero point :data:`REFERENCE_ZERO_POINT`
  (``p' = p 10^(0.4 (ZP_ref - ZP))``), so the same galaxy gives the same
  numbers whatever the file's MAGZERO;
* channel 0, an absolute stretch ``asinh(p' / STRETCH_SCALE) / 8`` with the
  fixed scale ``STRETCH_SCALE`` = the 1σ per-pixel flux at 26 mag/arcsec²
  (linear in the noise, logarithmic in bright cores, and invertible, so no
  information is lost);
* channel 1, a shape stretch ``asinh(p' / (0.01 F)) / 5`` with ``F`` the
  stamp's flux sum (floored at 5 noise sigmas), the same for a galaxy at any
  magnitude;
* three scalars: ``(m_sum - 22) / 2`` where ``m_sum = ZP_ref - 2.5 log10 F``
  is the flux-sum magnitude inside the stamp, ``log10(sky_sigma' / STRETCH_SCALE)``
  and ``(psf_fwhm_arcsec - 0.18) / 0.04``.

The emulator predicts the magnitude as ``m_sum + dmag``: the network only
learns the correction for light outside the stamp and for noise, a small
number, so magnitudes stay exact to the extent the flux sum is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from galcat.models.galaxy.profile import HST_F160W_64, ImagingProfile, crop_or_pad

REFERENCE_ZERO_POINT = HST_F160W_64.magzero_default
STRETCH_SCALE = float(HST_F160W_64.sky_sigma(26.0))
N_SCALARS = 3


@dataclass(frozen=True)
class NetworkInputs:
    """Arrays for the networks: ``image`` (N, S, S, 2) and ``scalars`` (N, 3), float32."""

    image: np.ndarray
    scalars: np.ndarray
    mag_sum: np.ndarray
    sky_sigma: np.ndarray

    def as_dict(self) -> dict[str, np.ndarray]:
        return {"image": self.image, "scalars": self.scalars}


def estimate_sky_sigma(images: np.ndarray, border_px: int = 4) -> np.ndarray:
    """Robust per-image noise sigma (flux units) from the stamp border (1.4826 MAD)."""
    imgs = np.asarray(images, dtype=float)
    mask = np.ones(imgs.shape[-2:], dtype=bool)
    mask[border_px:-border_px, border_px:-border_px] = False
    edge = imgs[..., mask]
    med = np.median(edge, axis=-1, keepdims=True)
    return np.asarray(1.4826 * np.median(np.abs(edge - med), axis=-1))


def _per_image(value: float | np.ndarray | None, n: int, default: float) -> np.ndarray:
    arr = np.asarray(default if value is None else value, dtype=float)
    return np.broadcast_to(arr, (n,)).astype(float)


def network_inputs(images: np.ndarray, *, zero_point: float | np.ndarray | None = None,
                   psf_fwhm_arcsec: float | np.ndarray | None = None,
                   sky_sigma: float | np.ndarray | None = None,
                   profile: ImagingProfile = HST_F160W_64) -> NetworkInputs:
    """Network inputs for images ``(N, H, W)`` in flux units (cropped/padded to the profile).

    ``zero_point`` defaults to the profile's MAGZERO, ``psf_fwhm_arcsec`` to the
    middle of the trained range, ``sky_sigma`` (flux units, at ``zero_point``)
    to :func:`estimate_sky_sigma`.
    """
    imgs = crop_or_pad(np.asarray(images, dtype=float), profile.size_px)
    if imgs.ndim == 2:
        imgs = imgs[None]
    n = imgs.shape[0]
    zp = _per_image(zero_point, n, profile.magzero_default)
    fwhm = _per_image(psf_fwhm_arcsec, n, float(np.mean(profile.psf_fwhm_arcsec)))
    sigma = (estimate_sky_sigma(imgs) if sky_sigma is None
             else _per_image(sky_sigma, n, 0.0))
    gain = 10.0 ** (0.4 * (REFERENCE_ZERO_POINT - zp))
    ref = imgs * gain[:, None, None]
    sigma_ref = np.maximum(sigma * gain, 1e-12)
    flux = ref.sum(axis=(1, 2))
    floor = 5.0 * sigma_ref * profile.size_px
    flux_pos = np.maximum(flux, floor)
    mag_sum = REFERENCE_ZERO_POINT - 2.5 * np.log10(flux_pos)
    absolute = np.arcsinh(ref / STRETCH_SCALE) / 8.0
    shape = np.arcsinh(ref / (0.01 * flux_pos[:, None, None])) / 5.0
    image = np.stack([absolute, shape], axis=-1).astype(np.float32)
    scalars = np.stack([(mag_sum - 22.0) / 2.0, np.log10(sigma_ref / STRETCH_SCALE),
                        (fwhm - 0.18) / 0.04], axis=-1).astype(np.float32)
    return NetworkInputs(image=image, scalars=scalars, mag_sum=mag_sum, sky_sigma=sigma)
