"""Synthetic catalogues for tests, benches and demos: galaxies with images and
morphology/Sérsic predictions, quasar sightlines with DLA searches and absorbers.

Values are drawn reproducibly from a seed and returned as numpy arrays, so a test
can compute what a query should return without asking the database. Loading uses
``Database.bulk_upsert`` (COPY on PostgreSQL), fast enough for 10^6 rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray

from galcat.catalog import __version__
from galcat.catalog.db import Database
from galcat.catalog.schema import (
    DlaAbsorber,
    Galaxy,
    Image,
    ModelVersion,
    Morphology,
    SersicFit,
    Sightline,
    SightlineSearch,
)
from galcat.catalog.schema.base import utcnow
from galcat.catalog.sky import healpix_29
from galcat.catalog.surveys import survey_id

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _t(model: Any) -> sa.Table:
    return cast(sa.Table, model.__table__)


def add_model_version(db: Database, name: str, task: str) -> int:
    """Register the next version of ``name`` with synthetic weights; returns its id."""
    with db.session() as session:
        latest = session.execute(sa.select(sa.func.max(ModelVersion.version))
                                 .where(ModelVersion.name == name)).scalar()
        version = int(latest or 0) + 1
        digest = hashlib.sha256(f"synthetic {name}@{version}".encode()).hexdigest()
        row = ModelVersion(name=name, version=version, task=task, weights_sha256=digest,
                           hyperparameters={"synthetic": True},
                           training_fingerprint=hashlib.sha256(digest.encode()).hexdigest(),
                           metrics=None, code_version=__version__)
        session.add(row)
        session.flush()
        return int(row.id)


@dataclass
class Galaxies:
    """Loaded galaxies (in id order) and their images: ``image_ids[i, k]`` is galaxy
    i's k-th image (ascending ids)."""

    ids: IntArray
    ra: FloatArray
    dec: FloatArray
    z_spec: FloatArray
    z_phot: FloatArray
    log_mstar: FloatArray
    image_ids: IntArray


def uniform_sky(rng: np.random.Generator, n: int, ra_range: tuple[float, float] = (0.0, 360.0),
                dec_range: tuple[float, float] = (-90.0, 90.0)) -> tuple[FloatArray, FloatArray]:
    """Positions uniform on the sphere within an RA/Dec box (degrees)."""
    ra = rng.uniform(*ra_range, n)
    lo, hi = np.sin(np.radians(dec_range))
    dec = np.degrees(np.arcsin(rng.uniform(lo, hi, n)))
    return ra, dec


def load_galaxies(db: Database, n: int, seed: int, images_per_galaxy: int = 1,
                  survey: str = "synthetic", ra_range: tuple[float, float] = (0.0, 360.0),
                  dec_range: tuple[float, float] = (-90.0, 90.0)) -> Galaxies:
    """``n`` galaxies (z_spec for a third, z_phot for all, log M* in 9-12) with images."""
    rng = np.random.default_rng(seed)
    ra, dec = uniform_sky(rng, n, ra_range, dec_range)
    z_phot = np.round(rng.uniform(0.1, 3.0, n), 4)
    z_spec = np.where(rng.uniform(size=n) < 1 / 3, np.round(z_phot + rng.normal(0, 0.01, n), 5),
                      np.nan)
    log_mstar = np.round(rng.uniform(9.0, 12.0, n), 3)
    pix = healpix_29(ra, dec)
    with db.session() as session:
        sid = survey_id(session, survey, kind="imaging")
        tag = f"{survey}-{seed}"
        db.bulk_upsert(session, _t(Galaxy),
                       ["survey_id", "external_id", "ra_deg", "dec_deg", "healpix_29", "z_spec",
                        "z_phot", "log_mstar"],
                       ((sid, f"{tag}-{i:08d}", float(ra[i]), float(dec[i]), int(pix[i]),
                         None if np.isnan(z_spec[i]) else float(z_spec[i]), float(z_phot[i]),
                         float(log_mstar[i])) for i in range(n)),
                       key=("survey_id", "external_id"))
        ids = np.asarray(session.execute(
            sa.select(Galaxy.id).where(Galaxy.survey_id == sid,
                                       Galaxy.external_id.like(f"{tag}-%"))
            .order_by(Galaxy.external_id)).scalars().all(), dtype=np.int64)
        now = utcnow()
        db.bulk_upsert(session, _t(Image),
                       ["survey_id", "galaxy_id", "sha256", "height", "width", "channels",
                        "dtype", "created_at"],
                       ((sid, int(g), hashlib.sha256(f"{tag}-{g}-{k}".encode()).hexdigest(), 64,
                         64, 1, "float32", now)
                        for k in range(images_per_galaxy) for g in ids),
                       key=("sha256",))
        found = session.execute(
            sa.select(Image.galaxy_id, Image.id).join(Galaxy, Galaxy.id == Image.galaxy_id)
            .where(Galaxy.survey_id == sid, Galaxy.external_id.like(f"{tag}-%"))
            .order_by(Image.galaxy_id, Image.id)).all()
    by_galaxy = np.asarray([i for _, i in found], dtype=np.int64).reshape(-1, images_per_galaxy)
    order = np.argsort(ids)
    image_ids = np.empty_like(by_galaxy)
    image_ids[order] = by_galaxy
    return Galaxies(ids, ra, dec, z_spec, z_phot, log_mstar, image_ids)


