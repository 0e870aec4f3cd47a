"""IVOA TAP over the public catalogues: ADQL translated by queryparser, run read-only.

``tables`` declares what TAP shows (each catalogue's tables as ``<catalogue>.<table>``,
from its newest release, and ``TAP_SCHEMA``); ``adql`` translates a query and refuses
tables TAP does not show; ``run`` executes it within a row limit and a time limit;
``output`` writes the answer as VOTable, CSV, FITS or Parquet; ``vosi`` writes the
VOSI documents.
"""
