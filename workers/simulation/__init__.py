"""Simulated galaxies (VELA-like) moving files and rows through
:mod:`galcat.models.simulation`: mock files with their manifests."""
