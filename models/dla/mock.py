"""Mock BOSS quasar sightlines with DLAs, sub-DLAs and Lyman-limit systems.

Everything is vectorised numpy driven by one :class:`numpy.random.Generator`, so a
seed fixes the output bit for bit. Flux densities are in 1e-17 erg s⁻¹ cm⁻² Å⁻¹ and
``ivar`` in their inverse square, on the BOSS log10(λ/Å) grid (Δ = 1e-4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .constants import (
    BOSS_DLOGLAM,
    BOSS_PIXEL_KMS,
    LOG_NHI_DLA_MIN,
    LYA,
    SPEED_OF_LIGHT_KMS,
)
from .forest import forest_optical_depth
from .voigt import optical_depth_on_boss_grid

TRUTH_DTYPE = np.dtype(
    [
        ("sightline", np.int64),
        ("z_qso", np.float64),
        ("z_abs", np.float64),
        ("log_nhi", np.float64),
        ("b_kms", np.float64),
        ("kind", "U6"),
        ("is_dla", np.bool_),
    ]
)

# (rest wavelength Å, rest equivalent width Å, Gaussian σ km/s) of broad emission lines.
_EMISSION_LINES = (
    (1033.82, 8.0, 3000.0),  # O VI (+Lyβ)
    (1215.67, 60.0, 2500.0),  # Lyα
    (1240.14, 15.0, 2500.0),  # N V
    (1399.8, 8.0, 3500.0),  # Si IV + O IV]
    (1549.06, 30.0, 3000.0),  # C IV
    (1908.73, 20.0, 3500.0),  # C III]
    (2798.75, 30.0, 3500.0),  # Mg II
)

# (rest wavelength Å, typical central optical depth) of strong low-ion and C IV metal lines.
_METAL_LINES = (
    (1190.42, 1.5),
    (1193.29, 3.0),
    (1206.50, 4.0),
    (1260.42, 5.0),
    (1302.17, 3.0),
    (1334.53, 5.0),
    (1393.76, 2.0),
    (1402.77, 1.0),
    (1526.71, 2.5),
    (1548.20, 3.0),
    (1550.78, 1.5),
    (1608.45, 1.0),
    (1670.79, 3.0),
    (2796.35, 6.0),
    (2803.53, 3.0),
)

# Observed wavelengths (Å) of bright night-sky lines whose pixels BOSS often masks.
_SKY_LINES_AA = (5578.5, 5894.6, 6301.7, 6365.5, 7246.0, 7821.5, 8399.2, 8827.1, 8885.9)


@dataclass(frozen=True)
class MockConfig:
    """Parameters of the mock population (defaults follow Parks et al. 2018 where possible)."""

    z_qso_min: float = 2.2
    z_qso_max: float = 5.0
    z_qso_sample: tuple[float, ...] = ()
    """When given, quasar redshifts are drawn from these values (e.g. a survey's own
    catalogue) instead of uniformly in [z_qso_min, z_qso_max]."""
    wavelength_min_aa: float = 3600.0
    wavelength_max_aa: float = 10400.0
    absorber_sightline_fraction: float = 0.5
    extra_absorbers_mean: float = 0.3
    dla_fraction: float = 0.75
    log_nhi_dla_range: tuple[float, float] = (LOG_NHI_DLA_MIN, 22.5)
    log_nhi_dla_sample: tuple[float, ...] = ()
    """When given, DLA column densities are drawn from these values instead of f(N)."""
    log_nhi_subdla_range: tuple[float, float] = (19.5, LOG_NHI_DLA_MIN)
    log_nhi_lls_range: tuple[float, float] = (17.5, 19.5)
    lls_incidence_scale: float = 1.0
    absorber_rest_range_aa: tuple[float, float] = (910.0, 1213.0)
    min_separation_pixels: float = 30.0
    snr_range: tuple[float, float] = (1.0, 30.0)
    resolution: float = 2000.0
    forest_sigma_g: float = 1.4
    metals: bool = True
    sky_mask_probability: float = 0.3
    bad_chunks_mean: float = 0.3


@dataclass(frozen=True)
class MockSightlines:
    """A batch of mock spectra on one shared grid, plus the truth behind them."""

    loglam: np.ndarray
    flux: np.ndarray
    ivar: np.ndarray
    z_qso: np.ndarray
    snr: np.ndarray
    continuum: np.ndarray
    truth: np.ndarray
    amplitude: np.ndarray
    """Power-law continuum at rest 1450 Å (the level ``snr`` refers to)."""

    def __len__(self) -> int:
        return int(self.z_qso.size)

    def sightline(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """(loglam, flux, ivar, z_qso) of sightline i, as a real spectrum reader returns."""
        return self.loglam, self.flux[i], self.ivar[i], float(self.z_qso[i])


def boss_grid(wavelength_min_aa: float, wavelength_max_aa: float) -> tuple[int, np.ndarray]:
    """(first global pixel index, log10(λ/Å) grid) covering the range on the BOSS grid."""
    first = int(np.ceil(np.log10(wavelength_min_aa) / BOSS_DLOGLAM))
    last = int(np.floor(np.log10(wavelength_max_aa) / BOSS_DLOGLAM))
    return first, np.arange(first, last + 1) * BOSS_DLOGLAM


def sample_log_nhi(
    rng: np.random.Generator, n: int, log_nhi_range: tuple[float, float]
) -> np.ndarray:
    """Draw log N_HI from f(N) ∝ N^-1.5 below 10^21.3 and ∝ N^-2.5 above (continuous)."""
    lo, hi = log_nhi_range
    grid = np.linspace(lo, hi, 2001)
    log_pdf = np.where(grid < 21.3, -0.5 * (grid - lo), -0.5 * (21.3 - lo) - 1.5 * (grid - 21.3))
    pdf = 10.0**log_pdf
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(grid))])
    return np.asarray(np.interp(rng.random(n), cdf / cdf[-1], grid))


def _place_absorbers(
    rng: np.random.Generator,
    counts: np.ndarray,
    z_lo: np.ndarray,
    z_hi: np.ndarray,
    min_separation_pixels: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform positions in log(1+z) per sightline, kept ≥ min_separation_pixels apart."""
    row = np.repeat(np.arange(counts.size), counts)
    lo = np.log10(1.0 + z_lo[row]) / BOSS_DLOGLAM
    hi = np.log10(1.0 + z_hi[row]) / BOSS_DLOGLAM
    pos = rng.uniform(lo, hi)
    keep = np.ones(row.size, dtype=bool)
    for _ in range(20):
        order = np.lexsort((pos, row))
        same = row[order][1:] == row[order][:-1]
        close = same & (np.diff(pos[order]) < min_separation_pixels)
        clash = order[1:][close]
        if clash.size == 0:
            break
        pos[clash] = rng.uniform(lo[clash], hi[clash])
    else:
        order = np.lexsort((pos, row))
        same = row[order][1:] == row[order][:-1]
        keep[order[1:][same & (np.diff(pos[order]) < min_separation_pixels)]] = False
    z = 10.0 ** (pos * BOSS_DLOGLAM) - 1.0
    return row[keep], z[keep]


