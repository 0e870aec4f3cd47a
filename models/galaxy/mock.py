"""Mock galaxy images in the imaging profile, with truth tables and simulated votes.

Kinds
-----
``sersic``      one Sérsic profile.
``bulge_disk``  an n=4 bulge plus an n=1 disk sharing centre and PA.
``irregular``   a low-n disk plus 3-8 round Gaussian star-forming clumps.
``point``       an unresolved source (the PSF).

Truth columns (one row per image; :data:`TRUTH_DTYPE`)
------------------------------------------------------
``mag`` is always the total AB magnitude of everything in the galaxy. The
structural columns ``r_eff_arcsec, sersic_n, axis_ratio, pa_deg`` are exact
for ``sersic``; for ``bulge_disk`` and ``irregular`` they describe the *disk*
component (the bulge has its own ``bulge_*`` columns and ``b_t``, the clumps
``clump_fraction``); for ``point`` they are ``r_eff = 0, n = NaN, q = 1,
pa = 0``. ``x0, y0`` are 0-indexed pixel coordinates of the centre. ``snr``
is the signal-to-noise ratio inside the PSF-broadened half-light ellipse.
``bd_class`` indexes :data:`galcat.vocabulary.BD_CLASSES` (-1: not
applicable). The noise is Gaussian with per-pixel sigma ``sky_sigma``
(background-limited imaging; no source Poisson noise).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from galcat.models.galaxy.profile import HST_F160W_64, ImagingProfile
from galcat.models.galaxy.render import GaussianComponent, SersicComponent, render_scene
from galcat.models.galaxy.sersic import mag_to_flux
from galcat.models.galaxy.votes import (
    VoteModel,
    bulge_disk_class,
    propensities,
    simulate_votes,
)
from galcat.vocabulary import CANDELS_FLAGS

KINDS = ("sersic", "bulge_disk", "irregular", "point")
DEFAULT_KIND_FRACTIONS: Mapping[str, float] = {
    "sersic": 0.5, "bulge_disk": 0.25, "irregular": 0.15, "point": 0.1}

TRUTH_DTYPE = np.dtype([
    ("kind", "U10"), ("mag", "f8"), ("r_eff_arcsec", "f8"), ("sersic_n", "f8"),
    ("axis_ratio", "f8"), ("pa_deg", "f8"), ("x0", "f8"), ("y0", "f8"),
    ("b_t", "f8"), ("bulge_r_eff_arcsec", "f8"), ("bulge_axis_ratio", "f8"),
    ("clump_fraction", "f8"), ("n_clumps", "i2"),
    ("psf_fwhm_arcsec", "f8"), ("sky_sigma", "f8"), ("sb_limit_mag_arcsec2", "f8"),
    ("zero_point", "f8"), ("snr", "f8"), ("bd_class", "i1"),
    *[(f, "f4") for f in CANDELS_FLAGS], ("n_classifiers", "i1"),
    *[(f"{f}_expected", "f4") for f in CANDELS_FLAGS],
])


@dataclass(frozen=True)
class MockSet:
    """Images ``(N, size, size)`` float32 in flux units, their truth, and how they were made."""

    images: np.ndarray
    truth: np.ndarray
    profile: ImagingProfile
    seed: int
    noise_free: np.ndarray | None = None


def _log_uniform(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def _draw_truth(n: int, rng: np.random.Generator, profile: ImagingProfile,
                kind_fractions: Mapping[str, float], zero_point: float) -> np.ndarray:
    unknown = set(kind_fractions) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown galaxy kinds {sorted(unknown)}; choose from {KINDS}")
    names = list(kind_fractions)
    weights = np.array([kind_fractions[k] for k in names], dtype=float)
    t = np.zeros(n, dtype=TRUTH_DTYPE)
    t["kind"] = np.array(names)[rng.choice(len(names), size=n, p=weights / weights.sum())]
    t["mag"] = rng.uniform(*profile.mag, n)
    t["r_eff_arcsec"] = _log_uniform(rng, *profile.r_eff_arcsec, n)
    t["sersic_n"] = _log_uniform(rng, *profile.sersic_n, n)
    t["axis_ratio"] = rng.uniform(*profile.axis_ratio, n)
    t["pa_deg"] = rng.uniform(0.0, 180.0, n)
    cx, cy = profile.centre_px()
    off = profile.centre_offset_px
    t["x0"] = cx + rng.uniform(-off, off, n)
    t["y0"] = cy + rng.uniform(-off, off, n)
    t["psf_fwhm_arcsec"] = rng.uniform(*profile.psf_fwhm_arcsec, n)
    t["sb_limit_mag_arcsec2"] = rng.uniform(*profile.sb_limit_mag_arcsec2, n)
    t["zero_point"] = zero_point
    t["sky_sigma"] = profile.sky_sigma(t["sb_limit_mag_arcsec2"], zero_point)
    t["b_t"] = np.nan
    t["bulge_r_eff_arcsec"] = np.nan
    t["bulge_axis_ratio"] = np.nan
    t["clump_fraction"] = 0.0

    two = t["kind"] == "bulge_disk"
    t["sersic_n"][two] = 1.0
    t["r_eff_arcsec"][two] = _log_uniform(rng, 0.2, profile.r_eff_arcsec[1], two.sum())
    t["b_t"][two] = rng.uniform(0.05, 0.95, two.sum())
    t["bulge_r_eff_arcsec"][two] = np.maximum(
        t["r_eff_arcsec"][two] * rng.uniform(0.15, 0.5, two.sum()), 0.05)
    t["bulge_axis_ratio"][two] = rng.uniform(0.6, 1.0, two.sum())

    irr = t["kind"] == "irregular"
    t["sersic_n"][irr] = rng.uniform(0.5, 1.5, irr.sum())
    t["r_eff_arcsec"][irr] = _log_uniform(rng, 0.25, profile.r_eff_arcsec[1], irr.sum())
    t["clump_fraction"][irr] = rng.uniform(0.2, 0.6, irr.sum())
    t["n_clumps"][irr] = rng.integers(3, 9, irr.sum())

    point = t["kind"] == "point"
    t["r_eff_arcsec"][point] = 0.0
    t["sersic_n"][point] = np.nan
    t["axis_ratio"][point] = 1.0
    t["pa_deg"][point] = 0.0
    return t


def _signal_to_noise(t: np.ndarray, profile: ImagingProfile) -> np.ndarray:
    flux = mag_to_flux(t["mag"], t["zero_point"])
    r_half = np.hypot(t["r_eff_arcsec"] * np.sqrt(t["axis_ratio"]), 0.5 * t["psf_fwhm_arcsec"])
    area_px = np.pi * r_half**2 / profile.pixel_area_arcsec2
    return 0.5 * flux / (t["sky_sigma"] * np.sqrt(area_px))


def _components(row: np.void, rng: np.random.Generator, scale: float,
                ) -> tuple[list[SersicComponent], list[GaussianComponent]]:
    flux = float(mag_to_flux(row["mag"], row["zero_point"]))
    x0, y0 = float(row["x0"]), float(row["y0"])
    pa, q = float(row["pa_deg"]), float(row["axis_ratio"])
    r_px, n = float(row["r_eff_arcsec"]) / scale, float(row["sersic_n"])
    kind = str(row["kind"])
    if kind == "point":
        return [], [GaussianComponent(x0, y0, flux)]
    if kind == "sersic":
        return [SersicComponent(x0, y0, flux, r_px, n, q, pa)], []
    if kind == "bulge_disk":
        bt = float(row["b_t"])
        bulge = SersicComponent(x0, y0, bt * flux, float(row["bulge_r_eff_arcsec"]) / scale, 4.0,
                                float(row["bulge_axis_ratio"]), pa)
        return [bulge, SersicComponent(x0, y0, (1 - bt) * flux, r_px, 1.0, q, pa)], []
    cf, m = float(row["clump_fraction"]), int(row["n_clumps"])
    shares = rng.dirichlet(np.ones(m)) * cf * flux
    radius = r_px * 1.5 * np.sqrt(rng.random(m))
    angle = rng.uniform(0, 2 * np.pi, m)
    along, across = radius * np.cos(angle), q * radius * np.sin(angle)
    t = np.deg2rad(pa)
    cx = x0 - along * np.sin(t) + across * np.cos(t)
    cy = y0 + along * np.cos(t) + across * np.sin(t)
    sig = rng.uniform(0.5, 1.5, m)
    clumps = [GaussianComponent(float(a), float(b), float(f), float(s))
              for a, b, f, s in zip(cx, cy, shares, sig, strict=True)]
    return [SersicComponent(x0, y0, (1 - cf) * flux, r_px, n, q, pa)], clumps


def make_mocks(n: int, seed: int, *, profile: ImagingProfile = HST_F160W_64,
               kind_fractions: Mapping[str, float] = DEFAULT_KIND_FRACTIONS,
               zero_point: float | None = None, vote_model: VoteModel = VoteModel(),
               keep_noise_free: bool = False, rel_tol: float = 3e-4) -> MockSet:
    """``n`` noisy mock galaxies in ``profile`` with truth and votes; same seed, same mocks.

    ``rel_tol`` is the per-pixel rendering accuracy (relative), far below the noise.
    """
    rng = np.random.default_rng(seed)
    zp = profile.magzero_default if zero_point is None else zero_point
    truth = _draw_truth(n, rng, profile, kind_fractions, zp)
    truth["snr"] = _signal_to_noise(truth, profile)
    truth["bd_class"] = bulge_disk_class(truth["kind"], truth["sersic_n"], truth["b_t"])
    p = propensities(truth["kind"], truth["sersic_n"], truth["b_t"], truth["clump_fraction"],
                     truth["r_eff_arcsec"], truth["psf_fwhm_arcsec"], truth["snr"], vote_model)
    fractions, n_cls, expected = simulate_votes(p, rng, vote_model)
    for i, name in enumerate(CANDELS_FLAGS):
        truth[name] = fractions[:, i]
        truth[f"{name}_expected"] = expected[:, i]
    truth["n_classifiers"] = n_cls

    size, scale = profile.size_px, profile.pixel_scale_arcsec
    clean = np.empty((n, size, size), dtype=np.float32)
    for i in range(n):
        sersics, gaussians = _components(truth[i], rng, scale)
        clean[i] = render_scene((size, size), sersics, gaussians,
                                psf_fwhm_px=float(truth["psf_fwhm_arcsec"][i]) / scale,
                                rel_tol=rel_tol)
    noise = rng.normal(size=clean.shape) * truth["sky_sigma"][:, None, None]
    images = (clean + noise).astype(np.float32)
    return MockSet(images=images, truth=truth, profile=profile, seed=seed,
                   noise_free=clean if keep_noise_free else None)
