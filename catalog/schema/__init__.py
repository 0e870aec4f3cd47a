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

__all__ = [
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
    "metadata",
]
