"""Classic single-Sérsic least-squares fit, the baseline the emulator must beat.

The model is the same pixel-integrated, PSF-convolved renderer the mocks use
(:func:`models.galaxy.render.render_scene`), so mocks are fitted without
model mismatch. Works on any image size and pixel scale.

Parameters are ``x0, y0, log10 F, log10 r_a, log10 n, log10 q_ext, pa_ext``:
``q_ext`` may exceed 1 (then the major axis is the other one: ``q = 1/q_ext``,
``r_eff = r_a q_ext``, ``PA = pa_ext + 90``), so round galaxies sit in the
interior of the parameter space and the fit never sticks to a ``q = 1``
bound. Derivatives are forward differences with the integration plan held
fixed, so they see a smooth model. Uncertainties come from the Jacobian,
``cov = (J^T J)^-1`` of the noise-weighted residuals; without a noise map the
residual scatter is used instead (``cov * chi2_nu``).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np
from scipy import optimize

from galcat.models.galaxy.preprocess import estimate_sky_sigma
from galcat.models.galaxy.render import SersicComponent, render_scene, scene_levels
from galcat.models.galaxy.sersic import flux_to_mag

_STEPS = np.array([1e-4, 1e-4, 1e-6, 1e-6, 1e-6, 1e-6, 1e-3])
_LN10 = math.log(10.0)


@dataclass(frozen=True)
class SersicFit:
    """A fit in physical units (arcsec, degrees east of north, AB mag); ``*_err`` are 1σ."""

    mag: float
    mag_err: float
    r_eff_arcsec: float
    r_eff_err: float
    sersic_n: float
    sersic_n_err: float
    axis_ratio: float
    axis_ratio_err: float
    pa_deg: float
    pa_err_deg: float
    x0: float
    y0: float
    x0_err: float
    y0_err: float
    chi2_nu: float
    success: bool
    n_evaluations: int
    seconds: float
    message: str


def _component(theta: np.ndarray) -> SersicComponent:
    x0, y0, log_f, log_r, log_n, log_q, pa = (float(v) for v in theta)
    r, q = 10.0**log_r, 10.0**log_q
    if q > 1.0:
        r, q, pa = r * q, 1.0 / q, pa + 90.0
    return SersicComponent(x0, y0, 10.0**log_f, r, 10.0**log_n, q, pa % 180.0)


def initial_guess(image: np.ndarray, sigma: float | None = None,
                  psf_fwhm_px: float | None = None) -> np.ndarray:
    """Moment-based starting point (parameter vector of this module) for a centred galaxy."""
    img = np.asarray(image, dtype=float)
    ny, nx = img.shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    cut = 2.0 * sigma if sigma else 0.0
    w = np.where(img > cut, img, 0.0)
    if w.sum() <= 0:
        w = np.ones_like(img)
    x0, y0 = (w * xx).sum() / w.sum(), (w * yy).sum() / w.sum()
    flux = max(float(img.sum()), float(w.sum()), 1e-30)
    r = np.hypot(xx - x0, yy - y0).ravel()
    order = np.argsort(r)
    cum = np.cumsum(np.clip(img.ravel()[order], 0.0, None))
    r_half = float(r[order][np.searchsorted(cum, 0.5 * cum[-1])]) + 0.5
    if psf_fwhm_px:
        r_half = math.sqrt(max(r_half**2 - (0.5 * psf_fwhm_px) ** 2, 0.25))
    inner = np.where(np.hypot(xx - x0, yy - y0) < 3.0 * r_half + 2.0, w, 0.0)
    m = inner.sum()
    dx, dy = xx - x0, yy - y0
    cov = np.array([[(inner * dx * dx).sum(), (inner * dx * dy).sum()],
                    [(inner * dx * dy).sum(), (inner * dy * dy).sum()]]) / m
    vals, vecs = np.linalg.eigh(cov)
    q = float(np.clip(math.sqrt(max(vals[0], 1e-12) / max(vals[1], 1e-12)), 0.1, 1.0))
    vx, vy = vecs[:, 1]
    pa = math.degrees(math.atan2(-vx, vy)) % 180.0
    r_major = max(r_half / math.sqrt(q), 0.3)
    return np.array([x0, y0, math.log10(flux), math.log10(r_major), math.log10(2.0),
                     math.log10(q), pa])


def fit_sersic(image: np.ndarray, *, zero_point: float, pixel_scale_arcsec: float,
               psf_fwhm_arcsec: float | None = None, psf: np.ndarray | None = None,
               sigma: float | np.ndarray | None = None, mask: np.ndarray | None = None,
               initial: np.ndarray | None = None, n_range: tuple[float, float] = (0.2, 10.0),
               rel_tol: float = 3e-4, max_nfev: int = 100) -> SersicFit:
    """Fit one PSF-convolved Sérsic profile to ``image`` (flux units, FITS orientation).

    ``sigma``: per-pixel noise (scalar or map, flux units); ``mask``: True where
    pixels are to be ignored; ``psf_fwhm_arcsec`` (Gaussian) or ``psf`` (kernel).
    """
    start = time.perf_counter()
    img = np.asarray(image, dtype=float)
    shape = (img.shape[0], img.shape[1])
    use = np.isfinite(img) if mask is None else (~np.asarray(mask, dtype=bool)) & np.isfinite(img)
    weighted = sigma is not None
    inv_sigma = np.broadcast_to(1.0 / np.asarray(sigma, dtype=float), shape) if weighted \
        else np.ones(shape)
    use &= np.isfinite(inv_sigma) & (inv_sigma > 0)
    data = img[use]
    w = inv_sigma[use]
    fwhm_px = psf_fwhm_arcsec / pixel_scale_arcsec if psf_fwhm_arcsec else None
    guess_sigma = float(np.median(1.0 / w)) if weighted else float(estimate_sky_sigma(img))
    theta0 = initial_guess(np.where(use, img, 0.0), guess_sigma, fwhm_px) if initial is None \
        else np.asarray(initial, dtype=float)
    lo = np.array([-np.inf, -np.inf, -np.inf, math.log10(0.05), math.log10(n_range[0]),
                   math.log10(0.05), -np.inf])
    hi = np.array([np.inf, np.inf, np.inf, math.log10(10.0 * max(shape)),
                   math.log10(n_range[1]), math.log10(20.0), np.inf])
    theta0 = np.clip(theta0, lo + 1e-9, hi - 1e-9)

    def model(theta: np.ndarray, levels: list[np.ndarray] | None = None) -> np.ndarray:
        return render_scene(shape, [_component(theta)], psf_fwhm_px=fwhm_px, psf=psf,
                            rel_tol=rel_tol, levels=levels)

    def residuals(theta: np.ndarray) -> np.ndarray:
        return (model(theta)[use] - data) * w

    def jacobian(theta: np.ndarray) -> np.ndarray:
        levels = scene_levels(shape, [_component(theta)], psf_fwhm_px=fwhm_px, psf=psf,
                              rel_tol=rel_tol)
        base = model(theta, levels)[use]
        jac = np.empty((data.size, theta.size))
        for i, step in enumerate(_STEPS):
            if i == 2:  # d model / d log10 F is exact
                jac[:, i] = _LN10 * base * w
                continue
            moved = theta.copy()
            moved[i] += step
            jac[:, i] = (model(moved, levels)[use] - base) * w / step
        return jac

    res = optimize.least_squares(residuals, theta0, jac=jacobian, bounds=(lo, hi),
                                 x_scale="jac", max_nfev=max_nfev)
    dof = max(data.size - theta0.size, 1)
    chi2_nu = float(2.0 * res.cost / dof)
    cov = np.linalg.pinv(res.jac.T @ res.jac)
    if not weighted:
        cov = cov * chi2_nu
    err = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    comp = _component(res.x)
    swapped = res.x[5] > 0
    r_var = cov[3, 3] + (cov[5, 5] + 2.0 * cov[3, 5] if swapped else 0.0)
    return SersicFit(
        mag=float(flux_to_mag(comp.flux, zero_point)), mag_err=2.5 * float(err[2]),
        r_eff_arcsec=comp.r_eff_px * pixel_scale_arcsec,
        r_eff_err=_LN10 * comp.r_eff_px * pixel_scale_arcsec * math.sqrt(max(r_var, 0.0)),
        sersic_n=comp.n, sersic_n_err=_LN10 * comp.n * float(err[4]),
        axis_ratio=comp.q, axis_ratio_err=_LN10 * comp.q * float(err[5]),
        pa_deg=comp.pa_deg, pa_err_deg=float(min(err[6], 90.0)),
        x0=comp.x0, y0=comp.y0, x0_err=float(err[0]), y0_err=float(err[1]),
        chi2_nu=chi2_nu, success=bool(res.success), n_evaluations=int(res.nfev),
        seconds=time.perf_counter() - start, message=str(res.message))


def fit_many(images: np.ndarray, *, zero_point: float | np.ndarray, pixel_scale_arcsec: float,
             psf_fwhm_arcsec: float | np.ndarray | None = None,
             sigma: float | np.ndarray | None = None, **kwargs: object) -> dict[str, np.ndarray]:
    """:func:`fit_sersic` on each of ``images`` (N, H, W); columns as arrays (N,)."""
    n = len(images)
    zps = np.broadcast_to(np.asarray(zero_point, dtype=float), (n,))
    fwhm = None if psf_fwhm_arcsec is None else np.broadcast_to(
        np.asarray(psf_fwhm_arcsec, dtype=float), (n,))
    sig = None if sigma is None else np.broadcast_to(np.asarray(sigma, dtype=float), (n,))
    rows = [asdict(fit_sersic(images[i], zero_point=float(zps[i]),
                              pixel_scale_arcsec=pixel_scale_arcsec,
                              psf_fwhm_arcsec=None if fwhm is None else float(fwhm[i]),
                              sigma=None if sig is None else float(sig[i]),
                              **kwargs))  # type: ignore[arg-type]
            for i in range(n)]
    return {k: np.array([r[k] for r in rows]) for k in rows[0]} if rows else {}

