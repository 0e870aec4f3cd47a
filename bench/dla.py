"""DLA bench: dense against per-window inference, and the ``infer dla`` job end to end.

1. The shipped DLA model on N mock sightlines, on CPU, two ways: the dense form
   (``models.dla.dense.predict_dense``, one dilated fully-convolutional pass per
   sightline) and the per-window baseline (every one of the ``n_search`` windows of
   each sightline cut out and run through the window model in batches,
   ``models.dla.dense.predict_windows`` → ``predict_window_batches``). Sightlines/s of
   each, their ratio, and the largest absolute difference between the two outputs
   (they compute the same function, so it must stay below ``TOLERANCE``; if not, the
   bench exits 1).
2. ``infer dla`` from database rows to written ``dla_absorber`` and
   ``sightline_search`` rows: M mock BOSS spec files ingested into a fresh database
   (SQLite, and PostgreSQL when reachable), then ``workers.queue.local.run_locally``
   timed. Sightlines/s against the dense model-only rate of part 1 (same run).

Nothing asserts on a timing; every figure comes with a baseline from the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
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

DESCRIPTION = "DLA finder sightlines/s: dense vs per-window inference; infer dla end to end"
DEFAULT_SIGHTLINES = 200
DEFAULT_INFER_SIGHTLINES = 500
QUICK_SIGHTLINES = 20
QUICK_INFER_SIGHTLINES = 50
TOLERANCE = 1e-3
"""Largest absolute difference allowed between the dense and per-window outputs
(probability; offset in pixels; log N_HI in dex)."""
HEADS = ("probability", "offset", "log_nhi")
EPILOG = """\
Example: python -m bench dla --quick

examples:
  python -m bench dla                      # 200 sightlines dense vs per-window, 500 through infer
  python -m bench dla --quick              # 20 and 50
  nice -n 10 python -m bench dla --no-postgres --sightlines 100 --infer-sightlines 1000

Everything runs on CPU in this process with the shipped model (models/shipped/dla).
The per-window baseline is about an order of magnitude slower than the dense form,
so --sightlines sets the cost of part 1. PostgreSQL: a temporary database on
--postgres-url's server, dropped after.
"""


# --- part 1: dense against per-window -----------------------------------------------


@dataclass(frozen=True)
class InferenceFigures:
    """Seconds for the same sightlines each way, and the largest output differences."""

    n_sightlines: int
    n_windows: int
    dense_s: float
    window_s: float
    max_abs_diff: dict[str, float]

    @property
    def dense_rate(self) -> float:
        """Dense sightlines per second."""
        return self.n_sightlines / self.dense_s

    @property
    def window_rate(self) -> float:
        """Per-window sightlines per second."""
        return self.n_sightlines / self.window_s

    @property
    def agree(self) -> bool:
        return all(v <= TOLERANCE for v in self.max_abs_diff.values())


def load_shipped() -> tuple[Any, Any]:
    """The shipped DLA window model (hash-checked, Keras safe mode) and its NetworkConfig."""
    from galcat.catalog.settings import load_settings
    from galcat.workers.dla.scan import open_dla

    model, network, _ = open_dla(load_settings())
    return model, network


def mock_prepared(n: int, seed: int, window_pixels: int) -> Any:
    """``n`` seeded mock sightlines, prepared for the network (``PreparedSightlines``)."""
    from galcat.models.dla.mock import generate_mock_sightlines
    from galcat.models.dla.preprocess import prepare_mock

    return prepare_mock(generate_mock_sightlines(n, seed), window_pixels=window_pixels)


def bench_inference(model: Any, network: Any, n: int, seed: int, runs: int,
                    dense_batch: int, window_batch: int) -> InferenceFigures:
    """Dense (p50 of ``runs``) and per-window (one run) seconds on the same n sightlines."""
    from galcat.models.dla.dense import predict_dense, predict_windows

    warm = mock_prepared(2, seed + 1000, network.window_pixels)
    predict_dense(model, network, warm, dense_batch)
    predict_windows(model, network, warm, window_batch)
    prepared = mock_prepared(n, seed, network.window_pixels)
    print(f"[model] dense, {n:_} sightlines x {runs} runs ...", flush=True)
    first_s, dense = timed(lambda: predict_dense(model, network, prepared, dense_batch))
    samples = [first_s] + [timed(lambda: predict_dense(model, network, prepared, dense_batch))[0]
                           for _ in range(runs - 1)]
    print(f"[model] per-window, {n:_} sightlines x {prepared.n_search:_} windows ...",
          flush=True)
    window_s, windows = timed(lambda: predict_windows(model, network, prepared, window_batch))
    diffs = {head: float(np.max(np.abs(getattr(dense, head) - getattr(windows, head)),
                                initial=0.0)) for head in HEADS}
    return InferenceFigures(n, n * prepared.n_search, p50(samples), window_s, diffs)


# --- part 2: infer dla from database rows ---------------------------------------------


@dataclass(frozen=True)
class JobFigures:
    """One backend's ``infer dla`` run: seconds and what it wrote."""

    backend: str
    ingest_s: float
    model_load_s: float
    """Seconds to load the model into the worker cache; ~0 after the first backend."""
    infer_s: float
    state: str
    searched: int
    absorbers: int

    @property
    def rate(self) -> float:
        """Sightlines searched (``sightline_search`` rows) per second of the job."""
        return self.searched / self.infer_s


