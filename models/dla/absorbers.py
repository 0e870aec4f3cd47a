"""From per-window predictions to a list of absorbers (after Parks et al. 2018, §3.3).

1. Each window centre j votes for pixel j + offset_j with weight p_j (its
   classification probability); votes are binned per search pixel.
2. The histogram is divided by ``votes_per_unit`` (Parks: 80 for ±60-pixel offsets),
   summed over 5 pixels and median-filtered over 9 pixels.
3. Peaks are taken highest first while ≥ ``peak_threshold`` (0.2); after each, the
   curve is cleared out to the first point below ``valley_threshold`` (0.1) on both
   sides, so two absorbers need a valley between them.
4. For each peak: confidence = min(1, unsmoothed 5-pixel vote sum); position = vote
   centroid within ±3 pixels; log N_HI = probability-weighted mean (and standard
   deviation, ``log_nhi_err``) of the predictions of the windows that voted within
   ±``nhi_vote_radius`` pixels of the peak, then calibrated against the truth when the
   model carries a calibration (:mod:`models.dla.calibration`); with an error model the
   spread becomes a calibrated σ(log N_HI), and σ(z) and ``p_dla`` follow
   (:mod:`models.dla.uncertainty`).
5. Type: ``LYB`` when the peak lies within ``lyb_tolerance_pixels`` of the Lyβ of a
   stronger peak (log N_HI larger by ≥ 0.3), else ``DLA`` (log N_HI ≥ 20.3) or ``SUBDLA``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter1d
from scipy.signal import medfilt

from .calibration import calibrate_log_nhi, calibration_slope
from .constants import BOSS_DLOGLAM, LOG_NHI_DLA_MIN, LYA, LYB
from .dense import DensePredictions
from .network import NetworkConfig
from .preprocess import PreparedSightlines
from .uncertainty import ErrorModel, p_dla

ABSORBER_DTYPE = np.dtype(
    [
        ("sightline", np.int64),
        ("z_dla", np.float64),
        ("log_nhi", np.float64),
        ("log_nhi_err", np.float64),
        ("z_dla_err", np.float64),
        ("p_dla", np.float64),
        ("confidence", np.float64),
        ("type", "U6"),
        ("search_pixel", np.float64),
    ]
)
SIGHTLINE_DTYPE = np.dtype(
    [
        ("sightline", np.int64),
        ("z_qso", np.float64),
        ("z_search_min", np.float64),
        ("z_search_max", np.float64),
        ("snr", np.float64),
        ("n_absorbers", np.int64),
    ]
)
_DATA_RADIUS_PIXELS = 5
_LYB_SHIFT_PIXELS = float(np.log10(LYA.wavelength_aa / LYB.wavelength_aa) / BOSS_DLOGLAM)


@dataclass(frozen=True)
class PeakConfig:
    """Thresholds of the vote → absorber step (pixels, or normalised vote units)."""

    votes_per_unit: float = 80.0
    peak_threshold: float = 0.2
    valley_threshold: float = 0.1
    edge_pixels: int = 10
    centroid_radius: int = 3
    nhi_vote_radius: float = 5.0
    lyb_tolerance_pixels: float = 15.0
    lyb_min_nhi_difference: float = 0.3
    log_nhi_calibration: tuple[tuple[float, float], ...] = ()
    error_model: tuple[float, ...] = ()

    @classmethod
    def for_offset_range(cls, offset_range_pixels: float) -> PeakConfig:
        """Scale Parks's 80 votes (for ±60-pixel offsets) to another offset range."""
        return cls(votes_per_unit=80.0 * (2 * offset_range_pixels + 1) / 121.0)

    @classmethod
    def for_network(cls, network: NetworkConfig) -> PeakConfig:
        """The votes scale of the network's offset range and its log N_HI calibration."""
        return cls(votes_per_unit=cls.for_offset_range(network.offset_range_pixels).votes_per_unit,
                   log_nhi_calibration=network.log_nhi_calibration,
                   error_model=network.error_model)


