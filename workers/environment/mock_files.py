"""``galcat mock lightcone``: a clustered mock light-cone written as a FITS galaxy
catalogue that ``galcat ingest catalog`` loads (ID, RA, DEC, Z_PHOT, Z_PHOT_ERR, Z_SPEC)
and a truth table beside it (ID, Z_TRUE, Z_COSMO, DELTA_TRUE)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

CATALOGUE_NAME = "lightcone.fits"
TRUTH_NAME = "truth.fits"


def write_mock_lightcone(out_dir: Path, seed: int, n: int = 100_000, *,
                         overwrite: bool = False, **spec: Any) -> tuple[Path, Path]:
    """Write the light-cone of ``seed`` under ``out_dir``; return (catalogue, truth)."""
    from astropy.table import Table

    from galcat.models.environment.lightcone import LightconeSpec, make_lightcone

    catalogue, truth = out_dir / CATALOGUE_NAME, out_dir / TRUTH_NAME
    if not overwrite and (catalogue.exists() or truth.exists()):
        raise FileExistsError(f"{catalogue} exists; pass --overwrite to replace it")
    cone = make_lightcone(LightconeSpec(n_galaxies=n, seed=seed, **spec))
    ids = np.array([f"LC{seed}-{i:07d}" for i in range(len(cone.ra_deg))])
    meta = {"LCSPEC": json.dumps(asdict(cone.spec), sort_keys=True)}
    table = Table({"ID": ids, "RA": cone.ra_deg, "DEC": cone.dec_deg, "Z_PHOT": cone.z_phot,
                   "Z_PHOT_ERR": cone.z_phot_err, "Z_SPEC": cone.z_spec}, meta=meta)
    for name, unit in (("RA", "deg"), ("DEC", "deg")):
        table[name].unit = unit
    out_dir.mkdir(parents=True, exist_ok=True)
    table.write(catalogue, overwrite=True)
    Table({"ID": ids, "Z_TRUE": cone.z_true, "Z_COSMO": cone.z_cosmo,
           "DELTA_TRUE": cone.delta_true}, meta=meta).write(truth, overwrite=True)
    return catalogue, truth
