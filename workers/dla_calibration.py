"""The DLA calibration job: fit a model's log N_HI calibration on fresh mocks and register
it as a new version with the same weights. Importing this registers
``TRAINERS["dla_calibration"]`` in :mod:`workers.training`.

The fit uses every H I absorber (true log N_HI ≥ 19.5) matched within |Δz| < 0.015 on
sightlines with S/N ≥ ``snr_min``; the new version's training fingerprint stays that of
the weights, and the calibration set's own sha256 is kept in its metrics.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from galcat.catalog.registry import register, verified_weights
from galcat.catalog.schema import ModelVersion
from galcat.workers.lifecycle import JobContext
from galcat.workers.training import TRAINERS, lineage

LOG_NHI_HI_MIN = 19.5
BIAS_EDGES = (20.3, 20.5, 20.7, 21.0, 21.5, 22.6)


def matched_log_nhi(truth: np.ndarray, absorbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(true, estimated) log N_HI of every true H I absorber matched by a non-LYB absorber."""
    from galcat.models.dla.evaluation import match_nearest

    truth = truth[truth["log_nhi"] >= LOG_NHI_HI_MIN]
    found = absorbers[absorbers["type"] != "LYB"]
    match = match_nearest(truth["sightline"], truth["z_abs"], found["sightline"], found["z_dla"])
    hit = match >= 0
    return (np.asarray(truth["log_nhi"][hit], dtype=np.float64),
            np.asarray(found["log_nhi"][match[hit]], dtype=np.float64))


def bias_by_log_nhi(true: np.ndarray, estimate: np.ndarray) -> list[dict[str, float]]:
    """Mean and scatter of estimate − truth (dex) in bins of true log N_HI ≥ 20.3."""
    from galcat.models.dla.evaluation import binned_delta

    edges = np.asarray(BIAS_EDGES)
    count, mean, sigma = binned_delta(true, estimate, edges)
    return [{"log_nhi_lo": float(lo), "log_nhi_hi": float(hi), "n": int(n), "mean": float(m),
             "std": float(s)}
            for lo, hi, n, m, s in zip(edges[:-1], edges[1:], count, mean, sigma, strict=True)]


def _calibrate_dla(ctx: JobContext) -> None:
    from galcat.models.dla.calibration import calibrate_log_nhi, fit_log_nhi_calibration
    from galcat.models.dla.network import NetworkConfig
    from galcat.models.dla.recipe import evaluate_on_mocks
    from galcat.workers.model_io import load_model

    if ctx.model_version_id is None:
        raise ValueError("--from must name a registered DLA model (dla@N)")
    with ctx.db.new_session() as session:
        base = session.get(ModelVersion, ctx.model_version_id)
        if base is None or base.task != "dla":
            raise ValueError("--from must name a registered DLA model (dla@N)")
        weights = verified_weights(ctx.settings.artifacts_dir, base, session)
        hyper = dict(base.hyperparameters)
        parent = lineage(base)
        fingerprint = base.training_fingerprint
    model = load_model(ctx.settings, base)
    raw_network = replace(NetworkConfig.from_dict(hyper["network"]), log_nhi_calibration=())
    seed, n = int(ctx.parameters.get("seed", 777)), int(ctx.parameters.get("n_sightlines", 4000))
    snr_min = float(ctx.parameters.get("snr_min", 5.0))
    ctx.progress(0, 3, f"scoring {n} calibration mocks", force=True)
    fit_set = evaluate_on_mocks(model, raw_network, n, seed, snr_min=snr_min)
    true, raw = matched_log_nhi(fit_set.truth, fit_set.absorbers)
    knots = fit_log_nhi_calibration(true, raw)
    network = replace(raw_network, log_nhi_calibration=knots)
    ctx.progress(2, 3, "scoring held-out mocks", force=True)
    held_out = evaluate_on_mocks(model, network, int(ctx.parameters.get("n_eval", 1000)),
                                 seed=seed + 10_000, snr_min=5.0)
    calibration = {
        "seed": seed, "n_sightlines": n, "snr_min": snr_min, "n_matched": int(true.size),
        "sha256": hashlib.sha256(true.tobytes() + raw.tobytes()).hexdigest(),
        "knots": [list(k) for k in knots],
        "bias_before": bias_by_log_nhi(true, raw),
        "bias_after_in_sample": bias_by_log_nhi(true, calibrate_log_nhi(raw, knots)),
    }
    metrics = {"calibration": calibration, "continued_from": parent,
               "held_out_snr_ge_5": held_out.score.summary()}
    name = str(ctx.parameters.get("name", base.name))
    command = str(ctx.parameters.get("command") or "galcat train dla-calibration")
    result: dict[str, Any] = {"metrics": metrics["held_out_snr_ge_5"], "knots": len(knots)}

    def write(session: Session) -> None:
        row = register(session, ctx.settings.artifacts_dir, name, "dla", weights,
                       {**hyper, "network": network.to_dict(), "continued_from": parent["model"],
                        "calibrated_from": parent["model"]},
                       fingerprint, metrics, command=command)
        result["model"] = f"{row.name}@{row.version}"
        result["weights_sha256"] = row.weights_sha256

    ctx.finish(result, write, message=(
        f"calibrated {parent['model']} on {true.size} matched absorbers with {len(knots)} knots"))


TRAINERS["dla_calibration"] = _calibrate_dla
