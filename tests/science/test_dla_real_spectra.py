"""Preprocessing the 44 real BOSS quasar spectra: finite inputs and a sensible S/N."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from conftest import shared_data

from galcat.catalog.formats.spectra import read_boss_spec
from galcat.models.dla.preprocess import N_SEARCH_PIXELS, WINDOW_PIXELS, prepare_sightlines


@pytest.fixture(scope="module")
def real():
    folder = shared_data("boss")
    with open(folder / "index.csv", newline="") as fh:
        index = {row["file"]: row for row in csv.DictReader(fh)}
    records = [read_boss_spec(folder / name) for name in sorted(index)]
    prepared = prepare_sightlines((r.loglam, r.flux, r.ivar, r.z_qso) for r in records)
    sn_pipeline = np.array([float(index[name]["sn_median_all"]) for name in sorted(index)])
    return records, prepared, sn_pipeline


def test_real_inputs_are_finite_bounded_and_flagged(real) -> None:
    _, prepared, _ = real
    assert prepared.inputs.shape == (44, N_SEARCH_PIXELS + WINDOW_PIXELS - 1, 2)
    assert prepared.usable.all() and np.isfinite(prepared.inputs).all()
    flux, valid = prepared.inputs[..., 0], prepared.inputs[..., 1]
    assert set(np.unique(valid)) <= {0.0, 1.0} and np.all(flux[valid == 0] == 0)
    assert flux.min() >= -5.0 and flux.max() <= 10.0
    # the continuum near 1450 Å is the unit: the median normalised flux redward of Lyα is ~1
    assert 0.7 < np.median(flux[:, -400:][valid[:, -400:] > 0]) < 1.6
    assert np.all(prepared.normalisation > 0)


def test_real_snr_tracks_the_pipeline_median_snr(real) -> None:
    _, prepared, sn_pipeline = real
    assert prepared.snr.min() > 1.0 and prepared.snr.max() < 25.0
    assert np.corrcoef(np.log(prepared.snr), np.log(sn_pipeline))[0, 1] > 0.95
    assert 0.7 < np.median(prepared.snr / sn_pipeline) < 1.4


def test_search_range_starts_at_the_blue_end_and_stops_at_the_quasar(real) -> None:
    records, prepared, _ = real
    for rec, zmin, zmax in zip(records, prepared.z_search_min, prepared.z_search_max, strict=True):
        first_data = 10 ** rec.loglam[np.nonzero(rec.ivar > 0)[0][0]]
        assert zmin >= max(first_data, 900 * (1 + rec.z_qso)) / 1215.6701 - 1 - 1e-4
        assert zmax == pytest.approx(rec.z_qso)
