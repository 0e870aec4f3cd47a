"""Ingest through workers: files fanned out in shards."""
