"""Galaxy work on files, with no catalog writes: quick-look scans, classic fits, mock files.

* :func:`scan_files` reads images as ``galcat ingest images`` does (companion noise
  maps and PSFs grouped the same way), runs the emulator or the morphology network
  with the jobs' own post-processing (:mod:`workers.galaxy.inference`) and writes
  one row per file.
* :func:`fit_files` runs the classic least-squares Sérsic fit on files.
* :func:`write_mock_galaxies` writes seeded mocks as profile FITS files with a
  truth table, so mocks exercise the real ingest path.

A model is a registry reference (``sersic``, ``morphology@3``; read from the
catalog's ``model_version`` table) or the path of a ``.keras`` file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from galcat.catalog.formats.errors import InputError
from galcat.catalog.formats.image_groups import group_files, read_group
from galcat.catalog.formats.images import ImageFormatError, ImageRecord
from galcat.catalog.formats.registry import find_files
from galcat.catalog.settings import Settings
from galcat.models.galaxy.stamps import Stamp, make_stamp, morphology_rows, sersic_rows
from galcat.vocabulary import MORPHOLOGY_COLUMNS, SERSIC_COLUMNS
from galcat.workers.model_io import ModelNotFound, OpenedModel, open_model

TASKS = ("sersic", "morphology")
FIT_COLUMNS = (*SERSIC_COLUMNS, "pa_err_deg", "x0", "y0", "chi2_nu", "success", "seconds")


@dataclass
class FileTable:
    """A table written from files: where, how many rows, and the files refused (with why)."""

    out: Path
    rows: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def open_galaxy_model(settings: Settings, reference: str | Path | None, task: str
                      ) -> OpenedModel:
    """The ``task`` (sersic or morphology) model ``reference`` names (see
    :func:`galcat.workers.model_io.open_model`); a bare ``.keras`` file is checked by its
    outputs."""
    import galcat.models.galaxy.emulator
    import galcat.models.galaxy.morphology  # noqa: F401  (registers the custom objects)

    opened = open_model(settings, reference, task)
    if not opened.hyperparameters and model_task(opened.model) != task:
        raise ModelNotFound(f"{opened.label} is not a {task} model (its outputs are "
                            f"{opened.model.output_shape})")
    return opened


def model_task(model: Any) -> str | None:
    """``sersic`` or ``morphology`` from a Keras model's outputs (None: neither)."""
    if isinstance(model.output, dict):
        return "morphology" if {"candels", "bd"} <= set(model.output) else None
    width = model.output_shape[-1]
    return {12: "sersic", len(MORPHOLOGY_COLUMNS): "morphology"}.get(width)


def _stamp(record: ImageRecord, crop: bool = True) -> Stamp:
    return make_stamp(record.pixels, record.rms, zero_point=record.zero_point,
                      psf_fwhm_arcsec=record.psf_fwhm_arcsec, sky_sigma=record.sky_sigma,
                      pixel_scale_arcsec=record.pixel_scale_arcsec,
                      raster=record.display_image, crop=crop)


def _read_all(paths: Sequence[str | Path], errors: list[str]) -> list[tuple[str, ImageRecord]]:
    groups, _attached = group_files(find_files("image", paths))
    records = []
    for group in groups:
        try:
            records.append((str(group.science), read_group(group)[0]))
        except (ImageFormatError, InputError) as exc:
            errors.append(str(exc))
    return records


def scan_files(task: str, paths: Sequence[str | Path], out: Path, model: Any,
               model_label: str = "") -> FileTable:
    """Run the ``task`` network on image files and write one row per readable file."""
    from astropy.table import Table

    from galcat.catalog.formats.tables import write_table

    if task not in TASKS:
        raise ValueError(f"no scan for {task!r} (known: {', '.join(TASKS)})")
    result = FileTable(out)
    records = _read_all(paths, result.errors)
    stamps = [_stamp(r) for _, r in records]
    rows_of = sersic_rows if task == "sersic" else morphology_rows
    columns = SERSIC_COLUMNS if task == "sersic" else MORPHOLOGY_COLUMNS
    kept: list[tuple[str, Stamp, dict[str, Any]]] = []
    for (path, _), stamp, answer in zip(records, stamps, rows_of(model, stamps), strict=True):
        if answer is None:
            result.errors.append(f"{path}: the network returned non-finite values")
        else:
            kept.append((path, stamp, answer))
    if not kept:
        return result
    table = Table()
    table["file"] = [k[0] for k in kept]
    for name in columns:
        table[name] = np.array([np.nan if k[2][name] is None else k[2][name] for k in kept])
    table["out_of_profile"] = [k[1].out_of_profile for k in kept]
    table["out_of_profile_reasons"] = ["; ".join(k[1].reasons) for k in kept]
    table.meta.update({"task": task, "model": model_label,
                       "units": "mag: AB; r_eff_arcsec, r_eff_err: arcsec; pa_deg: degrees "
                                "east of north" if task == "sersic" else "fractions"})
    write_table(table, out)
    result.rows = len(kept)
    return result