def _continuum(
    rng: np.random.Generator, loglam: np.ndarray, z_qso: np.ndarray, amplitude: np.ndarray
) -> np.ndarray:
    """Power law f_λ ∝ λ^α (α ~ N(−1.5, 0.3)) plus broad emission lines, 1 at 1450 Å rest."""
    n = z_qso.size
    lam_rest = 10.0 ** loglam[None, :] / (1.0 + z_qso[:, None])
    alpha = rng.normal(-1.5, 0.3, n)
    cont = (lam_rest / 1450.0) ** alpha[:, None]
    for centre, ew, sigma_kms in _EMISSION_LINES:
        ew_i = ew * 10.0 ** rng.normal(0.0, 0.2, n)
        sigma_aa = centre * sigma_kms * rng.uniform(0.7, 1.3, n) / SPEED_OF_LIGHT_KMS
        shift = centre * rng.normal(0.0, 300.0, n) / SPEED_OF_LIGHT_KMS
        peak = ew_i * (centre / 1450.0) ** alpha / (np.sqrt(2.0 * np.pi) * sigma_aa)
        dx = (lam_rest - (centre + shift)[:, None]) / sigma_aa[:, None]
        near = np.abs(dx) < 7.0
        cont[near] += (peak[:, None] * np.exp(-0.5 * dx**2, where=near, out=np.zeros_like(dx)))[
            near
        ]
    return np.asarray(cont * amplitude[:, None])