def morphology_values(n: int, seed: int) -> dict[str, NDArray[Any]]:
    """Fractions that sum to 1, bulge/disk probabilities that sum to 1, a few flags."""
    rng = np.random.default_rng(seed)
    fractions = rng.dirichlet(np.ones(5), n)
    probabilities = rng.dirichlet(np.ones(3), n)
    out: dict[str, NDArray[Any]] = {
        name: np.round(fractions[:, i], 6)
        for i, name in enumerate(("f_spheroid", "f_disk", "f_irr", "f_ps", "f_unc"))}
    out.update({name: np.round(probabilities[:, i], 6)
                for i, name in enumerate(("p_bulge", "p_disk", "p_bulge_disk"))})
    out["out_of_profile"] = rng.uniform(size=n) < 0.05
    return out


def sersic_values(n: int, seed: int) -> dict[str, NDArray[Any]]:
    rng = np.random.default_rng(seed)
    return {
        "mag": np.round(rng.uniform(18, 25, n), 4),
        "mag_err": np.round(rng.uniform(0.01, 0.2, n), 4),
        "r_eff_arcsec": np.round(rng.uniform(0.1, 3, n), 4),
        "r_eff_err": np.round(rng.uniform(0.01, 0.3, n), 4),
        "sersic_n": np.round(rng.uniform(0.5, 6, n), 4),
        "sersic_n_err": np.round(rng.uniform(0.05, 0.5, n), 4),
        "axis_ratio": np.round(rng.uniform(0.1, 1, n), 4),
        "axis_ratio_err": np.round(rng.uniform(0.01, 0.1, n), 4),
        "pa_deg": np.round(rng.uniform(-90, 90, n), 3),
        "out_of_profile": rng.uniform(size=n) < 0.05,
    }


def load_predictions(db: Database, model: Any, model_version_id: int, image_ids: IntArray,
                     values: dict[str, NDArray[Any]]) -> None:
    """Upsert one prediction row per image into ``model`` (Morphology or SersicFit)."""
    names = list(values)
    columns = ["model_version_id", "image_id", *names]
    rows = ((model_version_id, int(image_ids[i]),
             *(bool(values[c][i]) if values[c].dtype == bool else float(values[c][i])
               for c in names)) for i in range(len(image_ids)))
    with db.session() as session:
        db.bulk_upsert(session, _t(model), columns, rows, key=("model_version_id", "image_id"))


def load_morphology(db: Database, model_version_id: int, image_ids: IntArray, seed: int
                    ) -> dict[str, NDArray[Any]]:
    values = morphology_values(len(image_ids), seed)
    load_predictions(db, Morphology, model_version_id, image_ids, values)
    return values


