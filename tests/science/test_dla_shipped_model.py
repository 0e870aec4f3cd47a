"""The shipped DLA model, as committed, still finds mock DLAs (a guard against stale
weights or drifting preprocessing; the full evaluation is ``galcat evaluate dla``)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from galcat.catalog.settings import load_settings
from galcat.models.dla.mock import MockConfig
from galcat.models.dla.recipe import evaluate_on_mocks
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
