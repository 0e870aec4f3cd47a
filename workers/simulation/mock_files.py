"""``galcat mock simulation``: a mock simulated galaxy written as a simulation manifest
(``galcat-simulation/1``) with one profile FITS image per camera and snapshot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from galcat.catalog.formats.profile_writer import write_profile_fits
from galcat.catalog.formats.simulation_manifest import FORMAT, MASS_FIELDS, RATE_FIELDS
from galcat.workers.queue.training import json_safe

MANIFEST_NAME = "manifest.yaml"


def write_mock_simulation(name: str, out_dir: Path, seed: int, history: str = "compaction",
                          *, n_cameras: int = 20, overwrite: bool = False,
                          progress: Callable[[int, int], None] | None = None) -> Path:
    """Write simulated galaxy ``name`` (``history``: compaction, merger or quiet) under
    ``out_dir/name/``: ``manifest.yaml`` and ``aS.SSS/camNN.fits``; return the manifest."""
    from galcat.models.galaxy.profile import HST_F160W_64
    from galcat.models.simulation.history import make_history
    from galcat.models.simulation.render import render_snapshot

    galaxy = make_history(name, seed, history)
    folder = out_dir / name
    if (folder / MANIFEST_NAME).exists() and not overwrite:
        raise FileExistsError(f"{folder / MANIFEST_NAME} exists; pass --overwrite to replace it")
    folder.mkdir(parents=True, exist_ok=True)
    snapshots: list[dict[str, Any]] = []
    for done, truth in enumerate(galaxy.snapshots):
        seen = render_snapshot(truth, seed, n_cameras=n_cameras)
        sub = f"a{truth.scale_factor:.3f}"
        (folder / sub).mkdir(exist_ok=True)
        cameras = []
        for c in range(n_cameras):
            image = f"{sub}/cam{c:02d}.fits"
            write_profile_fits(folder / image, seen.images[c], {
                "zero_point": seen.zero_point, "psf_fwhm_arcsec": float(seen.psf_fwhm_arcsec[c]),
                "sky_sigma": float(seen.sky_sigma[c]),
                "pixel_scale_arcsec": HST_F160W_64.pixel_scale_arcsec,
                "profile": HST_F160W_64.name, "SIMNAME": name[:68],
                "SNAPIDX": truth.snapshot_index, "CAMIDX": c,
                "AEXP": round(truth.scale_factor, 6)}, overwrite=True)
            cameras.append({"index": c, "theta_deg": round(float(seen.theta_deg[c]), 4),
                            "phi_deg": round(float(seen.phi_deg[c]), 4),
                            "inclination_deg": round(float(seen.inclination_deg[c]), 4),
                            "image": image})
        snapshots.append({**_snapshot_fields(truth), "cameras": cameras})
        if progress is not None:
            progress(done + 1, len(galaxy.snapshots))
    manifest = {
        "format": FORMAT,
        "simulation": {"name": name, "code": "galcat-mock",
                       "description": f"galcat mock simulated galaxy ({history} history)",
                       "metadata": {"generator": "galcat.models.simulation", "history": history,
                                    "seed": seed, "bn_time_gyr": round(galaxy.bn_time_gyr, 6),
                                    "profile": HST_F160W_64.name}},
        "snapshots": snapshots,
    }
    path = folder / MANIFEST_NAME
    path.write_text(f"# {name}: written by `galcat mock simulation` (seed {seed})\n"
                    + yaml.safe_dump(manifest, sort_keys=False))
    return path


def _snapshot_fields(truth: Any) -> dict[str, Any]:
    """The manifest's fields of one snapshot (the physical metadata, not the light)."""
    fields: dict[str, Any] = {"index": truth.snapshot_index,
                              "scale_factor": round(truth.scale_factor, 6),
                              "redshift": round(truth.redshift, 6),
                              "time_gyr": round(truth.time_gyr, 6)}
    for name in (*MASS_FIELDS, *RATE_FIELDS):
        fields[name] = round(float(getattr(truth, name)), 6)
    fields["phase"] = truth.phase
    fields["compaction_cause"] = truth.compaction_cause
    since = truth.time_since_merger_gyr
    fields["time_since_merger_gyr"] = None if since is None else round(float(since), 6)
    fields["events"] = json_safe(list(truth.events))
    return fields

