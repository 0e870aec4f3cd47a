"""Scoring: matching within |Δz| < 0.015, completeness, false DLAs and binned fractions."""

from __future__ import annotations

import numpy as np
import pytest

from galcat.models.dla.evaluation import binned_fraction, match_nearest, score_dla_catalog


def test_match_is_nearest_within_tolerance_and_same_sightline_only() -> None:
    ref_s = np.array([0, 0, 1, 2])
    ref_z = np.array([2.500, 2.510, 2.505, 3.0])
    got = match_nearest([0, 1, 1, 2, 3], [2.508, 2.5, 2.521, 3.0149, 3.0], ref_s, ref_z)
    assert list(got) == [1, 2, -1, 3, -1]
    assert list(match_nearest([0], [2.5], [], [])) == [-1]


def test_score_counts_recoveries_types_false_dlas_and_ignores_lyb() -> None:
    true = {"s": [0, 0, 1, 2], "z": [2.5, 2.8, 3.1, 2.2], "n": [20.5, 21.0, 20.4, 19.8]}
    pred = {
        "s": [0, 0, 1, 1, 2, 3],
        "z": [2.502, 2.79, 3.1, 2.6, 2.2, 3.3],
        "n": [20.6, 20.1, 20.5, 20.9, 20.4, 20.5],
        "t": ["DLA", "SUBDLA", "LYB", "DLA", "DLA", "DLA"],
    }
    score = score_dla_catalog(
        true["s"], true["z"], true["n"], pred["s"], pred["z"], pred["n"], pred["t"], n_sightlines=4
    )
    assert score.n_true_dla == 3
    assert score.n_recovered_as_hi == 2 and score.n_recovered_as_dla == 1
    # predicted DLAs: (1, 2.6) no truth; (2, 2.2) only a sub-DLA there; (3, 3.3) no truth
    assert score.n_predicted_dla == 4 and score.n_false_dla == 3
    assert score.false_dla_per_100_sightlines == pytest.approx(75.0)
    assert score.purity == pytest.approx(0.25)
    assert score.sigma_dz == 0.0 and score.mean_dz == pytest.approx(0.002)
    assert score.mean_dlog_nhi == pytest.approx(0.1)
    assert list(score.match_index) == [0, 1, -1]


@pytest.mark.parametrize("types", [[], ["LYB"]])
def test_score_of_a_catalogue_with_nothing_found(types: list[str]) -> None:
    z = [2.5] * len(types)
    score = score_dla_catalog([0, 1], [2.5, 3.0], [20.5, 21.0], [0] * len(types), z,
                              [20.5] * len(types), types, n_sightlines=2)
    assert score.n_recovered_as_hi == 0 and score.completeness_dla == 0.0
    assert score.n_false_dla == 0 and list(score.match_index) == [-1, -1]


def test_binned_fraction_and_its_binomial_error() -> None:
    b = binned_fraction(
        [20.4, 20.5, 21.0, 21.1, 21.2],
        [True, False, True, True, True],
        np.array([20.3, 20.8, 21.3]),
    )
    assert list(b.n) == [2, 3] and list(b.k) == [1, 3]
    assert b.fraction == pytest.approx([0.5, 1.0])
    assert b.error == pytest.approx([np.sqrt(0.25 / 2), 0.0])


def test_binned_delta_counts_means_and_scatters_per_true_bin() -> None:
    from galcat.models.dla.evaluation import binned_delta

    true = np.array([20.35, 20.45, 20.6, 21.5, 23.0])
    est = np.array([20.25, 20.65, 20.6, 21.4, 23.0])
    count, mean, sigma = binned_delta(true, est, np.array([20.3, 20.5, 21.0, 22.0]))
    assert list(count) == [2, 1, 1]
    assert mean == pytest.approx([0.05, 0.0, -0.1])
    assert sigma == pytest.approx([0.15, 0.0, 0.0])
    _, empty_mean, _ = binned_delta(true[:1], est[:1], np.array([20.3, 20.5, 21.0]))
    assert np.isnan(empty_mean[1])
