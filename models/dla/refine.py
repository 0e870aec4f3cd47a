"""Voigt-profile refinement of each absorber the network found.

For one candidate at (z, log N_HI) the model of the flux near its Lyα, Lyβ and Lyγ
(where the spectrum covers them) is

    F(λ) = C_r(x) · T̄(λ) · L[exp(−τ(λ; N, z, b) − τ_others(λ))],   x = ln(λ / λ_r(1+z₀)),

with L the line-spread function, T̄ the forest's mean transmission in front of the
quasar (Lyα and Lyβ forest, :func:`models.dla.forest.mean_transmission`), τ_others the
other candidates of the sightline held at their current values, and C_r a local
continuum (a polynomial in x per line region r). Pixels on the quasar's own Lyα
emission line (redward of ``emission_margin`` below it) are left out: no polynomial
follows an emission line. The continuum is linear: for
every (N, z) it is solved by weighted least squares (variable projection), so
:func:`scipy.optimize.least_squares` moves only N and z. b is fixed; the damping wings
that measure N do not depend on it.

The Lyα forest is treated as contamination, not signal: each pixel's variance is its
photon noise plus the forest's (model × rms transmission at the pixel's Lyα redshift),
and pixels absorbed below the model by more than ``mask_sigma`` are dropped and the fit
repeated (iterative masking, ``mask_passes`` times). The fit's σ of N and z is the
least-squares covariance of that last fit, times ``fit_error_scale`` (the forest's
pixels are correlated and not Gaussian, which the covariance does not know).

:func:`refine_catalog` then combines each fit with the network's calibrated estimate,
weighting each by its inverse variance; where the fit fails, or has no data, the
network's answer stands.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.optimize import least_squares

from .absorbers import AbsorberCatalog, assign_types
from .constants import BOSS_DLOGLAM, LYA, Transition
from .forest import mean_transmission, transmission_moments
from .preprocess import PreparedSightlines
from .uncertainty import ErrorModel, p_dla
from .voigt import line_optical_depth, optical_depth_on_boss_grid

REFINED_DTYPE = np.dtype([
    ("z_dla", np.float64), ("log_nhi", np.float64), ("z_sigma", np.float64),
    ("log_nhi_sigma", np.float64), ("chi2_dof", np.float64), ("n_pixels", np.int64),
    ("ok", np.bool_),
])
_LN10_DLOGLAM = np.log(10.0) * BOSS_DLOGLAM


@dataclass(frozen=True)
class RefineConfig:
    """Settings of the Voigt refinement (widths in ln λ, b in km/s, thresholds in σ)."""

    lines: tuple[Transition, ...] = (LYA,)
    b_kms: float = 30.0
    continuum_terms: int = 3
    continuum_terms_per_width: float = 0.0
    """Extra continuum terms per unit of the Lyα region's half-width (ln λ)."""
    width_per_equivalent_width: float = 4.0
    half_width_range: tuple[float, float] = (0.025, 0.08)
    other_lines_max_half_width: float = 0.035
    forest_variance_scale: float = 4.0
    """Forest variance per pixel × this: > 1 stands in for the forest's pixel-to-pixel
    correlation, which independent-pixel weights ignore."""
    emission_margin: float = 0.025
    mask_sigma: float = 2.5
    mask_passes: int = 2
    fit_error_scale: float = 1.5
    max_disagreement: float = 0.0
    """When > 0, a fit further than this many combined σ from the network is discarded."""
    min_pixels: int = 20
    log_nhi_min: float = 19.3
    log_nhi_bounds: tuple[float, float] = (18.0, 23.0)
    log_nhi_step: float = 1.2
    dz_max: float = 0.006
    resolution_pixels: float = 1.08
    forest_sigma_g: float = 1.4


