"""Galaxy inference: the Sérsic emulator and the morphology network over ``image`` rows.

Predictions are upserted into ``sersic_fit`` and ``morphology`` keyed by
(model_version_id, image_id); a stored image becomes a :class:`Stamp`
(:mod:`galcat.models.galaxy.stamps`) the same way a scanned file does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from galcat.catalog.pixels import StoredImage, stored_images
from galcat.catalog.schema import Image, ModelVersion, Morphology, SersicFit
from galcat.models.galaxy.stamps import Stamp, make_stamp, morphology_rows, sersic_rows
from galcat.workers.queue.sharding import InferenceTask, Rows, load_keras, upsert_rows


def stamp_from_stored(image: StoredImage) -> Stamp:
    """A stamp from a stored image."""
    return make_stamp(image.pixels, image.rms, zero_point=image.zero_point_mag,
                      psf_fwhm_arcsec=image.psf_fwhm_arcsec, sky_sigma=image.sky_sigma,
                      pixel_scale_arcsec=image.pixel_scale_arcsec, raster=image.display_image)


def load_stamps(session: Session, ids: Sequence[int]) -> list[tuple[int, Stamp]]:
    """Central stamps of images ``ids`` (those with pixels), by image id."""
    return [(image.image_id, stamp_from_stored(image)) for image in stored_images(session, ids)]


def _predict_with(rows_of: Any) -> Any:
    def predict(model: Any, session: Session, ids: list[int]) -> Rows:
        stamps = load_stamps(session, ids)
        answers = rows_of(model, [s for _, s in stamps])
        return [{"image_id": image_id, **answer}
                for (image_id, _), answer in zip(stamps, answers, strict=True)
                if answer is not None]

    return predict


def _loader(task: str) -> Any:
    def load(settings: Any, version: ModelVersion) -> Any:
        if version.task != task:
            raise ValueError(f"{version.name}@{version.version} is a {version.task} model, "
                             f"not a {task} model")
        return load_keras(settings, version)

    return load


IMAGE = cast(sa.Table, Image.__table__)
SERSIC_TABLE = cast(sa.Table, SersicFit.__table__)
MORPHOLOGY_TABLE = cast(sa.Table, Morphology.__table__)
SERSIC_TASK = InferenceTask(
    IMAGE, _predict_with(sersic_rows), upsert_rows(SERSIC_TABLE, "image_id"),
    _loader("sersic"), done_table=SERSIC_TABLE, done_key="image_id")
MORPHOLOGY_TASK = InferenceTask(
    IMAGE, _predict_with(morphology_rows), upsert_rows(MORPHOLOGY_TABLE, "image_id"),
    _loader("morphology"), done_table=MORPHOLOGY_TABLE, done_key="image_id")
