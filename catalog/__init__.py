"""galcat catalog: schema, database access, sky index, ingest, queries and releases."""

__version__ = "0.1.0"