def lya_half_width(log_nhi: float, config: RefineConfig = RefineConfig()) -> float:
    """Half-width (ln λ) of the Lyα fit region: a few rest equivalent widths of a damped
    line, W ≈ 7.3 Å (N / 2·10²⁰ cm⁻²)^½, within ``half_width_range``."""
    width = 7.3 * np.sqrt(10.0 ** (log_nhi - 20.30103)) / LYA.wavelength_aa
    lo, hi = config.half_width_range
    return float(np.clip(config.width_per_equivalent_width * width, lo, hi))


@dataclass(frozen=True)
class _Region:
    span: np.ndarray
    """Padded-array indices of a contiguous stretch around the line (for the smoothing)."""
    pick: np.ndarray
    """Positions within ``span`` of the pixels fitted (holding data)."""
    lam_obs: np.ndarray
    basis: np.ndarray
    """Continuum polynomial terms times the forest's mean transmission."""
    tau_others: np.ndarray
    forest_rms: np.ndarray


def _regions(flux: np.ndarray, noise: np.ndarray, pixel0: int, z_qso: float, z0: float,
             log_nhi0: float, others: np.ndarray, config: RefineConfig) -> list[_Region]:
    n = flux.size
    pad = int(np.ceil(5 * config.resolution_pixels))
    hw_lya = lya_half_width(log_nhi0, config)
    out = []
    for k, line in enumerate(config.lines):
        hw = hw_lya if k == 0 else min(hw_lya, config.other_lines_max_half_width)
        centre = np.log10(line.wavelength_aa * (1.0 + z0)) / BOSS_DLOGLAM - pixel0
        half = hw / _LN10_DLOGLAM
        lo, hi = int(np.floor(centre - half)), int(np.ceil(centre + half)) + 1
        lo_s, hi_s = max(lo - pad, 0), min(hi + pad, n)
        if hi_s - lo_s <= 2 * pad:
            if k == 0:
                return []
            continue
        span = np.arange(lo_s, hi_s)
        lam_obs = 10.0 ** ((pixel0 + span) * BOSS_DLOGLAM)
        emission_edge = LYA.wavelength_aa * (1.0 + z_qso) * np.exp(-config.emission_margin)
        inside = (span >= lo) & (span < hi) & (noise[span] > 0) & (lam_obs < emission_edge)
        if inside.sum() < config.min_pixels:
            if k == 0:
                return []
            continue
        x = np.log(lam_obs / (line.wavelength_aa * (1.0 + z0)))
        terms = config.continuum_terms + round(config.continuum_terms_per_width * hw)
        basis = np.stack([(x / hw) ** p for p in range(terms if k == 0 else 2)], axis=1)
        basis *= mean_transmission(lam_obs, z_qso, config.forest_sigma_g)[:, None]
        tau_others = np.zeros(span.size)
        if others.size:
            tau_others = optical_depth_on_boss_grid(
                int(pixel0 + span[0]), span.size, np.zeros(others.size, np.int64),
                others["z"], others["log_nhi"], np.full(others.size, config.b_kms), 1)[0]
        z_pixel = lam_obs / LYA.wavelength_aa - 1.0
        mean, rms = transmission_moments(z_pixel, config.forest_sigma_g, config.resolution_pixels)
        forest_rms = np.where(z_pixel < z_qso, rms / mean, 0.0)
        out.append(_Region(span, np.nonzero(inside)[0], lam_obs, basis, tau_others, forest_rms))
    return out


def _transmission(region: _Region, z: float, log_nhi: float, config: RefineConfig) -> np.ndarray:
    lam_rest = region.lam_obs / (1.0 + z)
    tau = region.tau_others.copy()
    for line in config.lines:
        tau += line_optical_depth(lam_rest, log_nhi, config.b_kms, line)
    smooth = gaussian_filter1d(np.exp(-tau), config.resolution_pixels, mode="nearest")
    return np.asarray(smooth[region.pick])


