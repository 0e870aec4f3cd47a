"""Ingest of real file formats into the catalog, one transaction per file."""
