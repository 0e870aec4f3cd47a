"""The DLA calibration job: fit a model's log N_HI calibration on fresh mocks and register
it as a new version with the same weights.

The fit uses every H I absorber (true log N_HI ≥ 19.5) matched within |Δz| < 0.015 on
sightlines with S/N ≥ ``snr_min``; the new version's training fingerprint stays that of
the weights, and the calibration set's own sha256 is kept in its metrics.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from galcat.catalog.registry import verified_weights
from galcat.models.dla.calibration import (
    bias_by_log_nhi,
    calibrate_log_nhi,
    fit_log_nhi_calibration,
    matched_log_nhi,
)
from galcat.models.dla.network import NetworkConfig
from galcat.models.dla.recipe import evaluate_on_mocks
from galcat.workers.model_io import load_model
from galcat.workers.queue.lifecycle import JobContext
from galcat.workers.queue.specs import CalibrateDla
from galcat.workers.queue.training import TrainedModel, base_model, finish_training, lineage


def calibrate_dla(ctx: JobContext, spec: CalibrateDla) -> None:
    """Fit the log N_HI calibration of the ``--from`` model and register the result."""
    base = base_model(ctx, "dla")
    with ctx.db.new_session() as session:
        weights = verified_weights(ctx.settings.artifacts_dir, base, session)
    hyper, parent = dict(base.hyperparameters), lineage(base)
    model = load_model(ctx.settings, base)
    raw_network = replace(NetworkConfig.from_dict(hyper["network"]), log_nhi_calibration=())
    seed, n = spec.seed, spec.sightlines
    ctx.progress(0, 3, f"scoring {n} calibration mocks", force=True)
    fit_set = evaluate_on_mocks(model, raw_network, n, seed, snr_min=spec.snr_min)
    true, raw = matched_log_nhi(fit_set.truth, fit_set.absorbers)
    knots = fit_log_nhi_calibration(true, raw)
    network = replace(raw_network, log_nhi_calibration=knots)
    ctx.progress(2, 3, "scoring held-out mocks", force=True)
    held_out = evaluate_on_mocks(model, network, spec.n_eval, seed=seed + 10_000, snr_min=5.0)
    calibration = {
        "seed": seed, "n_sightlines": n, "snr_min": spec.snr_min, "n_matched": int(true.size),
        "sha256": hashlib.sha256(true.tobytes() + raw.tobytes()).hexdigest(),
        "knots": [list(k) for k in knots],
        "bias_before": bias_by_log_nhi(true, raw),
        "bias_after_in_sample": bias_by_log_nhi(true, calibrate_log_nhi(raw, knots)),
    }
    summary = held_out.score.summary()
    metrics = {"calibration": calibration, "continued_from": parent,
               "held_out_snr_ge_5": summary}
    finish_training(ctx, spec, TrainedModel(
        spec.name, "dla", weights,
        {**hyper, "network": network.to_dict(), "continued_from": parent["model"],
         "calibrated_from": parent["model"]},
        base.training_fingerprint, metrics, summary,
        f"calibrated {parent['model']} on {true.size} matched absorbers with {len(knots)} knots",
        result={"knots": len(knots)}))