@dataclass(frozen=True)
class AbsorberCatalog:
    """Absorbers (``ABSORBER_DTYPE``) and per-sightline search summary (``SIGHTLINE_DTYPE``)."""

    absorbers: np.ndarray
    sightlines: np.ndarray


def vote_curves(
    probability: np.ndarray, offset: np.ndarray, votes_per_unit: float
) -> tuple[np.ndarray, np.ndarray]:
    """(5-pixel vote sum, its 9-pixel median-filtered version) for one sightline."""
    n = probability.size
    target = np.clip(np.rint(np.arange(n) + offset), 0, n - 1).astype(np.int64)
    hist = np.bincount(target, weights=probability, minlength=n) / votes_per_unit
    padded = np.pad(hist, 2, mode="constant", constant_values=hist.mean())
    conv_sum = padded[:-4] + padded[1:-3] + padded[2:-2] + padded[3:-1] + padded[4:]
    smooth = medfilt(conv_sum, 9)
    return conv_sum, smooth


def find_peaks(smooth: np.ndarray, config: PeakConfig = PeakConfig()) -> list[int]:
    """Peak indices of a smoothed vote curve, highest first, separated by valleys."""
    curve = smooth.astype(np.float64).copy()
    curve[0] = curve[-1] = 0.0
    n = curve.size
    peaks: list[int] = []
    while True:
        peak = int(np.argmax(curve))
        if curve[peak] < config.peak_threshold:
            break
        if peak <= config.edge_pixels or peak >= n - 1 - config.edge_pixels:
            curve[max(0, peak - 15) : peak + 15] = 0.0
            continue
        ridge = 1
        while peak + ridge < n and curve[peak + ridge] == curve[peak]:
            ridge += 1
        peak += ridge // 2
        peaks.append(peak)
        below_left = np.nonzero(curve[: peak + 1] < config.valley_threshold)[0]
        below_right = np.nonzero(curve[peak:] < config.valley_threshold)[0]
        left = below_left[-1] + 1 if below_left.size else 0
        right = peak + below_right[0] if below_right.size else n
        curve[left:right] = 0.0
    return peaks


