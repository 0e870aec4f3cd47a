"""The shipped DLA model, as committed, still finds mock DLAs (a guard against stale
weights or drifting preprocessing; the full evaluation is ``galcat evaluate dla``)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from galcat.catalog.settings import load_settings
from galcat.models.dla.mock import MockConfig
from galcat.models.dla.recipe import evaluate_on_mocks
from galcat.models.shipped import shipped_model
from galcat.workers.dla.scan import open_dla


def test_shipped_model_recovers_held_out_mock_dlas() -> None:
    model, network, opened = open_dla(load_settings())
    run = evaluate_on_mocks(model, network, 400, seed=4242, snr_min=5.0,
                            mock_config=MockConfig(z_qso_max=4.0))
    score = run.score
    assert opened.label == "shipped dla" and score.n_true_dla > 50
    assert score.completeness_hi >= 0.95 and score.completeness_dla >= 0.88
    assert score.false_dla_per_100_sightlines <= 4.0
    assert score.sigma_dz <= 0.004 and score.sigma_dlog_nhi <= 0.2


def test_shipped_model_errors_and_p_dla_are_calibrated_on_held_out_mocks() -> None:
    """README, "Uncertainties and p_dla": on 1500 held-out mock sightlines (z_qso 2.2–5,
    S/N ≥ 5, ~490 matched H I absorbers) the pull spreads are the README's 1.02 (log N_HI)
    and 1.06 (z), and unit, within three times their sampling error (1/√(2n) ≈ 0.032); in
    every p_dla bin of ≥ 20 absorbers the share of true DLAs is within three binomial
    errors of the mean p_dla."""
    from galcat.models.dla.uncertainty import uncertainty_report

    model, network, _ = open_dla(load_settings())
    assert len(network.error_model) > 6
    run = evaluate_on_mocks(model, network, 1500, seed=4243, snr_min=5.0)
    report = uncertainty_report(run.truth, run.absorbers, run.prepared.snr)
    n = report["n_matched"]
    tolerance = 3.0 / (2.0 * n) ** 0.5
    assert n > 400
    for key, readme in (("log_nhi_pull", 1.02), ("z_pull", 1.06)):
        sigma = report[key]["sigma"]
        assert abs(sigma - readme) <= tolerance and abs(sigma - 1.0) <= tolerance, report[key]
    for b in report["p_dla_reliability"]:
        if b["n"] >= 20:
            assert abs(b["fraction_dla"] - b["mean_p"]) <= 3 * b["error"], b
    assert abs(report["p_dla_max_miscalibration"] - 0.058) <= 0.08
    assert (run.absorbers["p_dla"] >= 0).all() and (run.absorbers["p_dla"] <= 1).all()
    assert (run.absorbers["z_dla_err"] > 0).all()


def test_the_readme_quotes_the_shipped_calibration_record() -> None:
    """README, "Uncertainties and p_dla", first column: the held-out report that the
    README's calibration command recorded in ``models/shipped/dla/model.json``."""
    report = shipped_model("dla").record["metrics"]["held_out_uncertainties"]
    assert report["n_matched"] == 687
    assert round(report["log_nhi_pull"]["sigma"], 2) == 0.98
    assert round(report["z_pull"]["sigma"], 2) == 0.93
    by_n = [b["sigma"] for b in report["log_nhi_pull_by_true_log_nhi"]]
    by_snr = [b["sigma"] for b in report["log_nhi_pull_by_snr_tercile"]]
    assert (round(min(by_n), 2), round(max(by_n), 2)) == (0.80, 1.11)
    assert (round(min(by_snr), 2), round(max(by_snr), 2)) == (0.92, 1.02)
    assert round(report["p_dla_max_miscalibration"], 3) == 0.078
