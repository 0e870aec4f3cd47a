"""Galaxy bench: the Sérsic emulator against the classic fitter, and galaxy inference end to end.

1. Emulator vs fitter, on CPU, on the same N seeded single-Sérsic mock cutouts
   (written as profile FITS files by ``write_mock_galaxies`` and read back as
   ``galcat scan`` / ``galcat fit sersic`` read them). The emulator is the shipped
   ``sersic`` model, registered in a temporary catalog and loaded from the registry
   (hash-checked, Keras ``safe_mode``); it runs through ``sersic_rows`` on all N
   stamps at once (median of 3 timed calls after one untimed warm-up). The classic
   least-squares fitter (``fit_sersic``, called as ``galcat fit sersic`` calls it)
   runs on a seeded subset of M of them, one image after another. Figure: seconds
   per galaxy of each, and the ratio fitter ÷ emulator. Accuracy at that speed: the
   median |Δ| against the mock truth of mag, r_eff, n and q on the M images both
   ran on (Δ as ``galcat evaluate sersic`` defines it).
2. End to end: G seeded mock galaxies (the default mix of kinds) ingested with
   ``ingest_images`` into a temporary GALCAT_HOME whose database is SQLite (and a
   temporary PostgreSQL database unless ``--no-postgres``), then
   ``run_locally(settings, InferSersic(model=...), HANDLERS)`` for ``sersic`` and
   ``morphology``: galaxies/s from image rows to prediction rows written in
   ``sersic_fit`` / ``morphology`` (counted). Baseline, same run: the model alone
   (``emulator.predict`` / ``morphology.predict``) on the same images held in memory
   (median of 3 timed calls after an untimed warm-up). Each job is timed once, after
   an untimed warm-up job on the first 16 images (imports, connections), with the
   model already loaded and traced, as in a warm worker.

Every figure is printed with its ratio to a baseline measured in the same run;
nothing asserts on a timing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import (
    BackendUnavailable,
    Report,
    add_backend_options,
    count_rows,
    galcat_home,
    load_average,
    machine_note,
    p50,
    positive_int,
    server_version,
    temporary_postgres,
    temporary_sqlite,
    timed,
)
from galcat.catalog.db import Database
from galcat.catalog.settings import Settings

DESCRIPTION = "Sérsic emulator vs classic fitter s/galaxy; galaxy inference jobs galaxies/s"
DEFAULT_IMAGES, DEFAULT_FIT, DEFAULT_GALAXIES = 200, 50, 2000
QUICK_IMAGES, QUICK_FIT, QUICK_GALAXIES = 10, 10, 100
TIMED_RUNS = 3
WARMUP_IMAGES = 16
TASKS = ("sersic", "morphology")
EPILOG = f"""\
Example: python -m bench galaxy --quick

examples:
  python -m bench galaxy                   # {DEFAULT_IMAGES} images ({DEFAULT_FIT} fitted), \
{DEFAULT_GALAXIES:_} galaxies, SQLite and PostgreSQL
  python -m bench galaxy --quick           # {QUICK_IMAGES} images ({QUICK_FIT} fitted), \
{QUICK_GALAXIES} galaxies
  nice -n 10 python -m bench galaxy --no-postgres --fit-n 200

