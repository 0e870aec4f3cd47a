"""The DLA error model and p_dla: fits recover what made the data, and round-trip."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr

from galcat.models.dla.uncertainty import (
    ErrorModel,
    fit_error_model,
    fit_p_dla,
    p_dla,
    pull_bin,
    reliability,
    threshold_distance,
)

TRUE = ErrorModel(nhi_spread_scale=2.0, nhi_noise=0.4, nhi_floor=0.05, nhi_slope=-0.3,
                  z_noise=0.004, z_floor=0.0005)


def _draw(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    spread = rng.uniform(0.005, 0.06, n)
    snr = rng.uniform(3, 40, n)
    log_nhi = rng.uniform(19.5, 22.0, n)
    z = rng.uniform(2.0, 4.5, n)
    sigma_n = TRUE.log_nhi_sigma(spread, snr, log_nhi)
    sigma_z = TRUE.z_sigma(z, snr)
    return {"spread": spread, "snr": snr, "log_nhi": log_nhi, "z": z,
            "delta_n": rng.normal(0, sigma_n), "delta_z": rng.normal(0, sigma_z)}


def test_the_error_model_fit_recovers_its_coefficients() -> None:
    d = _draw(20_000, 1)
    fit = fit_error_model(d["delta_n"], d["spread"], d["snr"], d["log_nhi"], d["delta_z"],
                          d["z"])
    assert fit.nhi_spread_scale == pytest.approx(2.0, rel=0.08)
    assert fit.nhi_noise == pytest.approx(0.4, rel=0.08)
    assert fit.nhi_slope == pytest.approx(-0.3, abs=0.04)
    assert fit.z_noise == pytest.approx(0.004, rel=0.08)
    fresh = _draw(20_000, 2)
    pulls = fresh["delta_n"] / fit.log_nhi_sigma(fresh["spread"], fresh["snr"], fresh["log_nhi"])
    z_pulls = fresh["delta_z"] / fit.z_sigma(fresh["z"], fresh["snr"])
    assert pull_bin("all", pulls).sigma == pytest.approx(1.0, abs=0.03)
    assert pull_bin("all", z_pulls).sigma == pytest.approx(1.0, abs=0.03)


def test_p_dla_knots_are_reliable_on_a_fresh_draw() -> None:
    def draw(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        t = rng.normal(0.0, 2.5, n)
        truth = rng.random(n) < ndtr(0.8 * t - 0.3)
        return t, truth

    knots = fit_p_dla(*draw(30_000, 3))
    t, truth = draw(30_000, 4)
    model = ErrorModel(*TRUE.to_tuple()[:6], p_knots=knots)
    p = model.p_dla(20.3 + 0.1 * t, np.full(t.size, 0.1))
    for b in reliability(p, truth):
        if b.n >= 500:
            assert abs(b.fraction_dla - b.mean_p) < 0.03, b
    assert np.all(np.diff([k[1] for k in knots]) >= 0)


def test_an_error_model_round_trips_and_refuses_a_broken_one() -> None:
    model = ErrorModel(*TRUE.to_tuple(), p_knots=((-1.0, 0.1), (1.0, 0.9)))
    assert ErrorModel.from_sequence(model.to_tuple()) == model
    with pytest.raises(ValueError, match="knot pairs"):
        ErrorModel.from_sequence(model.to_tuple()[:-1])


def test_without_a_model_p_dla_is_the_gaussian_tail() -> None:
    assert p_dla(np.array([20.3]), np.array([0.1]))[0] == pytest.approx(0.5)
    assert p_dla(np.array([20.5]), np.array([0.1]))[0] == pytest.approx(ndtr(2.0))
    assert threshold_distance(np.array([20.1]), np.array([0.0]))[0] == pytest.approx(-200.0)
