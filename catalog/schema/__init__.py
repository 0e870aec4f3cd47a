"""The galcat schema: every table, as SQLAlchemy ORM classes on one metadata."""

from catalog.schema.base import Base
from catalog.schema.pixels import Image, ImagePixels, Spectrum, SpectrumPixels
from catalog.schema.predictions import (
    DlaAbsorber,
    Morphology,
    PhasePrediction,
    ScalarPrediction,
    SersicFit,
    SightlineSearch,
)
from catalog.schema.provenance import Job, Label, ModelVersion, Release, ReleaseFile
from catalog.schema.simulation import Camera, Simulation, Snapshot
from catalog.schema.sky_objects import Galaxy, Sightline, Survey

metadata = Base.metadata

__all__ = [
    "Base",
    "Camera",
    "DlaAbsorber",
    "Galaxy",
    "Image",
    "ImagePixels",
    "Job",
    "Label",
    "ModelVersion",
    "Morphology",
    "PhasePrediction",
    "Release",
    "ReleaseFile",
    "ScalarPrediction",
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