Runs on the CPU. Models: the shipped sersic and morphology models (models/shipped),
registered in a temporary GALCAT_HOME. PostgreSQL: a temporary database on
--postgres-url's server, dropped afterwards.
"""


@dataclass(frozen=True)
class Sizes:
    """How many images each part runs on."""

    images: int
    """Part 1: mock cutouts the emulator runs on."""
    fit: int
    """Part 1: of them, how many the classic fitter runs on (a seeded subset)."""
    galaxies: int
    """Part 2: mock galaxies ingested and inferred end to end."""


@dataclass(frozen=True)
class FitterInput:
    """What ``galcat fit sersic`` passes to ``fit_sersic`` for one file."""

    pixels: np.ndarray
    zero_point: float
    pixel_scale_arcsec: float
    psf_fwhm_arcsec: float | None
    sigma: float | np.ndarray | None


# --- images -----------------------------------------------------------------------


def read_mock_files(files: Sequence[Path]) -> tuple[list[Any], list[FitterInput]]:
    """Emulator stamps (central profile stamp) and fitter inputs (whole image) per file,
    read as ``galcat scan`` and ``galcat fit sersic`` read them."""
    from galcat.catalog.formats.image_groups import group_files, read_group
    from galcat.catalog.formats.registry import find_files
    from galcat.models.galaxy.stamps import make_stamp

    groups, _attached = group_files(find_files("image", files))
    stamps, fits = [], []
    for group in groups:
        record = read_group(group)[0]
        raster = record.display_image
        stamps.append(make_stamp(record.pixels, record.rms, zero_point=record.zero_point,
                                 psf_fwhm_arcsec=record.psf_fwhm_arcsec,
                                 sky_sigma=record.sky_sigma,
                                 pixel_scale_arcsec=record.pixel_scale_arcsec, raster=raster))
        whole = make_stamp(record.pixels, record.rms, zero_point=record.zero_point,
                           psf_fwhm_arcsec=record.psf_fwhm_arcsec, sky_sigma=record.sky_sigma,
                           pixel_scale_arcsec=record.pixel_scale_arcsec, raster=raster,
                           crop=False)
        if record.zero_point is None or record.pixel_scale_arcsec is None:
            raise ValueError(f"{group.science}: mock file without zero point or pixel scale")
        fits.append(FitterInput(whole.pixels, record.zero_point, record.pixel_scale_arcsec,
                                record.psf_fwhm_arcsec,
                                _band(record.rms) if record.rms is not None
                                else whole.sky_sigma))
    return stamps, fits


def _band(rms: np.ndarray) -> np.ndarray:
    """The last band of a noise map, with unusable pixels set to infinite noise."""
    noise = np.asarray(rms, dtype=float)
    noise = noise[..., -1] if noise.ndim == 3 else noise
    return np.where(np.isfinite(noise) & (noise > 0), noise, np.inf)


def truth_for(files: Sequence[Path], truth_path: Path) -> dict[str, np.ndarray]:
    """Truth columns (mag, r_eff_arcsec, sersic_n, axis_ratio, pa_deg) in ``files`` order."""
    from astropy.table import Table

    table = Table.read(truth_path, format="ascii.ecsv")
    row_of = {str(name): i for i, name in enumerate(table["file"])}
    order = np.array([row_of[f.name] for f in files])
    return {k: np.asarray(table[k], dtype=float)[order]
            for k in ("mag", "r_eff_arcsec", "sersic_n", "axis_ratio", "pa_deg")}


# --- part 1: emulator vs fitter -----------------------------------------------------


def columns_of(rows: Sequence[dict[str, Any] | None], names: Sequence[str]
               ) -> dict[str, np.ndarray]:
    """Prediction rows as arrays (NaN where a row or a value is missing)."""
    return {name: np.array([math.nan if r is None or r.get(name) is None else float(r[name])
                            for r in rows]) for name in names}


def bench_emulator_vs_fitter(model: Any, files: Sequence[Path], truth_path: Path,
                             n_fit: int, seed: int) -> dict[str, Any]:
    """Seconds per galaxy of the emulator (all files) and the fitter (a seeded subset of
    ``n_fit``), and both predictions for the accuracy table."""
    from galcat.models.galaxy.fitter import fit_sersic
    from galcat.models.galaxy.stamps import sersic_rows
    from galcat.vocabulary import SERSIC_COLUMNS

    stamps, fitter_inputs = read_mock_files(files)
    truth = truth_for(files, truth_path)
    n = len(stamps)
    print(f"[part 1] emulator: {n} images, warm-up + {TIMED_RUNS} timed runs ...",
          flush=True)
    emulator = columns_of(sersic_rows(model, stamps), SERSIC_COLUMNS)  # warm-up, untimed
    emulator_s = p50([timed(lambda: sersic_rows(model, stamps))[0]
                      for _ in range(TIMED_RUNS)])
    subset = np.sort(np.random.default_rng([seed, 2]).choice(n, size=min(n_fit, n),
                                                             replace=False))
    print(f"[part 1] classic fitter: {subset.size} of the {n} images ...", flush=True)
    fitted: list[dict[str, Any] | None] = []
    failures = 0
    start = time.perf_counter()
    for i in subset.tolist():
        f = fitter_inputs[i]
        try:
            fit = fit_sersic(f.pixels, zero_point=f.zero_point,
                             pixel_scale_arcsec=f.pixel_scale_arcsec,
                             psf_fwhm_arcsec=f.psf_fwhm_arcsec, sigma=f.sigma)
        except (ValueError, np.linalg.LinAlgError):
            failures += 1
            fitted.append(None)
            continue
        fitted.append({k: getattr(fit, k) for k in SERSIC_COLUMNS})
    fitter_s = time.perf_counter() - start
    return {"n": n, "n_fit": int(subset.size), "fit_failures": failures,
            "emulator_s_per_galaxy": emulator_s / n,
            "fitter_s_per_galaxy": fitter_s / max(subset.size, 1),
            "emulator": emulator, "fitter": columns_of(fitted, SERSIC_COLUMNS),
            "subset": subset, "truth": truth}


def accuracy_markdown(part1: dict[str, Any]) -> str:
    """Median |Δ| against truth per parameter, emulator and fitter on the same images."""
    from galcat.models.galaxy.scores import sersic_deltas

    subset, truth = part1["subset"], part1["truth"]
    sub_truth = {k: v[subset] for k, v in truth.items()}
    emu_sub = {k: v[subset] for k, v in part1["emulator"].items()}
    d_emu = sersic_deltas(emu_sub, sub_truth)
    d_fit = sersic_deltas(part1["fitter"], sub_truth)
    d_all = sersic_deltas(part1["emulator"], truth)
    labels = {"mag": ("mag", "pred − true (mag)"),
              "r_eff_rel": ("r_eff", "(pred − true) / true"),
              "sersic_n_rel": ("n", "(pred − true) / true"),
              "axis_ratio": ("q", "pred − true")}
    both = np.ones(subset.size, dtype=bool)
    for name in labels:
        both &= np.isfinite(d_emu[name]) & np.isfinite(d_fit[name])
    n_all = int(np.all([np.isfinite(d) for d in d_all.values()], axis=0).sum())
    header = ("Parameter", "Δ", f"emulator, {int(both.sum())} images both ran on",
              f"fitter, same {int(both.sum())} images", f"emulator, all {n_all} images")
    lines = ["### Accuracy at that speed: median |Δ| against the mock truth", "",
             "| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for name, (label, definition) in labels.items():
        finite_all = np.isfinite(d_all[name])
        cells = (label, definition, f"{np.median(np.abs(d_emu[name][both])):.4f}",
                 f"{np.median(np.abs(d_fit[name][both])):.4f}",
                 f"{np.median(np.abs(d_all[name][finite_all])):.4f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- part 2: end to end --------------------------------------------------------------


def model_only_rates(models: dict[str, Any], stamps: Sequence[Any]) -> dict[str, float]:
    """Galaxies/s of ``emulator.predict`` and ``morphology.predict`` on in-memory arrays
    (one untimed warm-up call each, then the median of ``TIMED_RUNS`` timed calls)."""
    from galcat.models.galaxy import emulator, morphology
    from galcat.models.galaxy.stamps import network_arrays

    a = network_arrays(stamps)
    predictors = {"sersic": emulator.predict, "morphology": morphology.predict}
    rates = {}
    for task, predict in predictors.items():
        print(f"[part 2] {task} model only, {len(stamps):_} images in memory, warm-up + "
              f"{TIMED_RUNS} timed runs ...", flush=True)

        def run(predict: Any = predict, model: Any = models[task]) -> Any:
            return predict(model, a["images"], zero_point=a["zero_point"],
                           psf_fwhm_arcsec=a["psf_fwhm_arcsec"], sky_sigma=a["sky_sigma"])

        run()  # warm-up, untimed
        rates[task] = len(stamps) / p50([timed(run)[0] for _ in range(TIMED_RUNS)])
    return rates


def bench_pipeline(db: Database, settings: Settings, files: Sequence[Path]) -> dict[str, Any]:
    """Seconds to ingest ``files``, then seconds and rows written of each inference job
    (timed once, after an untimed warm-up job on the first ``WARMUP_IMAGES`` images)."""
    from galcat.catalog.ingest.images import ingest_images
    from galcat.workers.galaxy.inference import IMAGE, MORPHOLOGY_TABLE, SERSIC_TABLE
    from galcat.workers.handlers import HANDLERS
    from galcat.workers.queue.local import run_locally
    from galcat.workers.queue.specs import InferMorphology, InferSersic

    label = db.dialect
    print(f"[part 2, {label}] ingest {len(files):_} files ...", flush=True)
    ingest_s, summary = timed(lambda: ingest_images(db, files))
    if not summary.ok:
        raise RuntimeError(f"ingest of the mock files failed on {label}")
    out: dict[str, Any] = {"ingest_s": ingest_s, "images": count_rows(db, IMAGE)}
    for task, table in (("sersic", SERSIC_TABLE), ("morphology", MORPHOLOGY_TABLE)):
        print(f"[part 2, {label}] infer {task} job: warm-up on {WARMUP_IMAGES} images, "
              "then all ...", flush=True)
        spec = {"sersic": InferSersic, "morphology": InferMorphology}[task]
        warm = run_locally(settings, spec(
            model=task, where=f"id IN (SELECT id FROM image ORDER BY id LIMIT {WARMUP_IMAGES})"),
            HANDLERS)
        if warm.status().state != "done":
            raise RuntimeError(f"warm-up infer {task} on {label}: {warm.status().error}")
        seconds, handle = timed(partial(run_locally, settings, spec(model=task), HANDLERS))
        state = handle.status()
        if state.state != "done":
            raise RuntimeError(f"infer {task} on {label} ended {state.state}: {state.error}")
        out[f"{task}_s"] = seconds
        out[f"{task}_rows"] = count_rows(db, table)
    return out


# --- the run ----------------------------------------------------------------------


def machine_header() -> str:
    """CPUs, Python and SQLAlchemy versions, and the load averages."""
    return f"{machine_note()}; {load_average()}"


def device_note() -> str:
    """Which devices the Keras backend computes on (this bench means the CPU)."""
    import keras

    backend = keras.backend.backend()
    if backend != "tensorflow":
        return f"Keras backend {backend}"
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    where = "CPU only" if not gpus else f"{len(gpus)} GPU(s) visible: NOT a CPU figure"
    return f"Keras {keras.__version__} on TensorFlow {tf.__version__}, {where}"


def report(sizes: Sizes, part1: dict[str, Any], model_rates: dict[str, float],
           pipelines: dict[str, dict[str, Any]], notes: list[str]) -> Report:
    out = Report(f"galcat galaxy bench, {dt.date.today().isoformat()}", notes=notes)
    emu, fit = part1["emulator_s_per_galaxy"], part1["fitter_s_per_galaxy"]
    failed = f", {part1['fit_failures']} failed" if part1["fit_failures"] else ""
    out.add(f"classic fitter (fit_sersic), {part1['n_fit']} of the {part1['n']} images"
            f"{failed}", "CPU, in memory", f"{fit:.3g} s/galaxy", "", None)
    out.add(f"Sérsic emulator (sersic_rows), all {part1['n']} images", "CPU, in memory",
            f"{emu * 1000:.3g} ms/galaxy", f"fitter {fit:.3g} s/galaxy", fit / emu)
    for task, fn in (("sersic", "emulator.predict"), ("morphology", "morphology.predict")):
        out.add(f"{task} model only ({fn}), {sizes.galaxies:_} images", "CPU, in memory",
                f"{model_rates[task]:,.0f} galaxies/s", "", None)
    for backend, f in pipelines.items():
        out.add(f"ingest {f['images']:_} mock FITS files (ingest_images)", backend,
                f"{f['images'] / f['ingest_s']:,.0f} galaxies/s ({f['ingest_s']:.1f} s)", "",
                None)
        for task in TASKS:
            rate = f[f"{task}_rows"] / f[f"{task}_s"]
            out.add(f"infer {task} job (run_locally): image rows → {f[f'{task}_rows']:_} "
                    f"{'sersic_fit' if task == 'sersic' else 'morphology'} rows", backend,
                    f"{rate:,.0f} galaxies/s ({f[f'{task}_s']:.1f} s)",
                    f"model only {model_rates[task]:,.0f} galaxies/s",
                    rate / model_rates[task])
    return out


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench galaxy", description=DESCRIPTION + ".", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=positive_int, default=None, metavar="N",
                        help=f"part 1: mock cutouts the emulator runs on "
                             f"(default {DEFAULT_IMAGES}, --quick {QUICK_IMAGES})")
    parser.add_argument("--fit-n", type=positive_int, default=None, metavar="M",
                        help=f"part 1: of them, a seeded subset the classic fitter runs on "
                             f"(about 1 s each; default {DEFAULT_FIT}, --quick {QUICK_FIT})")
    parser.add_argument("--galaxies", type=positive_int, default=None, metavar="G",
                        help=f"part 2: mock galaxies ingested and inferred end to end "
                             f"(default {DEFAULT_GALAXIES:_}, --quick {QUICK_GALAXIES})")
    parser.add_argument("--quick", action="store_true",
                        help="a quick run with the --quick sizes above")
    add_backend_options(parser)
    return parser.parse_args(list(argv))


def sizes_from(args: argparse.Namespace) -> Sizes:
    """Sizes from the options; explicit sizes win over ``--quick``'s."""
    images, fit, galaxies = ((QUICK_IMAGES, QUICK_FIT, QUICK_GALAXIES) if args.quick
                             else (DEFAULT_IMAGES, DEFAULT_FIT, DEFAULT_GALAXIES))
    images = args.n or images
    return Sizes(images, min(args.fit_n or fit, images), args.galaxies or galaxies)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    sizes = sizes_from(args)
    header = machine_header()
    print(header, flush=True)
    import galcat.workers  # noqa: F401  (quiets TensorFlow's C++ log before Keras loads)
    from galcat.workers.galaxy.scan import open_galaxy_model, write_mock_galaxies

    notes = [header, f"seed {args.seed}; part 1 images: single-Sérsic mocks; part 2: the "
             "default mix of mock kinds (sersic, bulge+disk, irregular, point)",
             "timings on the CPU; each job timed once after a warm-up job on "
             f"{WARMUP_IMAGES} images, with the model already loaded and traced (a warm "
             "worker); shards of up to 2000 images, predicted 512 at a time"]
    pipelines: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="galcat-bench-galaxy-") as folder:
        tmp = Path(folder)
        print(f"writing {sizes.images} + {sizes.galaxies:_} mock FITS files ...", flush=True)
        sersic_files, sersic_truth = write_mock_galaxies(
            sizes.images, tmp / "sersic-mocks", args.seed, kind_fractions={"sersic": 1.0})
        galaxy_files, _ = write_mock_galaxies(sizes.galaxies, tmp / "galaxy-mocks",
                                              args.seed + 1)
        with temporary_sqlite(tmp) as lite, galcat_home(lite, tmp / "home-sqlite") as settings:
            notes.append(server_version(lite))
            models = {task: open_galaxy_model(settings, task, task).model for task in TASKS}
            notes.append(device_note())
            part1 = bench_emulator_vs_fitter(models["sersic"], sersic_files, sersic_truth,
                                             sizes.fit, args.seed)
            model_rates = model_only_rates(models, read_mock_files(galaxy_files)[0])
            pipelines["sqlite"] = bench_pipeline(lite, settings, galaxy_files)
        if not args.no_postgres:
            try:
                with temporary_postgres(args.postgres_url) as pg, \
                        galcat_home(pg, tmp / "home-postgresql") as settings:
                    notes.append(server_version(pg))
                    pipelines["postgresql"] = bench_pipeline(pg, settings, galaxy_files)
            except BackendUnavailable as exc:
                notes.append(f"PostgreSQL skipped: {exc}")
                print(f"PostgreSQL skipped: {exc}", flush=True)
    notes.append(f"at the end: {load_average()}")
    print()
    print(report(sizes, part1, model_rates, pipelines, notes).markdown())
    print()
    print(f"Fitter s/galaxy ÷ emulator s/galaxy = {part1['fitter_s_per_galaxy']:.4g} ÷ "
          f"{part1['emulator_s_per_galaxy']:.4g} = "
          f"{part1['fitter_s_per_galaxy'] / part1['emulator_s_per_galaxy']:,.0f}× "
          f"(fitter on {part1['n_fit']} images, emulator on {part1['n']})")
    print()
    print(accuracy_markdown(part1))
    return 0
