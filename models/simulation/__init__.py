"""Toy simulated galaxies: compaction and blue-nugget histories, and their mock HST images."""
