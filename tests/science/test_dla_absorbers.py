"""Windows → absorbers: voting, valleys, edges, N_HI, types and the per-sightline summary."""

from __future__ import annotations

import numpy as np
import pytest

from galcat.models.dla.absorbers import (
    PeakConfig,
    find_absorbers,
    find_peaks,
    sightline_absorbers,
    vote_curves,
)
from galcat.models.dla.constants import LYA, LYB
from galcat.models.dla.dense import DensePredictions
from galcat.models.dla.preprocess import prepare_sightline

N = 1748
PIXEL_FIRST = 36000


def ideal_windows(absorbers: list[tuple[float, float]], reach: int = 60, noise: float = 0.0):
    """Predictions of a perfect network: windows within ``reach`` point at the absorber."""
    rng = np.random.default_rng(0)
    prob = np.zeros(N)
    offset = rng.normal(0, 20, N)
    nhi = np.full(N, 20.0)
    j = np.arange(N)
    for pixel, log_nhi in absorbers:
        near = np.abs(pixel - j) <= reach
        prob[near] = 1.0
        offset[near] = pixel - j[near] + rng.normal(0, noise, near.sum())
        nhi[near] = log_nhi + rng.normal(0, 0.05, near.sum())
    return prob, offset, nhi


def z_of(pixel: float) -> float:
    return 10 ** ((PIXEL_FIRST + pixel) * 1e-4) / LYA.wavelength_aa - 1


def test_two_clean_absorbers_are_found_with_position_nhi_and_type() -> None:
    prob, offset, nhi = ideal_windows([(500.0, 21.2), (1200.4, 20.0)])
    found = sightline_absorbers(prob, offset, nhi, PIXEL_FIRST)
    assert found.size == 2
    assert found["search_pixel"] == pytest.approx([500.0, 1200.0], abs=0.5)
    assert found["z_dla"] == pytest.approx([z_of(500.0), z_of(1200.0)], abs=1e-4)
    assert found["log_nhi"] == pytest.approx([21.2, 20.0], abs=0.03)
    assert np.all(found["log_nhi_err"] < 0.1) and np.all(found["confidence"] == 1.0)
    assert list(found["type"]) == ["DLA", "SUBDLA"]


def test_noisy_offsets_still_give_one_peak_per_absorber() -> None:
    prob, offset, nhi = ideal_windows([(700.0, 20.8)], noise=3.0)
    found = sightline_absorbers(prob, offset, nhi, PIXEL_FIRST)
    assert found.size == 1 and abs(found["search_pixel"][0] - 700.0) < 1.5


def test_peaks_need_a_valley_between_them() -> None:
    curve = np.zeros(300)
    curve[100:140] = 0.5
    curve[140:150] = 0.15
    curve[150:190] = 0.6
    assert find_peaks(curve) == [170]
    curve[140:150] = 0.05
    assert sorted(find_peaks(curve)) == [120, 170]


def test_peaks_below_threshold_and_at_the_edges_are_ignored() -> None:
    curve = np.zeros(300)
    curve[50:60] = 0.19
    curve[1:8] = 0.9
    curve[293:299] = 0.9
    assert find_peaks(curve) == []


def test_probability_weighting_and_normalisation_of_votes() -> None:
    prob = np.zeros(200)
    prob[40:161] = 0.5
    offset = 100.0 - np.arange(200)
    conv_sum, smooth = vote_curves(prob, offset, votes_per_unit=80.0)
    assert conv_sum[100] == pytest.approx(121 * 0.5 / 80.0)
    assert smooth.max() == pytest.approx(conv_sum[100])


def test_lyb_of_a_stronger_absorber_is_typed_lyb() -> None:
    shift = np.log10(LYA.wavelength_aa / LYB.wavelength_aa) * 1e4
    prob, offset, nhi = ideal_windows([(1400.0, 21.5), (1400.0 - shift + 4.0, 20.6)])
    found = sightline_absorbers(prob, offset, nhi, PIXEL_FIRST)
    assert list(found["type"]) == ["LYB", "DLA"]
    prob, offset, nhi = ideal_windows([(1400.0, 20.7), (1400.0 - shift + 4.0, 20.6)])
    assert list(sightline_absorbers(prob, offset, nhi, PIXEL_FIRST)["type"]) == ["DLA", "DLA"]


def test_peaks_on_centres_without_data_are_dropped() -> None:
    prob, offset, nhi = ideal_windows([(300.0, 21.0), (900.0, 21.0)])
    valid = np.ones(N, bool)
    valid[:400] = False
    found = sightline_absorbers(prob, offset, nhi, PIXEL_FIRST, valid)
    assert found["search_pixel"] == pytest.approx([900.0], abs=0.5)


def test_find_absorbers_reports_each_sightline_search_range_and_snr() -> None:
    k = np.arange(int(np.ceil(np.log10(3600) * 1e4)), int(np.log10(10400) * 1e4))
    prepared = prepare_sightline(k * 1e-4, np.full(k.size, 3.0), np.full(k.size, 1.0), 3.2)
    prob, offset, nhi = ideal_windows([(800.0, 20.9)])
    preds = DensePredictions(
        prob[None].astype(np.float32), offset[None].astype(np.float32), nhi[None].astype(np.float32)
    )
    half = prepared.window_pixels // 2
    prepared.inputs[0, half + 797 : half + 804] = 0.0  # a masked stretch at the absorber
    catalog = find_absorbers(preds, prepared, PeakConfig())
    assert catalog.absorbers.size == 1 and catalog.absorbers["sightline"][0] == 0
    z_expected = 10 ** ((prepared.pixel_first[0] + 800) * 1e-4) / LYA.wavelength_aa - 1
    assert catalog.absorbers["z_dla"][0] == pytest.approx(z_expected, abs=1e-4)
    row = catalog.sightlines[0]
    assert row["snr"] == pytest.approx(3.0) and row["n_absorbers"] == 1
    assert row["z_search_min"] == pytest.approx(prepared.z_search_min[0])
    assert row["z_search_max"] == pytest.approx(3.2)


def test_scaled_vote_normalisation_for_other_offset_ranges() -> None:
    assert PeakConfig.for_offset_range(60).votes_per_unit == pytest.approx(80.0)
    assert PeakConfig.for_offset_range(10).votes_per_unit == pytest.approx(80.0 * 21 / 121)


def test_peaks_redward_of_the_quasar_are_not_absorbers() -> None:
    k = np.arange(int(np.ceil(np.log10(3600) * 1e4)), int(np.log10(10400) * 1e4))
    prepared = prepare_sightline(k * 1e-4, np.full(k.size, 3.0), np.full(k.size, 1.0), 3.2)
    z_of = lambda pixel: 10 ** ((prepared.pixel_first[0] + pixel) * 1e-4) / LYA.wavelength_aa - 1  # noqa: E731
    beyond = next(p for p in range(800, N) if z_of(p) > 3.2 + 0.003)
    prob, offset, nhi = ideal_windows([(800.0, 20.9), (float(beyond), 20.6)])
    preds = DensePredictions(
        prob[None].astype(np.float32), offset[None].astype(np.float32), nhi[None].astype(np.float32)
    )
    catalog = find_absorbers(preds, prepared, PeakConfig())
    assert catalog.absorbers.size == 1
    assert catalog.absorbers["z_dla"][0] == pytest.approx(z_of(800), abs=1e-4)