def bench_job(db: Database, spectra: Path, home: Path) -> JobFigures:
    """Ingest ``spectra`` into ``db``, register the shipped models, time ``infer dla``."""
    from galcat.catalog.ingest.spectra import ingest_spectra
    from galcat.catalog.registry import resolve
    from galcat.workers.handlers import HANDLERS
    from galcat.workers.model_io import load_model
    from galcat.workers.queue.local import run_locally
    from galcat.workers.queue.specs import InferDla

    label = db.dialect
    with galcat_home(db, home) as settings:
        print(f"[{label}] ingesting spectra ...", flush=True)
        ingest_s, summary = timed(lambda: ingest_spectra(db, [spectra]))
        if not summary.ok:
            raise RuntimeError(f"mock spectra did not all ingest: {summary.failed[:3]}")
        with db.new_session() as session:
            version = resolve(session, "dla")
        model_load_s, _ = timed(lambda: load_model(settings, version))
        print(f"[{label}] infer dla ...", flush=True)
        infer_s, handle = timed(lambda: run_locally(settings, InferDla(model="dla"), HANDLERS))
        status = handle.status()
        if status.state != "done":
            raise RuntimeError(f"infer dla ended {status.state}: {status.error}")
        return JobFigures(label, ingest_s, model_load_s, infer_s, status.state,
                          count_rows(db, "sightline_search"), count_rows(db, "dla_absorber"))


# --- the run ----------------------------------------------------------------------


