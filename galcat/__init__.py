"""galcat: deep-learning catalogues of galaxies and quasar absorbers.

The rooms are subpackages: ``galcat.cli`` (the command line), ``galcat.catalog``
(storage, ingest, queries, releases), ``galcat.models`` (pure science),
``galcat.workers`` (jobs: rows through models), ``galcat.migrations`` (the schema's
history) and ``galcat.vocabulary`` (label sets and columns, declared once).

For notebooks: ``galcat.Catalog`` (cone, SQL and release reads as astropy Tables),
``galcat.submit`` and the job specs (``galcat.InferDla``, ``galcat.TrainSersic``, …);
see :mod:`galcat.api`. They load on first use, so ``import galcat`` stays light.
"""

from __future__ import annotations

from typing import Any

from galcat.catalog import __version__

API = {"Catalog": "galcat.api", "CatalogError": "galcat.api", "submit": "galcat.api"}
SPECS = ("TrainDla", "CalibrateDla", "TrainSersic", "TrainMorphology", "FinetuneMorphology",
         "InferDla", "InferSersic", "InferMorphology")
__all__ = ["__version__", *API, *SPECS]


def __getattr__(name: str) -> Any:
    import importlib

    if name in API:
        return getattr(importlib.import_module(API[name]), name)
    if name in SPECS:
        return getattr(importlib.import_module("galcat.workers.queue.specs"), name)
    raise AttributeError(f"module 'galcat' has no attribute {name!r}")
