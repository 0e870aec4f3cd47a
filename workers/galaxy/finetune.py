"""Fine-tuning the morphology network on a label set of the catalogue.

The job reads the catalogue's images that carry labels of the set (on the image, or on
its galaxy), maps the label columns to the network's outputs
(:data:`galcat.models.galaxy.label_targets.LABEL_TARGETS`), takes the base model's own
answers for outputs the set does not give, and fits a new head (or, with
``whole_network``, everything) with :func:`galcat.models.galaxy.morphology.finetune`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from galcat.catalog.registry import training_fingerprint
from galcat.catalog.schema import Image, Label
from galcat.models.galaxy.label_targets import label_targets
from galcat.models.galaxy.stamps import Stamp, morphology_rows, network_arrays
from galcat.vocabulary import MORPHOLOGY_COLUMNS
from galcat.workers.galaxy.inference import load_stamps
from galcat.workers.model_io import configure_backend, load_model, save_model
from galcat.workers.queue.lifecycle import JobContext
from galcat.workers.queue.specs import FinetuneMorphology
from galcat.workers.queue.training import TrainedModel, base_model, finish_training

STEPS = 100


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


def finetune_morphology(ctx: JobContext, spec: FinetuneMorphology) -> None:
    """Fine-tune a registered morphology model on the images of a label set."""
    from galcat.models.galaxy import morphology

    configure_backend()
    label_set, seed = spec.labels, spec.seed
    epochs, whole = spec.epochs, spec.whole_network
    base = base_model(ctx, "morphology")
    with ctx.db.new_session() as session:
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
                                run_eagerly=spec.run_eagerly)
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
    name = (spec.name or f"morphology-{label_set}")[:64]
    mae = metrics.get("tuned_mean_abs_error", float("nan"))
    finish_training(ctx, spec, TrainedModel(
        name, "morphology", save_model(tuned), hyper, training_fingerprint(ids, values),
        metrics, metrics,
        f"fine-tuned {name} from {base.name}@{base.version} on {len(ids)} images of "
        f"{label_set!r}: mean |error| {mae:.3f} on the labelled outputs"))


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