def _weighted_mean_std(values: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    total = weights.sum()
    if total <= 0:
        return float("nan"), float("nan")
    mean = float(np.sum(weights * values) / total)
    return mean, float(np.sqrt(np.sum(weights * (values - mean) ** 2) / total))


def sightline_absorbers(
    probability: np.ndarray,
    offset: np.ndarray,
    log_nhi: np.ndarray,
    pixel_first: int,
    valid: np.ndarray | None = None,
    config: PeakConfig = PeakConfig(),
) -> np.ndarray:
    """Absorbers (``ABSORBER_DTYPE``, sightline = 0) of one sightline's window predictions.

    ``pixel_first`` is the global BOSS pixel index of window centre 0; ``valid`` (same
    length) marks centres with data: peaks on centres without data are dropped.
    """
    conv_sum, smooth = vote_curves(probability, offset, config.votes_per_unit)
    peaks = find_peaks(smooth, config)
    n = probability.size
    target = np.arange(n) + offset
    hist = np.bincount(
        np.clip(np.rint(target), 0, n - 1).astype(np.int64), weights=probability, minlength=n
    )
    rows = []
    for peak in sorted(peaks):
        if valid is not None and not valid[peak]:
            continue
        lo, hi = max(0, peak - config.centroid_radius), min(n, peak + config.centroid_radius + 1)
        hist_near = hist[lo:hi]
        centre = (
            float(np.sum(np.arange(lo, hi) * hist_near) / hist_near.sum())
            if hist_near.sum() > 0
            else float(peak)
        )
        voters = np.abs(target - centre) <= config.nhi_vote_radius
        nhi, nhi_err = _weighted_mean_std(log_nhi[voters], probability[voters])
        if not np.isfinite(nhi):
            near = slice(max(0, peak - 30), peak + 30)
            nhi, nhi_err = float(np.mean(log_nhi[near])), float(np.std(log_nhi[near]))
        if config.log_nhi_calibration:
            nhi_err *= float(calibration_slope(nhi, config.log_nhi_calibration))
            nhi = float(calibrate_log_nhi(nhi, config.log_nhi_calibration))
        z = 10.0 ** ((pixel_first + centre) * BOSS_DLOGLAM) / LYA.wavelength_aa - 1.0
        rows.append((0, z, nhi, nhi_err, np.nan, np.nan, min(1.0, float(conv_sum[peak])), "",
                     centre))
    out = np.array(rows, dtype=ABSORBER_DTYPE)
    out["type"] = assign_types(out, config)
    return out


def assign_types(rows: np.ndarray, config: PeakConfig = PeakConfig()) -> np.ndarray:
    """Type of each absorber of one sightline (``ABSORBER_DTYPE`` rows): ``LYB`` when it
    lies at the Lyβ of a stronger one, else ``DLA`` or ``SUBDLA`` by its log N_HI."""
    types = np.where(rows["log_nhi"] >= LOG_NHI_DLA_MIN, "DLA", "SUBDLA").astype("U6")
    for i in range(rows.size):
        lyb_of_other = rows["search_pixel"] - _LYB_SHIFT_PIXELS
        parent = (np.abs(lyb_of_other - rows["search_pixel"][i]) <= config.lyb_tolerance_pixels) & (
            rows["log_nhi"] >= rows["log_nhi"][i] + config.lyb_min_nhi_difference
        )
        if parent.any():
            types[i] = "LYB"
    return types


def _uncertainties(rows: np.ndarray, snr: float, config: PeakConfig) -> None:
    """Fill ``log_nhi_err`` (calibrated when the network carries an error model, else the
    voting windows' spread), ``z_dla_err`` (NaN without a model) and ``p_dla``, in place."""
    if not config.error_model:
        rows["p_dla"] = p_dla(rows["log_nhi"], rows["log_nhi_err"])
        return
    model = ErrorModel.from_sequence(config.error_model)
    snr_each = np.full(rows.size, snr)
    rows["log_nhi_err"] = model.log_nhi_sigma(rows["log_nhi_err"], snr_each, rows["log_nhi"])
    rows["z_dla_err"] = model.z_sigma(rows["z_dla"], snr_each)
    rows["p_dla"] = model.p_dla(rows["log_nhi"], rows["log_nhi_err"])


def find_absorbers(
    predictions: DensePredictions,
    prepared: PreparedSightlines,
    config: PeakConfig = PeakConfig(),
) -> AbsorberCatalog:
    """Absorbers of every sightline, plus each sightline's searched z range and S/N.

    Peaks with no unmasked pixel within ±5 pixels are dropped (no data, no absorber), and
    so are peaks redward of the quasar (z_dla > z_qso: the Lyα emission line, not an absorber).
    """
    half = prepared.window_pixels // 2
    n_search = prepared.n_search
    found = []
    summary = np.zeros(len(prepared), dtype=SIGHTLINE_DTYPE)
    for i in range(len(prepared)):
        has_data = prepared.inputs[i, half : half + n_search, 1] > 0
        valid = maximum_filter1d(has_data, 2 * _DATA_RADIUS_PIXELS + 1)
        rows = sightline_absorbers(
            predictions.probability[i],
            predictions.offset[i],
            predictions.log_nhi[i],
            int(prepared.pixel_first[i]),
            valid,
            config,
        )
        rows = rows[rows["z_dla"] <= prepared.z_qso[i]]
        rows["sightline"] = i
        _uncertainties(rows, float(prepared.snr[i]), config)
        found.append(rows)
        summary[i] = (
            i,
            prepared.z_qso[i],
            prepared.z_search_min[i],
            prepared.z_search_max[i],
            prepared.snr[i],
            rows.size,
        )
    absorbers = np.concatenate(found) if found else np.zeros(0, dtype=ABSORBER_DTYPE)
    return AbsorberCatalog(absorbers=absorbers, sightlines=summary)