def _metal_optical_depth(
    rng: np.random.Generator,
    pixel_first: int,
    n_pix: int,
    row: np.ndarray,
    z_abs: np.ndarray,
    log_nhi: np.ndarray,
    n_rows: int,
) -> np.ndarray:
    """Gaussian metal-line optical depths at each absorber, strength ∝ N_HI^0.5 × scatter."""
    tau = np.zeros(n_rows * n_pix)
    if row.size == 0:
        return tau.reshape(n_rows, n_pix)
    scale = 10.0 ** (0.5 * (log_nhi - LOG_NHI_DLA_MIN) + rng.normal(0.0, 0.4, row.size))
    sigma_kms = rng.uniform(20.0, 60.0, row.size)
    offsets = np.arange(-6, 7)
    rest_aa = np.array([line[0] for line in _METAL_LINES])
    strength = np.array([line[1] for line in _METAL_LINES])
    centre = np.log10(rest_aa[None, :] * (1.0 + z_abs[:, None])) / BOSS_DLOGLAM - pixel_first
    pix = np.rint(centre)[..., None].astype(np.int64) + offsets
    v = (pix - centre[..., None]) * BOSS_PIXEL_KMS
    contrib = (strength[None, :] * scale[:, None])[..., None] * np.exp(
        -0.5 * (v / sigma_kms[:, None, None]) ** 2
    )
    inside = (pix >= 0) & (pix < n_pix)
    flat = (row[:, None, None] * n_pix + pix)[inside]
    tau += np.bincount(flat, weights=contrib[inside], minlength=n_rows * n_pix)
    return tau.reshape(n_rows, n_pix)


def _lls_incidence(z: np.ndarray) -> np.ndarray:
    """Lyman-limit systems (τ_912 ≥ 2) per unit redshift, Prochaska et al. 2010."""
    return np.asarray(1.9 * ((1.0 + z) / 4.7) ** 1.94)


def resolution_sigma_pixels(resolution: float) -> float:
    """Gaussian σ, in BOSS pixels, of the line-spread function at resolving power R."""
    sigma_kms = SPEED_OF_LIGHT_KMS / resolution / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    return float(sigma_kms / BOSS_PIXEL_KMS)


def noise_sigma(observed: np.ndarray, amplitude: np.ndarray, snr: np.ndarray,
                loglam: np.ndarray) -> np.ndarray:
    """Per-pixel noise σ (flux units): ``amplitude / snr`` at the continuum level, rising
    as √(0.5 + 0.5 F/amplitude) with the signal and towards both ends of the spectrograph.
    ``observed`` is (n, pixels); ``amplitude`` and ``snr`` are per sightline."""
    lam = 10.0**loglam
    throughput = 1.0 + 2.0 * np.exp(-(lam - 3600.0) / 250.0) + 0.5 * np.exp((lam - 10400.0) / 400.0)
    relative = np.clip(observed / amplitude[:, None], 0.0, None)
    return np.asarray((amplitude / snr)[:, None] * np.sqrt(0.5 + 0.5 * relative)
                      * throughput[None, :])


