"""From a spectrum (loglam, flux, ivar, z_qso) to what the DLA network sees.

The search region is rest-frame 900–1346 Å on the observed BOSS log grid: a fixed
``N_SEARCH_PIXELS`` = 1748 pixels per sightline (one window centre per pixel, as
Parks et al. 2018), starting at the first grid pixel at or above 900 (1+z_qso) Å.
The network input is that region padded by ``HALF_WINDOW`` pixels on the left and
``WINDOW_PIXELS − HALF_WINDOW − 1`` on the right, so that window j is
``padded[j : j + WINDOW_PIXELS]`` and its centre pixel is search pixel j.

Two channels per pixel (the network's input):

0. flux / N, where N is the median flux of unmasked pixels in rest 1420–1480 Å
   (fallbacks: 1270–1350 Å, then 1050–1170 Å), clipped to ``FLUX_CLIP``; 0 where
   the pixel is masked (ivar ≤ 0 or non-finite) or outside the observed spectrum.
1. 1 where the pixel holds data, 0 where it is masked or outside the spectrum, so a
   masked stretch is never mistaken for a saturated (zero-flux) trough.

Beside the input, ``noise`` keeps each padded pixel's 1σ flux error in the same units
(0 where there is no data), for the Voigt refinement (:mod:`models.dla.refine`).

S/N is the median of flux·√ivar over the unmasked pixels of the normalisation range
(rest 1420–1480 Å unless a fallback was needed). The searched Lyα redshift range runs
from the first to the last search pixel holding data, capped at z_qso. A spectrum
with no usable normalisation range is flagged ``usable = False`` and left all zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .constants import BOSS_DLOGLAM, LYA
from .mock import MockSightlines

REST_SEARCH_MIN_AA = 900.0
REST_SEARCH_MAX_AA = 1346.0
N_SEARCH_PIXELS = int(np.floor(np.log10(REST_SEARCH_MAX_AA / REST_SEARCH_MIN_AA) / BOSS_DLOGLAM))
WINDOW_PIXELS = 400
HALF_WINDOW = 200
N_CHANNELS = 2
FLUX_CLIP = (-5.0, 10.0)
NORMALISATION_RANGES_AA: tuple[tuple[float, float], ...] = (
    (1420.0, 1480.0),
    (1270.0, 1350.0),
    (1050.0, 1170.0),
)
_MIN_NORMALISATION_PIXELS = 20
_LATTICE_TOLERANCE = 0.05


@dataclass(frozen=True)
class PreparedSightlines:
    """Network inputs and per-sightline metadata for a batch of spectra.

    ``inputs`` has shape (n, n_search + window − 1, 2), float32. ``pixel_first[i]``
    is the global BOSS pixel index (log10 λ / 1e-4) of search pixel 0 of sightline i.
    """

    inputs: np.ndarray
    pixel_first: np.ndarray
    z_qso: np.ndarray
    snr: np.ndarray
    normalisation: np.ndarray
    normalisation_range_aa: np.ndarray
    z_search_min: np.ndarray
    z_search_max: np.ndarray
    usable: np.ndarray
    noise: np.ndarray
    """(n, n_search + window − 1) float32: 1σ error of channel 0, 0 where it holds no data."""
    window_pixels: int = WINDOW_PIXELS

    def __len__(self) -> int:
        return int(self.z_qso.size)

    @property
    def n_search(self) -> int:
        """Number of window centres (search pixels) per sightline."""
        return int(self.inputs.shape[1] - self.window_pixels + 1)

    def search_loglam(self, i: int) -> np.ndarray:
        """log10(λ/Å) of the search pixels (window centres) of sightline i."""
        return (self.pixel_first[i] + np.arange(self.n_search)) * BOSS_DLOGLAM

    def z_lya(self, i: int, search_pixel: np.ndarray | float) -> np.ndarray:
        """Lyα absorption redshift of (possibly fractional) search pixel(s) of sightline i."""
        k = self.pixel_first[i] + np.asarray(search_pixel, dtype=np.float64)
        return np.asarray(10.0 ** (k * BOSS_DLOGLAM) / LYA.wavelength_aa - 1.0)


def snap_to_boss_grid(
    loglam: np.ndarray, flux: np.ndarray, ivar: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(global pixel index, flux, ivar) on the contiguous BOSS lattice.

    Spectra already on the lattice (BOSS, SDSS DR7) are only re-indexed; others are
    linearly resampled, with ivar = 0 wherever a masked pixel contributes.
    """
    loglam = np.asarray(loglam, dtype=np.float64)
    flux = np.asarray(flux, dtype=np.float64)
    ivar = np.asarray(ivar, dtype=np.float64)
    if (
        loglam.ndim != 1
        or loglam.size < 2
        or flux.shape != loglam.shape
        or ivar.shape != loglam.shape
    ):
        raise ValueError("loglam, flux and ivar must be 1-D arrays of the same length (≥ 2)")
    if not np.all(np.diff(loglam) > 0):
        raise ValueError("loglam must be strictly increasing")
    good = np.isfinite(flux) & np.isfinite(ivar) & (ivar > 0)
    flux = np.where(good, flux, 0.0)
    ivar = np.where(good, ivar, 0.0)
    exact = loglam / BOSS_DLOGLAM
    pixel = np.rint(exact).astype(np.int64)
    contiguous = np.all(np.diff(pixel) == 1)
    if contiguous and np.max(np.abs(exact - pixel)) < _LATTICE_TOLERANCE:
        return pixel, flux, ivar
    target = np.arange(int(np.ceil(exact[0])), int(np.floor(exact[-1])) + 1)
    flux_t = np.interp(target, exact, flux)
    variance = np.where(good, 1.0 / np.where(good, ivar, 1.0), 0.0)
    var_t = np.interp(target, exact, variance)
    bad_t = np.interp(target, exact, (~good).astype(np.float64)) > 0
    ivar_t = np.where(bad_t | (var_t <= 0), 0.0, 1.0 / np.where(var_t > 0, var_t, 1.0))
    return target, np.where(bad_t, 0.0, flux_t), ivar_t