def report(part1: InferenceFigures, jobs: list[JobFigures], n_infer: int,
           notes: list[str]) -> Report:
    out = Report(f"galcat DLA bench, {dt.date.today().isoformat()}", notes=notes)
    dense = f"dense {part1.dense_rate:,.1f} sightlines/s"
    out.add(f"dense inference, {part1.n_sightlines:_} sightlines", "CPU",
            f"{part1.dense_rate:,.1f} sightlines/s",
            f"per-window {part1.window_rate:,.2f} sightlines/s",
            part1.dense_rate / part1.window_rate)
    out.add(f"per-window inference, {part1.n_windows:_} windows", "CPU",
            f"{part1.window_rate:,.2f} sightlines/s "
            f"({part1.n_windows / part1.window_s:,.0f} windows/s)", dense,
            part1.window_rate / part1.dense_rate)
    for head in HEADS:
        out.add(f"max abs(dense − per-window), {head}", "CPU",
                f"{part1.max_abs_diff[head]:.3g}", f"tolerance {TOLERANCE:g}")
    if jobs:
        out.add("model load from the registry, once per worker process (not in infer)",
                jobs[0].backend, f"{jobs[0].model_load_s:.2f} s")
    for job in jobs:
        out.add(f"ingest {n_infer:_} spec files", job.backend,
                f"{n_infer / job.ingest_s:,.1f} sightlines/s ({job.ingest_s:.1f} s)")
        out.add(f"infer dla, rows to written absorbers ({job.searched:_} searched, "
                f"{job.absorbers:_} absorbers)", job.backend,
                f"{job.rate:,.1f} sightlines/s ({job.infer_s:.1f} s)", dense,
                job.rate / part1.dense_rate)
    return out


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench dla", description=DESCRIPTION[0].upper() + DESCRIPTION[1:] + ".",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sightlines", type=positive_int, metavar="N",
                        help=f"mock sightlines for dense vs per-window (default "
                             f"{DEFAULT_SIGHTLINES}, --quick {QUICK_SIGHTLINES})")
    parser.add_argument("--infer-sightlines", type=positive_int, metavar="M",
                        help=f"mock spec files through infer dla (default "
                             f"{DEFAULT_INFER_SIGHTLINES}, --quick {QUICK_INFER_SIGHTLINES})")
    parser.add_argument("--quick", action="store_true",
                        help=f"a quick run: {QUICK_SIGHTLINES} and {QUICK_INFER_SIGHTLINES} "
                             "sightlines unless given")
    parser.add_argument("--runs", type=positive_int, default=3,
                        help="timed dense runs, median reported (default 3; per-window runs once)")
    parser.add_argument("--dense-batch", type=positive_int, default=32, metavar="B",
                        help="sightlines per dense batch (default 32, as infer dla)")
    parser.add_argument("--window-batch", type=positive_int, default=1024, metavar="B",
                        help="windows per per-window batch (default 1024)")
    add_backend_options(parser)
    args = parser.parse_args(list(argv))
    if args.sightlines is None:
        args.sightlines = QUICK_SIGHTLINES if args.quick else DEFAULT_SIGHTLINES
    if args.infer_sightlines is None:
        args.infer_sightlines = QUICK_INFER_SIGHTLINES if args.quick else DEFAULT_INFER_SIGHTLINES
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    notes = [machine_note(), f"at the start: {load_average()}"]
    print(f"{notes[0]}; {notes[1]}", flush=True)
    import keras

    model, network = load_shipped()
    notes.append(f"Keras {keras.__version__} ({keras.backend.backend()} backend), shipped model "
                 f"dla, {network.window_pixels}-pixel windows; seed {args.seed}")
    part1 = bench_inference(model, network, args.sightlines, args.seed, args.runs,
                            args.dense_batch, args.window_batch)
    notes.append(f"dense: median of {args.runs} runs, batches of {args.dense_batch} sightlines; "
                 f"per-window: one run, batches of {args.window_batch} windows")
    jobs: list[JobFigures] = []
    with tempfile.TemporaryDirectory(prefix="galcat-bench-dla-") as folder:
        tmp = Path(folder)
        spectra = tmp / "spectra"
        print(f"[files] writing {args.infer_sightlines:_} mock spec files ...", flush=True)
        from galcat.workers.dla.mock_files import write_mock_spectra

        write_mock_spectra(args.infer_sightlines, spectra, args.seed, show_progress=False)
        if not args.no_postgres:
            try:
                with temporary_postgres(args.postgres_url) as pg:
                    notes.append(server_version(pg))
                    jobs.append(bench_job(pg, spectra, tmp / "home-postgresql"))
            except BackendUnavailable as exc:
                notes.append(f"PostgreSQL skipped: {exc}")
                print(f"PostgreSQL skipped: {exc}", flush=True)
        with temporary_sqlite(tmp) as lite:
            notes.append(server_version(lite))
            jobs.append(bench_job(lite, spectra, tmp / "home-sqlite"))
    notes.append("infer dla: workers.queue.local.run_locally in this process, model pre-loaded "
                 "(as in a warm worker); ratio is against the dense model-only rate above")
    print()
    print(report(part1, jobs, args.infer_sightlines, notes).markdown())
    print()
    worst = max(part1.max_abs_diff.values())
    if part1.agree:
        print(f"check: dense and per-window outputs agree (max abs difference {worst:.3g} "
              f"<= {TOLERANCE:g})")
        return 0
    print(f"check FAILED: dense and per-window outputs differ by up to {worst:.3g} "
          f"(> {TOLERANCE:g}): {part1.max_abs_diff}")
    return 1
