"""Training jobs of the galaxy networks; importing this registers ``TRAINERS["sersic"]``
and ``TRAINERS["morphology"]`` in :mod:`workers.training`.

From scratch, both train on seeded mocks (:func:`workers.galaxy_evaluate.mock_galaxies`,
stream 0), record the seed and the sha256 of the training arrays as the data
fingerprint, and score the result on held-out mocks (stream 1, true mag ≤ 23)
before registering it. The emulator sees single-Sérsic mocks, the morphology
network every kind.

With ``parameters["labels"]`` the morphology job fine-tunes instead: it reads the
catalog's images that carry labels of that set (on the image, or on its galaxy),
maps the label columns to the network's outputs (:data:`LABEL_TARGETS`), takes the
base model's own answers for outputs the set does not give, and fits a new head
(or, with ``whole_network``, everything) with :func:`models.galaxy.morphology.finetune`.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from galcat.catalog.registry import register, resolve, training_fingerprint
from galcat.catalog.schema import Image, Label, ModelVersion
from galcat.workers.galaxy_evaluate import (
    HELD_OUT_STREAM,
    MAG_MAX,
    TRAIN_STREAM,
    data_fingerprint,
    emulator_on_mocks,
    json_safe,
    mock_galaxies,
    morphology_on_mocks,
    morphology_scores,
    sersic_scores,
)
from galcat.workers.galaxy_inference import (
    MORPHOLOGY_COLUMNS,
    Stamp,
    load_stamps,
    morphology_rows,
    network_arrays,
)
from galcat.workers.lifecycle import JobContext
from galcat.workers.training import TRAINERS

STEPS = 100
LABEL_TARGETS: dict[str, tuple[tuple[str, ...], ...]] = {
    "f_spheroid": (("f_spheroid",), ("Class1.1",), ("smooth-or-featured_smooth_fraction",)),
    "f_disk": (("f_disk",), ("Class1.2",), ("smooth-or-featured_featured-or-disk_fraction",)),
    "f_irr": (("f_irr",), ("Class8.3", "Class8.4")),
    "f_ps": (("f_ps",), ("Class1.3",), ("smooth-or-featured_artifact_fraction",)),
    "f_unc": (("f_unc",),),
    "p_bulge": (("p_bulge",),),
    "p_disk": (("p_disk",),),
    "p_bulge_disk": (("p_bulge_disk",),),
}
"""Output column ← label keys summed (first alternative whose keys are all present).
GZ2 and GZ DECaLS answers stand in for CANDELS flags: smooth ↔ spheroid,
features/disk ↔ disk, star/artifact ↔ point source, disturbed + irregular ↔ irregular."""


def _mock_progress(ctx: JobContext, what: str, share: int, offset: int = 0) -> Any:
    def report(done: int, total: int) -> None:
        ctx.progress(offset + int(share * done / total), STEPS, f"{what}: {done}/{total}",
                     force=True)

    return report


def _config(cls: Any, overrides: dict[str, Any]) -> Any:
    values = dict(overrides)
    if "filters" in values:
        values["filters"] = tuple(int(f) for f in values["filters"])
    return cls(**values)


def _finish(ctx: JobContext, name: str, task: str, weights: Any, hyper: dict[str, Any],
            fingerprint: str, metrics: dict[str, Any], message: str) -> None:
    command = str(ctx.parameters.get("command") or f"galcat train {task}")
    metrics, hyper = json_safe(metrics), json_safe(hyper)
    result: dict[str, Any] = {"metrics": metrics.get("held_out", metrics)}

    def write(session: Session) -> None:
        row = register(session, ctx.settings.artifacts_dir, name, task, weights, hyper,
                       fingerprint, metrics, command=command)
        result["model"] = f"{row.name}@{row.version}"
        result["weights_sha256"] = row.weights_sha256

    ctx.finish(result, write, message=message)


def train_sersic(ctx: JobContext) -> None:
    """Train the Sérsic emulator on seeded single-Sérsic mocks and register it."""
    from galcat.models.galaxy import emulator
    from galcat.workers.model_io import configure_backend, save_model

    configure_backend()
    p = ctx.parameters
    seed, n, n_eval = int(p.get("seed", 1)), int(p.get("n", 20000)), int(p.get("n_eval", 2000))
    config = _config(emulator.EmulatorConfig, p.get("config", {}))
    sersic_only = {"sersic": 1.0}
    images, truth = mock_galaxies(n, seed, TRAIN_STREAM, kind_fractions=sersic_only,
                                  on_chunk=_mock_progress(ctx, "training mocks", 20))
    fingerprint = data_fingerprint(images, truth)
    ctx.progress(20, STEPS, f"training on {n} mocks for {config.epochs} epochs", force=True)
    start = time.perf_counter()
    model, validation = emulator.train(images, truth, seed, config=config)
    train_s = time.perf_counter() - start
    ctx.progress(85, STEPS, f"scoring on {n_eval} held-out mocks", force=True)
    held_images, held_truth = mock_galaxies(n_eval, seed, HELD_OUT_STREAM,
                                            kind_fractions=sersic_only)
    held = sersic_scores(emulator_on_mocks(model, held_images, held_truth), held_truth)
    metrics = {"held_out": held, "validation": validation, "train_seconds": train_s}
    hyper = {"seed": seed, "n_train_mocks": n, "n_eval_mocks": n_eval,
             "kind_fractions": sersic_only, "mock_streams": {"train": TRAIN_STREAM,
                                                             "held_out": HELD_OUT_STREAM},
             "held_out_mag_max": MAG_MAX, "config": asdict(config)}
    name = str(p.get("name") or "sersic")
    _finish(ctx, name, "sersic", save_model(model), hyper, fingerprint, metrics,
            f"trained {name}: median |dmag| {held['mag_median_abs']:.3f}, "
            f"|dr/r| {held['r_eff_rel_median_abs']:.3f}, |dn/n| "
            f"{held['sersic_n_rel_median_abs']:.3f}, |dq| {held['axis_ratio_median_abs']:.3f}")


def train_morphology(ctx: JobContext) -> None:
    """Train the morphology network on seeded mocks, or fine-tune it on a label set."""
    if ctx.parameters.get("labels"):
        finetune_morphology(ctx)
        return
    from galcat.models.galaxy import morphology
    from galcat.workers.model_io import configure_backend, save_model

    configure_backend()
    p = ctx.parameters
    seed, n, n_eval = int(p.get("seed", 1)), int(p.get("n", 20000)), int(p.get("n_eval", 2000))
    config = _config(morphology.MorphologyConfig, p.get("config", {}))
    images, truth = mock_galaxies(n, seed, TRAIN_STREAM,
                                  on_chunk=_mock_progress(ctx, "training mocks", 20))
    fingerprint = data_fingerprint(images, truth)
    ctx.progress(20, STEPS, f"training on {n} mocks for {config.epochs} epochs", force=True)
    start = time.perf_counter()
    model, train_metrics = morphology.train(images, truth, seed, config=config)
    train_s = time.perf_counter() - start
    ctx.progress(85, STEPS, f"scoring on {n_eval} held-out mocks", force=True)
    held_images, held_truth = mock_galaxies(n_eval, seed, HELD_OUT_STREAM)
    held = morphology_scores(morphology_on_mocks(model, held_images, held_truth), held_truth)
    metrics = {"held_out": held, "training": train_metrics, "train_seconds": train_s}
    hyper = {"seed": seed, "n_train_mocks": n, "n_eval_mocks": n_eval,
             "mock_streams": {"train": TRAIN_STREAM, "held_out": HELD_OUT_STREAM},
             "held_out_mag_max": MAG_MAX, "config": asdict(config)}
    name = str(p.get("name") or "morphology")
    _finish(ctx, name, "morphology", save_model(model), hyper, fingerprint, metrics,
            f"trained {name}: max |bias| {held['fraction_max_abs_bias']:.3f}, max scatter "
            f"{held['fraction_max_scatter']:.3f}, bulge/disk accuracy "
            f"{held['bd_accuracy']:.3f}")


def labelled_images(session: Session, label_set: str
                    ) -> list[tuple[int, Stamp, dict[str, Any]]]:
    """Images with labels of ``label_set`` (their own, else their galaxy's), by image id."""
    on_image = sa.select(Image.id, Label.values).join(
        Label, sa.and_(Label.object_kind == "image", Label.object_id == Image.id))
    on_galaxy = sa.select(Image.id, Label.values).join(
        Label, sa.and_(Label.object_kind == "galaxy", Label.object_id == Image.galaxy_id))
    values: dict[int, dict[str, Any]] = {}
    for query in (on_galaxy, on_image):
        for image_id, v in session.execute(query.where(Label.label_set == label_set)):
            values[int(image_id)] = dict(v)
    return [(image_id, stamp, values[image_id])
            for image_id, stamp in load_stamps(session, sorted(values))]


def label_targets(values: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Targets (N, 8) in :data:`MORPHOLOGY_COLUMNS` order (NaN: not given) and which are given."""
    targets = np.full((len(values), len(MORPHOLOGY_COLUMNS)), np.nan)
    for i, v in enumerate(values):
        for j, column in enumerate(MORPHOLOGY_COLUMNS):
            for keys in LABEL_TARGETS[column]:
                if all(isinstance(v.get(k), int | float) for k in keys):
                    targets[i, j] = float(np.clip(sum(float(v[k]) for k in keys), 0.0, 1.0))
                    break
    return targets, np.isfinite(targets)


def finetune_morphology(ctx: JobContext) -> None:
    """Fine-tune a registered morphology model on the images of a label set."""
    from galcat.models.galaxy import morphology
    from galcat.workers.model_io import configure_backend, load_model, save_model

    configure_backend()
    p = ctx.parameters
    label_set, seed = str(p["labels"]), int(p.get("seed", 1))
    epochs, whole = int(p.get("epochs", 10)), bool(p.get("whole_network", False))
    with ctx.db.new_session() as session:
        base = session.get(ModelVersion, ctx.model_version_id) if ctx.model_version_id \
            else resolve(session, "morphology")
        if base is None:
            raise ValueError(f"model version {ctx.model_version_id} does not exist")
        if base.task != "morphology":
            raise ValueError(f"{base.name}@{base.version} is a {base.task} model; fine-tuning "
                             "needs a morphology model (--from morphology@N)")
        data = labelled_images(session, label_set)
    if not data:
        raise ValueError(f"no image in the catalog has labels of set {label_set!r} "
                         "(ingest images and labels first)")
    ids = [d[0] for d in data]
    stamps = [d[1] for d in data]
    targets, given = label_targets([d[2] for d in data])
    if not given.any():
        keys = sorted({k for d in data for k in d[2]})
        raise ValueError(f"label set {label_set!r} gives none of the morphology outputs "
                         f"({', '.join(MORPHOLOGY_COLUMNS)}) nor anything mapped to them; "
                         f"its columns are {', '.join(keys)}")
    model = load_model(ctx.settings, base)
    ctx.progress(5, STEPS, f"base answers for {len(ids)} labelled images", force=True)
    base_rows = morphology_rows(model, stamps)
    base_out = np.array([[np.nan] * len(MORPHOLOGY_COLUMNS) if r is None
                         else [r[c] for c in MORPHOLOGY_COLUMNS] for r in base_rows])
    filled = np.where(given, targets, np.nan_to_num(base_out, nan=0.0))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(ids))
    n_val = len(ids) // 5 if len(ids) >= 10 else 0
    val, train = np.sort(order[:n_val]), np.sort(order[n_val:])
    a = network_arrays([stamps[i] for i in train])
    ctx.progress(10, STEPS, f"fine-tuning on {len(train)} images for {epochs} epochs",
                 force=True)
    tuned = morphology.finetune(model, a["images"], filled[train], train_head_only=not whole,
                                head="fractions", seed=seed, epochs=epochs,
                                zero_point=a["zero_point"], psf_fwhm_arcsec=a["psf_fwhm_arcsec"],
                                sky_sigma=a["sky_sigma"],
                                run_eagerly=bool(p.get("run_eagerly", False)))
    scored = val if n_val else train
    tuned_rows = morphology_rows(tuned, [stamps[i] for i in scored])
    tuned_out = np.array([[r[c] for c in MORPHOLOGY_COLUMNS] if r else
                          [np.nan] * len(MORPHOLOGY_COLUMNS) for r in tuned_rows])
    metrics = {"scored_on": "held-out labelled images" if n_val else "training images",
               "n_images": len(ids), "n_scored": len(scored),
               **_label_errors(targets[scored], given[scored], base_out[scored], tuned_out)}
    values = [data[i][2] for i in range(len(ids))]
    hyper = {"finetuned_from": f"{base.name}@{base.version}",
             "base_weights_sha256": base.weights_sha256, "label_set": label_set,
             "head_columns": list(MORPHOLOGY_COLUMNS),
             "label_columns": [c for j, c in enumerate(MORPHOLOGY_COLUMNS) if given[:, j].any()],
             "train_head_only": not whole, "epochs": epochs, "seed": seed,
             "validation_images": [ids[i] for i in val]}
    name = str(p.get("name") or f"morphology-{label_set}")[:64]
    mae = metrics.get("tuned_mean_abs_error", float("nan"))
    _finish(ctx, name, "morphology", save_model(tuned), hyper,
            training_fingerprint(ids, values), metrics,
            f"fine-tuned {name} from {base.name}@{base.version} on {len(ids)} images of "
            f"{label_set!r}: mean |error| {mae:.3f} on the labelled outputs")


def _label_errors(targets: np.ndarray, given: np.ndarray, base: np.ndarray,
                  tuned: np.ndarray) -> dict[str, Any]:
    if not given.any():
        return {}
    out: dict[str, Any] = {
        "base_mean_abs_error": float(np.nanmean(np.abs(base - targets)[given])),
        "tuned_mean_abs_error": float(np.nanmean(np.abs(tuned - targets)[given])),
    }
    for j, column in enumerate(MORPHOLOGY_COLUMNS):
        if given[:, j].any():
            out[f"{column}_tuned_mean_abs_error"] = float(
                np.nanmean(np.abs(tuned[:, j] - targets[:, j])[given[:, j]]))
    return out


TRAINERS["sersic"] = train_sersic
TRAINERS["morphology"] = train_morphology
