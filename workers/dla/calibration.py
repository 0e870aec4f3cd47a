"""The DLA calibration job: fit a model's log N_HI calibration and its error model
(:mod:`galcat.models.dla.uncertainty`) on fresh mocks and register them as a new version
with the same weights.

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
    calibration_slope,
    fit_log_nhi_calibration,
    matched_absorbers,
)
from galcat.models.dla.network import NetworkConfig
from galcat.models.dla.recipe import evaluate_on_mocks
from galcat.models.dla.uncertainty import (
    PARAMETERS,
    dla_candidates,
    fit_error_model,
    fit_p_dla,
    pull_bin,
    uncertainty_report,
)
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
    raw_network = NetworkConfig.from_dict(hyper["network"]).uncalibrated()
    seed, n = spec.seed, spec.sightlines
    ctx.progress(0, 3, f"scoring {n} calibration mocks", force=True)
    fit_set = evaluate_on_mocks(model, raw_network, n, seed, snr_min=spec.snr_min)
    pairs = matched_absorbers(fit_set.truth, fit_set.absorbers, fit_set.prepared.snr)
    true, raw = pairs["true_log_nhi"], pairs["log_nhi"]
    knots = fit_log_nhi_calibration(true, raw)
    calibrated = calibrate_log_nhi(raw, knots)
    errors = fit_error_model(calibrated - true,
                             pairs["log_nhi_err"] * calibration_slope(raw, knots), pairs["snr"],
                             calibrated, pairs["z_dla"] - pairs["true_z"], pairs["z_dla"])
    errors = replace(errors, p_knots=fit_p_dla(*dla_candidates(fit_set, knots, errors)))
    network = replace(raw_network, log_nhi_calibration=knots, error_model=errors.to_tuple())
    ctx.progress(2, 3, "scoring held-out mocks", force=True)
    held_out = evaluate_on_mocks(model, network, spec.n_eval, seed=seed + 10_000, snr_min=5.0)
    calibration = {
        "seed": seed, "n_sightlines": n, "snr_min": spec.snr_min, "n_matched": int(true.size),
        "sha256": hashlib.sha256(pairs.tobytes()).hexdigest(),
        "knots": [list(k) for k in knots],
        "bias_before": bias_by_log_nhi(true, raw),
        "bias_after_in_sample": bias_by_log_nhi(true, calibrated),
        "error_model": {**{name: getattr(errors, name) for name in PARAMETERS},
                        "p_dla_knots": [list(k) for k in errors.p_knots]},
        "log_nhi_pull_before": pull_bin("all", (raw - true) / pairs["log_nhi_err"]).__dict__,
    }
    summary = held_out.score.summary()
    metrics = {"calibration": calibration, "continued_from": parent,
               "held_out_snr_ge_5": summary,
               "held_out_uncertainties": uncertainty_report(
                   held_out.truth, held_out.absorbers, held_out.prepared.snr)}
    finish_training(ctx, spec, TrainedModel(
        spec.name, "dla", weights,
        {**hyper, "network": network.to_dict(), "continued_from": parent["model"],
         "calibrated_from": parent["model"]},
        base.training_fingerprint, metrics, summary,
        f"calibrated {parent['model']} on {true.size} matched absorbers with {len(knots)} knots",
        result={"knots": len(knots)}))
