"""Sérsic profile mathematics in GALFIT conventions (see :mod:`models.galaxy.profile`).

``I(r) = I_e exp(-b_n [(r / r_eff)^(1/n) - 1])`` with ``r`` the elliptical
radius ``sqrt(a^2 + (b/q)^2)``, ``a`` along the major axis. ``b_n`` is exact:
``gammaincinv(2n, 1/2)``, so that ``r_eff`` encloses half of the flux
integrated to infinity.
"""

from __future__ import annotations

import numpy as np
from scipy import special

ArrayLike = float | np.ndarray


def sersic_bn(n: ArrayLike) -> np.ndarray:
    """Exact ``b_n`` for Sérsic index ``n`` (dimensionless)."""
    return np.asarray(special.gammaincinv(2.0 * np.asarray(n, dtype=float), 0.5))


def log_central_intensity(flux: ArrayLike, r_eff_px: ArrayLike, n: ArrayLike,
                          q: ArrayLike) -> np.ndarray:
    """``ln I_0`` (flux per pixel²) of a profile with total ``flux`` (to infinity).

    ``F = 2 pi q r_eff^2 n Gamma(2n) b_n^(-2n) I_0`` with ``I_0 = I_e exp(b_n)``.
    """
    n = np.asarray(n, dtype=float)
    b = sersic_bn(n)
    return (np.log(flux) - np.log(2.0 * np.pi * np.asarray(q) * np.asarray(r_eff_px) ** 2 * n)
            - special.gammaln(2.0 * n) + 2.0 * n * np.log(b))


def intensity_at_r_eff(flux: ArrayLike, r_eff_px: ArrayLike, n: ArrayLike,
                       q: ArrayLike) -> np.ndarray:
    """Surface brightness ``I_e`` at ``r_eff`` (flux per pixel²) for total ``flux``."""
    return np.exp(log_central_intensity(flux, r_eff_px, n, q) - sersic_bn(n))


def total_flux(i_e: ArrayLike, r_eff_px: ArrayLike, n: ArrayLike, q: ArrayLike) -> np.ndarray:
    """Total flux to infinity of a profile with ``I_e`` (flux per pixel²) at ``r_eff``."""
    n = np.asarray(n, dtype=float)
    b = sersic_bn(n)
    return np.asarray(2.0 * np.pi * np.asarray(q) * np.asarray(r_eff_px) ** 2 * n * np.asarray(i_e)
                      * np.exp(b + special.gammaln(2.0 * n) - 2.0 * n * np.log(b)))


def enclosed_fraction(r_over_r_eff: ArrayLike, n: ArrayLike) -> np.ndarray:
    """Fraction of the total flux inside elliptical radius ``r / r_eff``."""
    n = np.asarray(n, dtype=float)
    x = sersic_bn(n) * np.asarray(r_over_r_eff, dtype=float) ** (1.0 / n)
    return np.asarray(special.gammainc(2.0 * n, x))


def major_minor(dx: np.ndarray, dy: np.ndarray, pa_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Offsets along the major (``a``) and minor (``b``) axes for PA east of north.

    The major axis points along ``(-sin PA, cos PA)`` in ``(x, y)``: PA=0 is
    ``+y`` (north), PA=90 is ``-x`` (east, to the left).
    """
    t = np.deg2rad(pa_deg)
    s, c = np.sin(t), np.cos(t)
    return -dx * s + dy * c, dx * c + dy * s


def elliptical_radius(dx: np.ndarray, dy: np.ndarray, q: float, pa_deg: float) -> np.ndarray:
    """Elliptical radius ``sqrt(a^2 + (b/q)^2)`` (pixels) of offsets ``dx, dy`` from the centre."""
    a, b = major_minor(dx, dy, pa_deg)
    return np.sqrt(a * a + (b / q) ** 2)


def mag_to_flux(mag: ArrayLike, zero_point: ArrayLike) -> np.ndarray:
    """Total flux (image units) of an AB magnitude at the given zero point."""
    return np.asarray(10.0 ** (-0.4 * (np.asarray(mag) - np.asarray(zero_point))))


def flux_to_mag(flux: ArrayLike, zero_point: ArrayLike) -> np.ndarray:
    """AB magnitude of a total flux (image units); NaN for non-positive flux."""
    f = np.asarray(flux, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(f > 0, np.asarray(zero_point) - 2.5 * np.log10(np.where(f > 0, f, 1.0)),
                        np.nan)


def fwhm_to_sigma(fwhm: ArrayLike) -> np.ndarray:
    """Gaussian sigma of a FWHM (same units)."""
    return np.asarray(fwhm) / (2.0 * np.sqrt(2.0 * np.log(2.0)))
