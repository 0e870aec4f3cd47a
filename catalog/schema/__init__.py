"""The galcat schema: every table, as SQLAlchemy ORM classes on one metadata."""

from galcat.catalog.schema.base import Base
from galcat.catalog.schema.environment import EnvironmentMeasure, RedshiftEstimate
from galcat.catalog.schema.pixels import Image, ImagePixels, Spectrum, SpectrumPixels
from galcat.catalog.schema.predictions import (
    DlaAbsorber,
    Morphology,
    PhasePrediction,
    SersicFit,
    SightlineSearch,
)
from galcat.catalog.schema.provenance import Job, Label, ModelVersion, Release, ReleaseFile
from galcat.catalog.schema.simulation import Camera, Simulation, Snapshot
from galcat.catalog.schema.sky_objects import Galaxy, Sightline, Survey

metadata = Base.metadata

SERVER_OPTIONAL_INDEXES = frozenset({"ix_galaxy_sky_spoint", "ix_sightline_sky_spoint"})
"""Indexes migration 0008 creates only where the PostgreSQL server has pg_sphere; the
ORM does not declare them (SQLite, or a server without pg_sphere, has none)."""


def compared_by_autogenerate(obj: object, name: str | None, type_: str, reflected: bool,
                             compare_to: object) -> bool:
    """Alembic ``include_object``: everything but ``SERVER_OPTIONAL_INDEXES``."""
    return not (type_ == "index" and name in SERVER_OPTIONAL_INDEXES)

__all__ = [
    "SERVER_OPTIONAL_INDEXES",
    "Base",
    "Camera",
    "DlaAbsorber",
    "EnvironmentMeasure",
    "Galaxy",
    "Image",
    "ImagePixels",
    "Job",
    "Label",
    "ModelVersion",
    "Morphology",
    "PhasePrediction",
    "RedshiftEstimate",
    "Release",
    "ReleaseFile",
    "SersicFit",
    "Sightline",
    "SightlineSearch",
    "Simulation",
    "Snapshot",
    "Spectrum",
    "SpectrumPixels",
    "Survey",
    "compared_by_autogenerate",
    "metadata",
]