def _median_in_rest_range(
    pixel: np.ndarray,
    values: np.ndarray,
    good: np.ndarray,
    z_qso: float,
    rest_range_aa: tuple[float, float],
) -> tuple[float, int]:
    lo = np.log10(rest_range_aa[0] * (1.0 + z_qso)) / BOSS_DLOGLAM
    hi = np.log10(rest_range_aa[1] * (1.0 + z_qso)) / BOSS_DLOGLAM
    sel = good & (pixel >= lo) & (pixel < hi)
    count = int(sel.sum())
    return (float(np.median(values[sel])) if count else float("nan")), count


def prepare_sightline(
    loglam: np.ndarray,
    flux: np.ndarray,
    ivar: np.ndarray,
    z_qso: float,
    window_pixels: int = WINDOW_PIXELS,
    n_search: int = N_SEARCH_PIXELS,
) -> PreparedSightlines:
    """Prepare one spectrum (log10 λ/Å, flux, ivar in flux⁻², z_qso) for the network."""
    return prepare_sightlines([(loglam, flux, ivar, z_qso)], window_pixels, n_search)


def prepare_sightlines(
    spectra: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray, float]],
    window_pixels: int = WINDOW_PIXELS,
    n_search: int = N_SEARCH_PIXELS,
) -> PreparedSightlines:
    """Prepare many spectra, each given as (loglam, flux, ivar, z_qso).

    ``window_pixels`` sets the padding (half of it, ``window_pixels // 2``, to the
    left of search pixel 0); ``n_search`` the number of window centres, 1748 for the
    full rest 900–1346 Å region (smaller values only for tests).
    """
    half_window = window_pixels // 2
    rows: list[np.ndarray] = []
    noises: list[np.ndarray] = []
    meta: dict[str, list[float]] = {
        k: []
        for k in (
            "pixel_first",
            "z_qso",
            "snr",
            "norm",
            "norm_lo",
            "norm_hi",
            "zmin",
            "zmax",
            "usable",
        )
    }
    n_padded = n_search + window_pixels - 1
    for loglam, flux, ivar, z_qso in spectra:
        pixel, f, iv = snap_to_boss_grid(loglam, flux, ivar)
        good = iv > 0
        norm, snr = float("nan"), float("nan")
        norm_range: tuple[float, float] = (float("nan"), float("nan"))
        for rng in NORMALISATION_RANGES_AA:
            med, count = _median_in_rest_range(pixel, f, good, z_qso, rng)
            if count >= _MIN_NORMALISATION_PIXELS and med > 0:
                norm, norm_range = med, rng
                snr, _ = _median_in_rest_range(pixel, f * np.sqrt(iv), good, z_qso, rng)
                break
        first = int(np.ceil(np.log10(REST_SEARCH_MIN_AA * (1.0 + z_qso)) / BOSS_DLOGLAM - 1e-9))
        start = first - half_window
        x = np.zeros((n_padded, N_CHANNELS), dtype=np.float32)
        noise = np.zeros(n_padded, dtype=np.float32)
        usable = np.isfinite(norm)
        if usable:
            idx = pixel - start
            inside = (idx >= 0) & (idx < n_padded) & good
            x[idx[inside], 0] = np.clip(f[inside] / norm, *FLUX_CLIP)
            x[idx[inside], 1] = 1.0
            noise[idx[inside]] = 1.0 / (np.sqrt(iv[inside]) * norm)
        search_valid = np.nonzero(x[half_window : half_window + n_search, 1] > 0)[0]
        if search_valid.size:
            k_lo = first + search_valid[0]
            z_min = 10.0 ** (k_lo * BOSS_DLOGLAM) / LYA.wavelength_aa - 1.0
            z_max = min(
                z_qso, 10.0 ** ((first + search_valid[-1]) * BOSS_DLOGLAM) / LYA.wavelength_aa - 1.0
            )
        else:
            z_min = z_max = float("nan")
        rows.append(x)
        noises.append(noise)
        for key, value in (
            ("pixel_first", first),
            ("z_qso", z_qso),
            ("snr", snr),
            ("norm", norm),
            ("norm_lo", norm_range[0]),
            ("norm_hi", norm_range[1]),
            ("zmin", z_min),
            ("zmax", z_max),
            ("usable", usable),
        ):
            meta[key].append(float(value))
    inputs = np.stack(rows) if rows else np.zeros((0, n_padded, N_CHANNELS), np.float32)
    return PreparedSightlines(
        inputs=inputs,
        pixel_first=np.asarray(meta["pixel_first"], dtype=np.int64),
        z_qso=np.asarray(meta["z_qso"]),
        snr=np.asarray(meta["snr"]),
        normalisation=np.asarray(meta["norm"]),
        normalisation_range_aa=np.column_stack([meta["norm_lo"], meta["norm_hi"]]).reshape(-1, 2),
        z_search_min=np.asarray(meta["zmin"]),
        z_search_max=np.asarray(meta["zmax"]),
        usable=np.asarray(meta["usable"], dtype=bool),
        noise=np.stack(noises) if noises else np.zeros((0, n_padded), np.float32),
        window_pixels=window_pixels,
    )


def prepare_mock(
    mock: MockSightlines,
    indices: Sequence[int] | None = None,
    window_pixels: int = WINDOW_PIXELS,
    n_search: int = N_SEARCH_PIXELS,
) -> PreparedSightlines:
    """Prepare sightlines of a mock batch (all, or ``indices``)."""
    chosen = range(len(mock)) if indices is None else indices
    return prepare_sightlines((mock.sightline(int(i)) for i in chosen), window_pixels, n_search)
