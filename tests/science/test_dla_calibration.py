"""log N_HI calibration: the fitted map removes a known bias and carries errors through."""

from __future__ import annotations

import json

import numpy as np
import pytest

from galcat.models.dla.absorbers import PeakConfig, sightline_absorbers
from galcat.models.dla.calibration import (
    calibrate_log_nhi,
    calibration_slope,
    fit_log_nhi_calibration,
)
from galcat.models.dla.network import NetworkConfig


def shrunk_estimates(n: int = 20_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """True log N_HI and estimates pulled 20% towards 20.8 and 0.05 dex low, scatter 0.1."""
    rng = np.random.default_rng(seed)
    true = rng.uniform(20.0, 22.6, n)
    return true, 20.8 + 0.8 * (true - 20.8) - 0.05 + rng.normal(0.0, 0.1, n)


def test_calibration_removes_a_known_bias_in_every_bin() -> None:
    true, est = shrunk_estimates()
    knots = fit_log_nhi_calibration(true, est)
    raw, cal = np.array(knots).T
    assert np.all(np.diff(raw) > 0) and np.all(np.diff(cal) > 0)
    calibrated = calibrate_log_nhi(est, knots)
    before, after = [], []
    for lo in np.arange(20.2, 22.0, 0.2):
        inside = (true >= lo) & (true < lo + 0.2)
        before.append(abs(np.median(est[inside] - true[inside])))
        after.append(abs(np.median(calibrated[inside] - true[inside])))
    assert max(before) > 0.2 and max(after) < 0.02
    assert np.median(calibration_slope(est, knots)) == pytest.approx(1 / 0.8, rel=0.05)


def test_calibration_is_identity_without_knots_and_extends_its_end_segments() -> None:
    values = np.array([19.0, 20.5, 23.0])
    assert np.array_equal(calibrate_log_nhi(values, ()), values)
    assert np.array_equal(calibration_slope(values, ()), np.ones(3))
    knots = ((20.0, 20.1), (21.0, 21.3), (22.0, 22.3))
    assert calibrate_log_nhi(values, knots) == pytest.approx([18.9, 20.7, 23.3])
    assert calibration_slope(values, knots) == pytest.approx([1.2, 1.2, 1.0])


def test_too_few_matched_absorbers_is_a_clear_error() -> None:
    true, est = shrunk_estimates(n=40)
    with pytest.raises(ValueError, match="calibrate on more mock sightlines"):
        fit_log_nhi_calibration(true, est)


def test_network_config_carries_the_calibration_through_json() -> None:
    config = NetworkConfig(log_nhi_calibration=((20.1, 20.2), (21.0, 21.1)))
    back = NetworkConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert back == config
    assert PeakConfig.for_network(back).log_nhi_calibration == config.log_nhi_calibration
    assert PeakConfig.for_network(back).votes_per_unit == pytest.approx(80.0)


def test_absorbers_take_the_calibrated_column_density_and_type() -> None:
    n = 1748
    j = np.arange(n)
    near = np.abs(j - 700) <= 60
    prob = near.astype(float)
    offset = np.where(near, 700 - j, 0.0).astype(float)
    rng = np.random.default_rng(1)
    nhi = np.where(near, 20.2 + rng.normal(0, 0.05, n), 20.0)
    plain = sightline_absorbers(prob, offset, nhi, 36000)
    shifted = sightline_absorbers(prob, offset, nhi, 36000, config=PeakConfig(
        log_nhi_calibration=((19.0, 19.2), (22.0, 22.4))))
    assert list(plain["type"]) == ["SUBDLA"] and list(shifted["type"]) == ["DLA"]
    slope = 3.2 / 3.0
    assert shifted["log_nhi"][0] == pytest.approx(19.2 + slope * (plain["log_nhi"][0] - 19.0))
    assert shifted["log_nhi_err"][0] == pytest.approx(slope * plain["log_nhi_err"][0])