def load_sersic(db: Database, model_version_id: int, image_ids: IntArray, seed: int
                ) -> dict[str, NDArray[Any]]:
    values = sersic_values(len(image_ids), seed)
    load_predictions(db, SersicFit, model_version_id, image_ids, values)
    return values


@dataclass
class Sightlines:
    ids: IntArray
    ra: FloatArray
    dec: FloatArray
    z_qso: FloatArray


def load_sightlines(db: Database, n: int, seed: int, survey: str = "synthetic-qso",
                    ra_range: tuple[float, float] = (0.0, 360.0),
                    dec_range: tuple[float, float] = (-90.0, 90.0)) -> Sightlines:
    """``n`` quasar sightlines with plate/MJD/fiber, z_qso in 2.2-5."""
    rng = np.random.default_rng(seed)
    ra, dec = uniform_sky(rng, n, ra_range, dec_range)
    z_qso = np.round(rng.uniform(2.2, 5.0, n), 4)
    pix = healpix_29(ra, dec)
    with db.session() as session:
        sid = survey_id(session, survey, kind="spectroscopy")
        tag = f"{survey}-{seed}"
        db.bulk_upsert(session, _t(Sightline),
                       ["survey_id", "external_id", "plate", "mjd", "fiber", "thing_id", "ra_deg",
                        "dec_deg", "healpix_29", "z_qso"],
                       ((sid, f"{tag}-{i:07d}", 3000 + i // 1000, 55000 + i // 1000,
                         1 + i % 1000, None if i % 10 == 0 else 10**9 + i, float(ra[i]),
                         float(dec[i]), int(pix[i]), float(z_qso[i])) for i in range(n)),
                       key=("survey_id", "external_id"))
        ids = np.asarray(session.execute(
            sa.select(Sightline.id).where(Sightline.survey_id == sid,
                                          Sightline.external_id.like(f"{tag}-%"))
            .order_by(Sightline.external_id)).scalars().all(), dtype=np.int64)
    return Sightlines(ids, ra, dec, z_qso)


def load_dla(db: Database, model_version_id: int, sightlines: Sightlines, seed: int
             ) -> dict[str, NDArray[Any]]:
    """Search every sightline; 0-2 absorbers each. Returns the absorbers as columns
    (``sightline_id``, ``absorber_index``, ``z_dla``, ``log_nhi``, ``type``, ...) and
    each sightline's ``snr`` under ``search_snr``."""
    rng = np.random.default_rng(seed)
    n = len(sightlines.ids)
    counts = rng.choice([0, 1, 2], n, p=[0.6, 0.3, 0.1])
    snr = np.round(rng.uniform(1, 20, n), 3)
    z_min = np.round((1 + sightlines.z_qso) * 1030 / 1215.67 - 1 + 0.01, 4)
    owner = np.repeat(np.arange(n), counts)
    index = np.concatenate([np.arange(c) for c in counts]) if len(owner) else owner
    z_dla = np.round(z_min[owner] + rng.uniform(0, 1, len(owner))
                     * (sightlines.z_qso[owner] - z_min[owner]), 5)
    log_nhi = np.round(rng.uniform(19.5, 22.0, len(owner)), 3)
    kinds = np.where(log_nhi >= 20.3, "DLA", "SUBDLA")
    absorbers = {"sightline_id": sightlines.ids[owner], "absorber_index": index,
                 "z_dla": z_dla, "log_nhi": log_nhi,
                 "log_nhi_err": np.round(rng.uniform(0.05, 0.3, len(owner)), 3),
                 "confidence": np.round(rng.uniform(0.5, 1, len(owner)), 4), "type": kinds,
                 "search_snr": snr}
    with db.session() as session:
        db.bulk_upsert(session, _t(SightlineSearch),
                       ["model_version_id", "sightline_id", "z_min", "z_max", "snr",
                        "n_absorbers"],
                       ((model_version_id, int(sightlines.ids[i]), float(z_min[i]),
                         float(sightlines.z_qso[i]), float(snr[i]), int(counts[i]))
                        for i in range(n)),
                       key=("model_version_id", "sightline_id"))
        db.bulk_upsert(session, _t(DlaAbsorber),
                       ["model_version_id", "sightline_id", "absorber_index", "z_dla", "log_nhi",
                        "log_nhi_err", "confidence", "type"],
                       ((model_version_id, int(sightlines.ids[owner[j]]), int(index[j]),
                         float(z_dla[j]), float(log_nhi[j]),
                         float(absorbers["log_nhi_err"][j]),
                         float(absorbers["confidence"][j]), str(kinds[j]))
                        for j in range(len(owner))),
                       key=("model_version_id", "sightline_id", "absorber_index"))
    return absorbers


