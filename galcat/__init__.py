"""galcat: deep-learning catalogues of galaxies and quasar absorbers.

The rooms are subpackages: ``galcat.catalog`` (storage, ingest, queries, releases),
``galcat.models`` (pure science), ``galcat.workers`` (jobs: rows through models) and
``galcat.migrations`` (the schema's history).
"""

from galcat.catalog import __version__

__all__ = ["__version__"]
