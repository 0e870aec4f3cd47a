"""The neighbour redshift network on the catalogue: trained on a seeded mock light-cone
(``galcat train environment``), scored on an independent volume, and run by sky tile
(``galcat infer environment``) into ``redshift_estimate``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

import numpy as np

from galcat.catalog.schema import ModelVersion
from galcat.workers.environment.galaxies import GalaxyArrays, Tile, load_galaxies, tiles_of
from galcat.workers.environment.tiles import TileEstimates, fan_out_tiles
from galcat.workers.model_io import configure_backend, load_model, save_model
from galcat.workers.queue.lifecycle import JobContext
from galcat.workers.queue.specs import InferEnvironment, TrainEnvironment
from galcat.workers.queue.training import TrainedModel, finish_training

REDSHIFT_TASK = "redshift"
HELD_OUT_SEED_OFFSET = 100_003


def _features(galaxies: Any, hyper: dict[str, Any]) -> Any:
    from galcat.models.environment.neighbours import neighbour_features

    return neighbour_features(galaxies.ra_deg, galaxies.dec_deg, galaxies.z_phot,
                              galaxies.z_phot_err, galaxies.z_spec,
                              k_reference=hyper["k_reference"],
                              m_photometric=hyper["m_photometric"],
                              max_arcmin=hyper["max_arcmin"])


def redshift_scores(posterior: Any, z_true: np.ndarray, z_phot: np.ndarray,
                    uncertain: np.ndarray) -> dict[str, float]:
    """σ_NMAD of (z − z_true)/(1 + z_true) for the posterior median and the photo-z, and the
    fraction of truths inside the posterior's ±1σ, over uncertain galaxies."""
    median, sigma = posterior.median()[uncertain], posterior.sigma()[uncertain]
    truth, photo = z_true[uncertain], z_phot[uncertain]

    def nmad(z: np.ndarray) -> float:
        d = (z - truth) / (1.0 + truth)
        return float(1.4826 * np.median(np.abs(d - np.median(d))))

    return {"sigma_nmad": nmad(median), "sigma_nmad_photo_z": nmad(photo),
            "coverage_1sigma": float(np.mean(np.abs(median - truth) < sigma)),
            "galaxies": int(uncertain.sum())}


def train_environment(ctx: JobContext, spec: TrainEnvironment) -> None:
    """Train on all galaxies of one mock volume (their own spec-z hidden), score on
    another, register."""
    from galcat.models.environment.lightcone import LightconeSpec, make_lightcone
    from galcat.models.environment.network import (
        fit_redshift_network,
        predict_redshift_posterior,
    )

    configure_backend()
    hyper: dict[str, Any] = {"k_reference": 16, "m_photometric": 16,
                             "max_arcmin": spec.max_arcmin, "width": spec.width,
                             "epochs": spec.epochs, "batch_size": spec.batch_size,
                             "seed": spec.seed}
    cones = []
    for i, seed in enumerate((spec.seed, spec.seed + HELD_OUT_SEED_OFFSET)):
        ctx.progress(i, 4, f"mock light-cone (seed {seed})", force=True)
        cones.append(make_lightcone(LightconeSpec(
            n_galaxies=spec.n, field_deg=spec.field_deg, z_min=spec.z_min, z_max=spec.z_max,
            sigma_z=spec.sigma_z, spec_fraction=spec.spec_fraction, seed=seed)))
    sets = [(_features(cone, hyper), cone.z_true) for cone in cones]
    hyper["lightcone"] = asdict(cones[0].spec)
    fingerprint = hashlib.sha256(json.dumps(hyper, sort_keys=True).encode()).hexdigest()
    ctx.progress(2, 4, f"training on {len(cones[0].z_true)} galaxies", force=True)
    model, fit = fit_redshift_network(sets[0][0], sets[0][1], epochs=spec.epochs,
                                      batch_size=spec.batch_size, seed=spec.seed,
                                      validation=sets[1], width=spec.width)
    ctx.progress(3, 4, "scoring on the held-out volume", force=True)
    held = cones[1]
    scores = redshift_scores(predict_redshift_posterior(model, sets[1][0]), held.z_true,
                             held.z_phot, ~np.isfinite(held.z_spec))
    metrics = {"held_out": scores, "fit": fit, "held_out_seed": spec.seed + HELD_OUT_SEED_OFFSET}
    finish_training(ctx, spec, TrainedModel(
        spec.name, REDSHIFT_TASK, save_model(model), hyper, fingerprint, metrics, scores,
        f"trained {spec.name}: held-out σ_NMAD {scores['sigma_nmad']:.4f} against photo-z "
        f"{scores['sigma_nmad_photo_z']:.4f}, ±1σ coverage {scores['coverage_1sigma']:.2f}"))


def infer_environment(ctx: JobContext, spec: InferEnvironment) -> None:
    """Fan a registered redshift network out over the selected galaxies' sky tiles."""
    with ctx.db.new_session() as session:
        version = session.get(ModelVersion, ctx.model_version_id)
        if version is None or version.task != REDSHIFT_TASK:
            what = "none" if version is None else f"{version.name}@{version.version}, a " \
                f"{version.task} model"
            raise ValueError(f"--model must name a registered redshift network, not {what}")
        name = f"{version.name}@{version.version}"
    galaxies = load_galaxies(ctx.db, spec.where)
    if len(galaxies) == 0:
        raise ValueError("no galaxies matched")
    tiles = tiles_of(galaxies, spec.tile_arcmin)
    with ctx.db.session() as session:
        ctx.hold(session)
        fan_out_tiles(ctx, session, int(ctx.model_version_id or 0), tiles, spec.where, None,
                      spec.seed, f"{name}: {len(galaxies)} galaxies in {len(tiles)} sky tiles")


def learned_tile(settings: Any, version: ModelVersion, galaxies: GalaxyArrays, tile: Tile,
                 seed: int) -> TileEstimates:
    """The network's posterior for the tile's galaxies: median, σ and one draw seeded by
    (seed, tile); references keep their spectroscopic redshift."""
    import galcat.models.environment.network as network

    model = load_model(settings, version)
    features = _features(galaxies, version.hyperparameters)
    posterior = network.predict_redshift_posterior(model, features)
    own = tile.contains(galaxies)
    draw = posterior.sample(np.random.default_rng([seed, tile.row, tile.column]))
    reference = np.isfinite(galaxies.z_spec)
    z = np.where(reference, galaxies.z_spec, posterior.median())
    z_err = np.where(reference, 0.0, posterior.sigma())
    z_draw = np.where(reference, galaxies.z_spec, draw)
    n_refs = features.reference_mask.sum(axis=1).astype(np.int64)
    return TileEstimates(galaxies.ids[own], z[own], z_err[own], z_draw[own], n_refs[own],
                         reference[own])