def _continuum_fit(region: _Region, shape: np.ndarray, flux: np.ndarray,
                   sqrt_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(model, whitened residual) with the continuum coefficients solved for ``shape``."""
    design = shape[:, None] * region.basis[region.pick]
    coefficients, *_ = np.linalg.lstsq(design * sqrt_w[:, None], flux * sqrt_w, rcond=None)
    model = design @ coefficients
    return model, (flux - model) * sqrt_w


def _residuals(params: np.ndarray, regions: list[_Region], data: list[np.ndarray],
               sqrt_w: list[np.ndarray], config: RefineConfig) -> np.ndarray:
    """Whitened residuals of all regions at (log N_HI, z) = ``params`` (masked pixels: 0)."""
    return np.concatenate([
        _continuum_fit(r, _transmission(r, params[1], params[0], config), f, w)[1]
        for r, f, w in zip(regions, data, sqrt_w, strict=True)])


def _models(params: np.ndarray, regions: list[_Region], data: list[np.ndarray],
            sqrt_w: list[np.ndarray], config: RefineConfig) -> list[np.ndarray]:
    return [_continuum_fit(r, _transmission(r, params[1], params[0], config), f, w)[0]
            for r, f, w in zip(regions, data, sqrt_w, strict=True)]


def refine_absorber(flux: np.ndarray, noise: np.ndarray, pixel0: int, z_qso: float,
                    z0: float, log_nhi0: float, others: np.ndarray | None = None,
                    config: RefineConfig = RefineConfig()) -> np.ndarray:
    """One absorber refined: a 0-d ``REFINED_DTYPE`` array (``ok`` False: the starting
    values, unrefined).

    ``flux`` and ``noise`` are one sightline's normalised flux and 1σ error on the BOSS
    grid (noise 0: no data); padded index 0 is global BOSS pixel ``pixel0``.
    ``others``: the sightline's other absorbers, fields ``z`` and ``log_nhi``.
    """
    result = np.zeros((), dtype=REFINED_DTYPE)
    result["z_dla"], result["log_nhi"] = z0, log_nhi0
    result["z_sigma"] = result["log_nhi_sigma"] = result["chi2_dof"] = np.nan
    if others is None:
        others = np.zeros(0, dtype=[("z", np.float64), ("log_nhi", np.float64)])
    regions = _regions(flux, noise, pixel0, z_qso, z0, log_nhi0, others, config)
    if not regions:
        return result
    data = [flux[r.span[r.pick]].astype(np.float64) for r in regions]
    photon_var = [noise[r.span[r.pick]].astype(np.float64) ** 2 for r in regions]
    lo_n = max(config.log_nhi_bounds[0], log_nhi0 - config.log_nhi_step)
    hi_n = min(config.log_nhi_bounds[1], log_nhi0 + config.log_nhi_step)
    params = np.array([np.clip(log_nhi0, lo_n + 1e-3, hi_n - 1e-3), z0])
    bounds = ([lo_n, z0 - config.dz_max], [hi_n, z0 + config.dz_max])
    sqrt_w = [1.0 / np.sqrt(v) for v in photon_var]
    models = _models(params, regions, data, sqrt_w, config)
    fit = None
    for _ in range(config.mask_passes):
        sqrt_w = []
        for r, f, v, m in zip(regions, data, photon_var, models, strict=True):
            variance = v + config.forest_variance_scale * (
                r.forest_rms[r.pick] * np.clip(m, 0.0, None)) ** 2
            weight = 1.0 / np.sqrt(variance)
            sqrt_w.append(weight * ((f - m) * weight >= -config.mask_sigma))
        fit = least_squares(_residuals, params, bounds=bounds, x_scale=[0.1, 0.001],
                            diff_step=[1e-4, 1e-6], args=(regions, data, sqrt_w, config))
        params = fit.x
        models = _models(params, regions, data, sqrt_w, config)
    assert fit is not None
    n_used = int(sum(int(np.count_nonzero(w)) for w in sqrt_w))
    dof = n_used - 2 - sum(r.basis.shape[1] for r in regions)
    at_bound = np.any(np.isclose(params, bounds[0], atol=1e-6) |
                      np.isclose(params, bounds[1], atol=1e-6))
    try:
        covariance = np.linalg.inv(fit.jac.T @ fit.jac)
    except np.linalg.LinAlgError:
        return result
    if dof <= 0 or at_bound or not np.all(np.isfinite(covariance)):
        return result
    result["log_nhi"], result["z_dla"] = params
    result["log_nhi_sigma"] = np.sqrt(max(covariance[0, 0], 0.0))
    result["z_sigma"] = np.sqrt(max(covariance[1, 1], 0.0))
    result["chi2_dof"] = 2.0 * fit.cost / dof
    result["n_pixels"] = n_used
    result["ok"] = True
    return result


def refine_catalog(catalog: AbsorberCatalog, prepared: PreparedSightlines,
                   error_model: tuple[float, ...] = (),
                   config: RefineConfig = RefineConfig()) -> AbsorberCatalog:
    """The catalogue with every absorber of log N_HI ≥ ``log_nhi_min`` (``LYB`` excepted)
    refined: its N and z the inverse-variance mean of the network's and the fit's, its σ
    theirs combined, ``p_dla`` and type recomputed. ``error_model``: the network's
    (without one, the fit's answer replaces the network's outright)."""
    absorbers = catalog.absorbers.copy()
    half = prepared.window_pixels // 2
    chosen = np.nonzero((absorbers["type"] != "LYB")
                        & (absorbers["log_nhi"] >= config.log_nhi_min))[0]
    for i in chosen:
        s = int(absorbers["sightline"][i])
        same = np.nonzero((absorbers["sightline"] == s) & (absorbers["type"] != "LYB"))[0]
        same = same[same != i]
        others = np.zeros(same.size, dtype=[("z", np.float64), ("log_nhi", np.float64)])
        others["z"], others["log_nhi"] = absorbers["z_dla"][same], absorbers["log_nhi"][same]
        fit = refine_absorber(prepared.inputs[s, :, 0], prepared.noise[s],
                              int(prepared.pixel_first[s]) - half, float(prepared.z_qso[s]),
                              float(absorbers["z_dla"][i]), float(absorbers["log_nhi"][i]),
                              others, config)
        if not fit["ok"]:
            continue
        row = absorbers[i]
        if error_model and config.max_disagreement > 0:
            gap = abs(float(fit["log_nhi"]) - float(row["log_nhi"]))
            scale = np.hypot(float(row["log_nhi_err"]),
                             config.fit_error_scale * float(fit["log_nhi_sigma"]))
            if gap > config.max_disagreement * scale:
                continue
        for value, sigma, fitted, fitted_sigma in (
                ("log_nhi", "log_nhi_err", "log_nhi", "log_nhi_sigma"),
                ("z_dla", "z_dla_err", "z_dla", "z_sigma")):
            combined = _inverse_variance_mean(
                float(row[value]), float(row[sigma]) if error_model else np.nan,
                float(fit[fitted]), config.fit_error_scale * float(fit[fitted_sigma]))
            row[value], row[sigma] = combined
        absorbers[i] = row
    if error_model:
        absorbers["p_dla"] = ErrorModel.from_sequence(error_model).p_dla(
            absorbers["log_nhi"], absorbers["log_nhi_err"])
    else:
        absorbers["p_dla"] = p_dla(absorbers["log_nhi"], absorbers["log_nhi_err"])
    for s in np.unique(absorbers["sightline"]):
        rows = absorbers["sightline"] == s
        absorbers["type"][rows] = assign_types(absorbers[rows])
    return replace(catalog, absorbers=absorbers)


def _inverse_variance_mean(a: float, sigma_a: float, b: float,
                           sigma_b: float) -> tuple[float, float]:
    """(mean, σ) of two estimates; one without a finite positive σ is ignored."""
    usable = [(v, s) for v, s in ((a, sigma_a), (b, sigma_b)) if np.isfinite(s) and s > 0]
    if not usable:
        return a, sigma_a
    weights = np.array([1.0 / s**2 for _, s in usable])
    values = np.array([v for v, _ in usable])
    return float(weights @ values / weights.sum()), float(1.0 / np.sqrt(weights.sum()))