def fit_files(paths: Sequence[str | Path], out: Path, *, zero_point: float | None = None,
              pixel_scale_arcsec: float | None = None,
              psf_fwhm_arcsec: float | None = None) -> FileTable:
    """Classic single-Sérsic fit of each file; the options stand in for missing header values."""
    from astropy.table import Table

    from galcat.catalog.formats.tables import write_table
    from galcat.models.galaxy.fitter import fit_sersic

    result = FileTable(out)
    rows: list[dict[str, Any]] = []
    for path, record in _read_all(paths, result.errors):
        zp = record.zero_point if record.zero_point is not None else zero_point
        scale = record.pixel_scale_arcsec or pixel_scale_arcsec
        if zp is None or scale is None:
            missing = " and ".join(w for w, v in (("zero point (--zero-point)", zp),
                                                  ("pixel scale (--pixel-scale)", scale))
                                   if v is None)
            result.errors.append(f"{path}: the header gives no {missing}")
            continue
        stamp = _stamp(record, crop=False)
        fwhm = record.psf_fwhm_arcsec or psf_fwhm_arcsec
        sigma = _band(record.rms) if record.rms is not None else stamp.sky_sigma
        try:
            fit = fit_sersic(stamp.pixels, zero_point=zp, pixel_scale_arcsec=scale,
                             psf_fwhm_arcsec=fwhm, sigma=sigma)
        except (ValueError, np.linalg.LinAlgError) as exc:
            result.errors.append(f"{path}: the fit failed: {exc}")
            continue
        values = {k: getattr(fit, k) for k in FIT_COLUMNS}
        rows.append({"file": path, **values, "zero_point": zp, "pixel_scale_arcsec": scale,
                     "psf_fwhm_arcsec": math.nan if fwhm is None else fwhm})
    if rows:
        table = Table(rows=rows)
        table.meta["method"] = "classic least-squares single Sérsic (models.galaxy.fitter)"
        write_table(table, out)
    result.rows = len(rows)
    return result


def _band(rms: np.ndarray) -> np.ndarray:
    noise = np.asarray(rms, dtype=float)
    noise = noise[..., -1] if noise.ndim == 3 else noise
    return np.where(np.isfinite(noise) & (noise > 0), noise, np.inf)


def write_mock_galaxies(n: int, out_dir: Path, seed: int, *,
                        kind_fractions: Mapping[str, float] | None = None,
                        centre_deg: tuple[float, float] = (150.1, 2.2),
                        overwrite: bool = False) -> tuple[list[Path], Path]:
    """``make_mocks(n, seed)`` as profile FITS files ``mock_S_NNNNN.fits`` and ``truth.ecsv``.

    Positions are scattered within 0.1° of ``centre_deg`` (RA, Dec), so the truth
    table joins the files to galaxies in ``galcat ingest images --catalog``.
    """
    from astropy.table import Table

    from galcat.catalog.formats.profile_writer import write_profile_fits
    from galcat.models.galaxy.mock import DEFAULT_KIND_FRACTIONS, make_mocks

    mocks = make_mocks(n, seed, kind_fractions=kind_fractions or DEFAULT_KIND_FRACTIONS)
    rng = np.random.default_rng([seed, 1])
    dec = centre_deg[1] + rng.uniform(-0.1, 0.1, n)
    ra = np.mod(centre_deg[0] + rng.uniform(-0.1, 0.1, n) / np.cos(np.radians(dec)), 360.0)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for i, t in enumerate(mocks.truth):
        meta: dict[str, Any] = {
            "zero_point": float(t["zero_point"]), "psf_fwhm_arcsec": float(t["psf_fwhm_arcsec"]),
            "sky_sigma": float(t["sky_sigma"]), "ra_deg": float(ra[i]), "dec_deg": float(dec[i]),
            "profile": mocks.profile.name, "KIND": str(t["kind"]), "MOCKSEED": seed,
            "MOCKIDX": i}
        for key, column in (("MAG", "mag"), ("RE_ARCS", "r_eff_arcsec"), ("N_SERS", "sersic_n"),
                            ("AXRATIO", "axis_ratio"), ("PA_DEG", "pa_deg")):
            if math.isfinite(float(t[column])):
                meta[key] = float(t[column])
        path = out_dir / f"mock_{seed}_{i:05d}.fits"
        write_profile_fits(path, mocks.images[i], meta, overwrite=overwrite)
        files.append(path)
    truth = Table(mocks.truth)
    truth.add_column([p.name for p in files], name="file", index=0)
    truth.add_column([p.stem for p in files], name="id", index=1)
    truth.add_column(ra, name="ra", index=2)
    truth.add_column(dec, name="dec", index=3)
    truth.meta.update({"seed": seed, "profile": mocks.profile.name,
                       "generator": "galcat.models.galaxy.mock.make_mocks"})
    truth_path = out_dir / "truth.ecsv"
    truth.write(truth_path, format="ascii.ecsv", overwrite=True)
    return files, truth_path