def generate_mock_sightlines(
    n_sightlines: int,
    rng: np.random.Generator | int,
    config: MockConfig | None = None,
) -> MockSightlines:
    """Simulate ``n_sightlines`` BOSS quasar spectra and return them with their truth table.

    The truth table (``TRUTH_DTYPE``) lists every DLA, sub-DLA and Lyman-limit
    system: sightline index, z_qso, z_abs, log_nhi (cm⁻²), b_kms, kind, is_dla.
    """
    cfg = config or MockConfig()
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    n = int(n_sightlines)
    pixel_first, loglam = boss_grid(cfg.wavelength_min_aa, cfg.wavelength_max_aa)
    n_pix = loglam.size
    lam_min = 10.0 ** loglam[0]

    if cfg.z_qso_sample:
        z_qso = gen.choice(np.asarray(cfg.z_qso_sample, dtype=np.float64), n)
    else:
        z_qso = gen.uniform(cfg.z_qso_min, cfg.z_qso_max, n)
    amplitude = 10.0 ** gen.uniform(0.0, 1.3, n)
    snr_lo, snr_hi = (float(v) for v in np.log10(cfg.snr_range))
    snr = 10.0 ** gen.uniform(snr_lo, snr_hi, n)
    continuum = _continuum(gen, loglam, z_qso, amplitude)

    has = gen.random(n) < cfg.absorber_sightline_fraction
    counts = has * (1 + gen.poisson(cfg.extra_absorbers_mean, n))
    rest_lo, rest_hi = cfg.absorber_rest_range_aa
    margin = 20.0 * BOSS_DLOGLAM * np.log(10.0)
    z_lo = np.maximum((1.0 + z_qso) * rest_lo, lam_min * (1.0 + margin)) / LYA.wavelength_aa - 1.0
    z_hi = (1.0 + z_qso) * rest_hi / LYA.wavelength_aa - 1.0
    counts = np.where(z_hi > z_lo, counts, 0)
    h_row, h_z = _place_absorbers(gen, counts, z_lo, z_hi, cfg.min_separation_pixels)
    h_is_dla = gen.random(h_row.size) < cfg.dla_fraction
    if cfg.log_nhi_dla_sample:
        dla_nhi = gen.choice(np.asarray(cfg.log_nhi_dla_sample, dtype=np.float64), h_row.size)
    else:
        dla_nhi = sample_log_nhi(gen, h_row.size, cfg.log_nhi_dla_range)
    h_nhi = np.where(h_is_dla, dla_nhi, sample_log_nhi(gen, h_row.size, cfg.log_nhi_subdla_range))
    h_b = gen.uniform(15.0, 35.0, h_row.size)

    z_path_lo = lam_min / LYA.wavelength_aa - 1.0
    path = np.maximum(z_qso - z_path_lo, 0.0)
    n_lls = gen.poisson(cfg.lls_incidence_scale * _lls_incidence(0.5 * (z_qso + z_path_lo)) * path)
    l_row = np.repeat(np.arange(n), n_lls)
    l_z = gen.uniform(z_path_lo, z_qso[l_row])
    l_nhi = gen.uniform(cfg.log_nhi_lls_range[0], cfg.log_nhi_lls_range[1], l_row.size)
    l_b = gen.uniform(20.0, 40.0, l_row.size)

    row = np.concatenate([h_row, l_row])
    z_abs = np.concatenate([h_z, l_z])
    log_nhi = np.concatenate([h_nhi, l_nhi])
    b_kms = np.concatenate([h_b, l_b])
    tau = optical_depth_on_boss_grid(pixel_first, n_pix, row, z_abs, log_nhi, b_kms, n)
    tau += forest_optical_depth(loglam, z_qso, gen, sigma_g=cfg.forest_sigma_g)
    if cfg.metals:
        tau += _metal_optical_depth(gen, pixel_first, n_pix, h_row, h_z, h_nhi, n)

    observed = gaussian_filter1d(
        continuum * np.exp(-tau), resolution_sigma_pixels(cfg.resolution), axis=1, mode="nearest"
    )
    sigma = noise_sigma(observed, amplitude, snr, loglam)
    flux = observed + sigma * gen.standard_normal((n, n_pix))
    ivar = 1.0 / sigma**2

    if cfg.sky_mask_probability > 0:
        for sky_aa in _SKY_LINES_AA:
            k = round(float(np.log10(sky_aa)) / BOSS_DLOGLAM) - pixel_first
            hit = gen.random(n) < cfg.sky_mask_probability
            ivar[hit, max(k - 1, 0) : k + 2] = 0.0
    n_chunks = gen.poisson(cfg.bad_chunks_mean, n)
    c_row = np.repeat(np.arange(n), n_chunks)
    c_start = gen.integers(0, n_pix, c_row.size)
    c_len = gen.integers(3, 40, c_row.size)
    for r, s, ln in zip(c_row, c_start, c_len, strict=True):
        ivar[r, s : s + ln] = 0.0

    kinds = np.concatenate(
        [np.where(h_is_dla, "DLA", "SUBDLA"), np.full(l_row.size, "LLS")]
    ).astype("U6")
    truth = np.zeros(row.size, dtype=TRUTH_DTYPE)
    truth["sightline"] = row
    truth["z_qso"] = z_qso[row]
    truth["z_abs"] = z_abs
    truth["log_nhi"] = log_nhi
    truth["b_kms"] = b_kms
    truth["kind"] = kinds
    truth["is_dla"] = log_nhi >= LOG_NHI_DLA_MIN
    truth = truth[np.lexsort((truth["z_abs"], truth["sightline"]))]

    return MockSightlines(
        loglam=loglam,
        flux=flux.astype(np.float32),
        ivar=ivar.astype(np.float32),
        z_qso=z_qso,
        snr=snr,
        continuum=continuum.astype(np.float32),
        truth=truth,
        amplitude=amplitude,
    )