@dataclass
class Sample:
    """A small catalogue with two morphology model versions, one Sérsic and one DLA
    model version, and the values loaded for each. Model roles: ``morphology-old``,
    ``morphology-new``, ``sersic``, ``dla``."""

    galaxies: Galaxies
    sightlines: Sightlines
    models: dict[str, int]
    """role -> model_version.id"""
    references: dict[str, str]
    """role -> 'name@version'"""
    predictions: dict[str, dict[int, dict[str, Any]]]
    """role -> image id -> values"""
    absorbers: dict[str, NDArray[Any]]


def sample_catalogue(db: Database, n_galaxies: int = 120, n_sightlines: int = 80,
                     seed: int = 7, centre: tuple[float, float] = (150.0, 2.0),
                     half_width_deg: float = 1.0) -> Sample:
    """Galaxies and sightlines in a box around ``centre``, each galaxy with two images.

    ``morphology-old`` predicts every galaxy's first image; ``morphology-new`` (the next
    version of the same model) predicts both images of the first 40% of galaxies, only
    the second image of the next 40%, and nothing for the last 20%; ``sersic`` fits the
    first image of the first 75%; ``dla`` searches every sightline.
    """
    ra_range = (centre[0] - half_width_deg, centre[0] + half_width_deg)
    dec_range = (centre[1] - half_width_deg, centre[1] + half_width_deg)
    galaxies = load_galaxies(db, n_galaxies, seed, images_per_galaxy=2, ra_range=ra_range,
                             dec_range=dec_range)
    models = {"morphology-old": add_model_version(db, "morphology", "morphology"),
              "sersic": add_model_version(db, "sersic", "sersic"),
              "morphology-new": add_model_version(db, "morphology", "morphology"),
              "dla": add_model_version(db, "dla", "dla")}
    with db.new_session() as session:
        references = {role: "{}@{}".format(*session.execute(
            sa.select(ModelVersion.name, ModelVersion.version)
            .where(ModelVersion.id == mid)).one()) for role, mid in models.items()}
    first, second = galaxies.image_ids[:, 0], galaxies.image_ids[:, 1]
    both, only_second = int(0.4 * n_galaxies), int(0.8 * n_galaxies)
    v2_images = np.concatenate([first[:both], second[:only_second]])
    plan = [("morphology-old", Morphology, first),
            ("morphology-new", Morphology, v2_images),
            ("sersic", SersicFit, first[: int(0.75 * n_galaxies)])]
    predictions: dict[str, dict[int, dict[str, Any]]] = {}
    for k, (role, model, images) in enumerate(plan):
        make = morphology_values if model is Morphology else sersic_values
        values = make(len(images), seed + 100 + k)
        load_predictions(db, model, models[role], images, values)
        predictions[role] = {int(image): {c: v[i].item() for c, v in values.items()}
                             for i, image in enumerate(images)}
    sightlines = load_sightlines(db, n_sightlines, seed + 1, ra_range=ra_range,
                                 dec_range=dec_range)
    absorbers = load_dla(db, models["dla"], sightlines, seed + 2)
    return Sample(galaxies, sightlines, models, references, predictions, absorbers)
