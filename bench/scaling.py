"""Scaling bench: the same sharded ingest and inference with 1 and 2 worker processes,
each held to one core, on PostgreSQL + Redis (the scale-out pair).

Each worker runs under ``taskset -c <core>`` with one math-library thread
(``OMP_NUM_THREADS``, TensorFlow's intra/inter-op threads), so the ratio measures the
platform, not BLAS threads. For each variant, in a fresh catalogue, two pipelines:

1. M mock BOSS spectra ingested as one ``--jobs`` ingest (shards of S files), then the
   shipped DLA finder over the M sightlines (shards of S);
2. K mock galaxy cutouts ingested the same way, then the shipped morphology network over
   the K images.

Before each inference a small warm-up job loads TensorFlow and the model in every
worker process. Reported: files/s and objects/s, 2 workers against 1 (the baseline, same
run), and the database's own CPU seconds per file and per object (the PostgreSQL
server's processes, read from /proc, exited backends included). One database core
saturates at 1 / (its CPU seconds per unit): the write rate at which adding workers
stops helping, however many worker hosts there are.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    BackendUnavailable,
    Report,
    load_average,
    machine_note,
    positive_int,
    server_version,
    temporary_postgres,
)
from bench.jobs import GALCAT, Home, Workers, galcat_home, shard_workers, wait_done
from galcat.catalog.db import Database

DESCRIPTION = "sharded ingest and DLA inference, 1 vs 2 workers each held to one core"
EPILOG = """\
Example: python -m bench scaling --quick
Figures: files/s and sightlines/s per variant, the 2-worker ratio, PostgreSQL CPU per unit.
"""
REDIS_URL = os.environ.get("GALCAT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ONE_THREAD = {"OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
              "TF_NUM_INTEROP_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "MKL_NUM_THREADS": "1"}
CLK_TCK = os.sysconf("SC_CLK_TCK")


class PinnedWorkers(Workers):
    """Workers of ``--concurrency 1``, the i-th held to core ``cores[i]`` with one thread."""

    def __init__(self, home: Home, cores: Sequence[int]) -> None:
        super().__init__(home)
        self.cores = list(cores)

    def _spawn(self, concurrency: int) -> tuple[subprocess.Popen[bytes], int, Path]:
        i = self._started
        self._started += 1
        core = self.cores[i % len(self.cores)]
        path = self.home.logs / f"worker-{i}.log"
        with open(path, "wb") as log:
            proc = subprocess.Popen(
                ["taskset", "-c", str(core), GALCAT, "worker", "--concurrency", "1",
                 "--name", f"scale{i}@%h"],
                env={**os.environ, **self.home.env, **ONE_THREAD}, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        return proc, concurrency, path


@dataclass(frozen=True)
class Variant:
    label: str
    cores: tuple[int, ...]


VARIANTS = (Variant("1 worker (core 0)", (0,)), Variant("2 workers (cores 0, 1)", (0, 1)))


def postgres_cpu_s(db: Database) -> float:
    """CPU seconds used so far by the PostgreSQL server behind ``db`` (postmaster, its
    live children, and the children it has reaped)."""
    with db.engine.connect() as connection:
        backend = int(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
    postmaster = _stat(backend)[1]
    fields, _ = _stat(postmaster)
    total = sum(fields[11:15])
    for child in _children(postmaster):
        total += sum(_stat(child)[0][11:13])
    return total / CLK_TCK


def _stat(pid: int) -> tuple[list[int], int]:
    """``/proc/pid/stat`` after the command name: the numeric fields from utime (index
    11 = utime, 12 = stime, 13 = cutime, 14 = cstime), and the parent pid."""
    text = Path(f"/proc/{pid}/stat").read_text()
    rest = text[text.rindex(")") + 2:].split()
    numbers = [int(x) if x.lstrip("-").isdigit() else 0 for x in rest]
    return numbers, numbers[1]


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if _stat(int(entry.name))[1] == parent:
                    found.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, ValueError):
                continue
    return found


SPIN = ("import time\nt = time.perf_counter()\nx = 0\n"
        "for i in range(20_000_000):\n    x += i * i\nprint(time.perf_counter() - t)")


def machine_ratio() -> float:
    """What this machine gives two pinned processes over one: a pure-Python loop on core
    0 alone, then on cores 0 and 1 at once (throughput ratio; 2.0 for two free cores)."""

    def spin(cores: Sequence[int]) -> list[float]:
        procs = [subprocess.Popen(["taskset", "-c", str(c), sys.executable, "-c", SPIN],
                                  stdout=subprocess.PIPE, text=True) for c in cores]
        return [float(p.communicate()[0]) for p in procs]

    one = spin([0])[0]
    two = max(spin([0, 1]))
    return 2 * one / two


def _submit(home: Home, spec: object) -> int:
    from galcat.workers.queue.jobs import submit

    return submit(spec, home.settings).id  # type: ignore[arg-type]


@dataclass(frozen=True)
class Pipeline:
    """Files of one kind ingested, then one model run over what they loaded."""

    name: str
    what: str
    unit: str
    infer_kind: str
    loaded_table: str
    result_sql: str


PIPELINES = (
    Pipeline("spectra → DLA finder", "spectra", "sightline", "dla", "spectrum",
             "SELECT count(DISTINCT sightline_id) FROM sightline_search"),
    Pipeline("images → morphology", "images", "image", "morphology", "image",
             "SELECT count(DISTINCT image_id) FROM morphology"),
)


def _infer_spec(pipeline: Pipeline, where: str | None, shard: int) -> object:
    from galcat.workers.queue.specs import InferDla, InferMorphology

    kind = InferDla if pipeline.infer_kind == "dla" else InferMorphology
    return kind(model=pipeline.infer_kind, where=where, shard_size=shard)


def _count(db: Database, sql: str) -> int:
    with db.engine.connect() as connection:
        return int(connection.exec_driver_sql(sql).scalar_one())


def run_pipeline(home: Home, workers: Workers, db: Database, pipeline: Pipeline,
                 files: Path, n: int, shard: int, processes: int) -> dict[str, float]:
    """Ingest then inference seconds, and PostgreSQL CPU seconds of each."""
    from galcat.workers.queue.specs import IngestFiles

    size0 = _count(db, "SELECT pg_database_size(current_database())")
    cpu0, start = postgres_cpu_s(db), time.monotonic()
    job = _submit(home, IngestFiles(what=pipeline.what, paths=(str(files),), shard_files=shard))
    ingest_s = wait_done(home, workers, job)[0] - start
    cpu1 = postgres_cpu_s(db)
    size1 = _count(db, "SELECT pg_database_size(current_database())")
    loaded = _count(db, f"SELECT count(*) FROM {pipeline.loaded_table}")
    if loaded != n:
        raise RuntimeError(f"{pipeline.name}: ingest loaded {loaded}, expected {n}")
    seen: set[str] = set()
    for _ in range(4):
        warm = _submit(home, _infer_spec(pipeline, "id <= 40", 10))
        wait_done(home, workers, warm)
        seen |= shard_workers(db, warm)
        if len(seen) >= processes:
            break
    cpu2, start = postgres_cpu_s(db), time.monotonic()
    job = _submit(home, _infer_spec(pipeline, None, shard))
    infer_s = wait_done(home, workers, job)[0] - start
    cpu3 = postgres_cpu_s(db)
    done = _count(db, pipeline.result_sql)
    if done != n:
        raise RuntimeError(f"{pipeline.name}: inference covered {done}, expected {n}")
    return {"ingest_s": ingest_s, "ingest_db_cpu_s": cpu1 - cpu0, "infer_s": infer_s,
            "infer_db_cpu_s": cpu3 - cpu2, "bytes_per_file": (size1 - size0) / n}


def run_variant(variant: Variant, inputs: dict[str, tuple[Path, int]], shard: int
                ) -> dict[str, dict[str, float]]:
    """Every pipeline's figures for ``variant``, in one fresh catalogue."""
    with temporary_postgres() as db, galcat_home("redis", db.url, REDIS_URL) as home:
        workers = PinnedWorkers(home, variant.cores)
        try:
            for _ in variant.cores:
                workers.start(1)
            workers.wait_ready()
            return {p.name: run_pipeline(home, workers, db, p, *inputs[p.name], shard,
                                         len(variant.cores)) for p in PIPELINES}
        finally:
            workers.stop()


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench scaling", description=DESCRIPTION,
                                     epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=positive_int, default=2000,
                        help="mock BOSS spectrum files (default 2000)")
    parser.add_argument("--shard", type=positive_int, default=100,
                        help="files or sightlines per shard (default 100)")
    parser.add_argument("--images", type=positive_int, default=1000,
                        help="mock galaxy cutouts (default 1000)")
    parser.add_argument("--quick", action="store_true",
                        help="300 spectra, 300 cutouts, shards of 50")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    if args.quick:
        args.files, args.images, args.shard = 300, 300, 50
    return args


def main(argv: Sequence[str]) -> int:
    from galcat.workers.dla.mock_files import write_mock_spectra
    from galcat.workers.galaxy.scan import write_mock_galaxies

    args = parse_args(argv)
    if (os.cpu_count() or 1) < 2:
        print("this bench needs two cores")
        return 1
    with tempfile.TemporaryDirectory(prefix="galcat-bench-scaling-") as tmp:
        spectra, images = Path(tmp) / "spectra", Path(tmp) / "images"
        print(f"writing {args.files} mock BOSS spectra and {args.images} mock cutouts ...",
              flush=True)
        write_mock_spectra(args.files, spectra, args.seed, show_progress=False)
        write_mock_galaxies(args.images, images, args.seed)
        inputs = {PIPELINES[0].name: (spectra, args.files),
                  PIPELINES[1].name: (images, args.images)}
        results: dict[str, dict[str, dict[str, float]]] = {}
        load = load_average()
        print("the machine's own ratio: a pure-Python loop on 1 and 2 pinned cores ...",
              flush=True)
        ceiling_before = machine_ratio()
        try:
            for variant in VARIANTS:
                print(f"[{variant.label}] ingest and inference ...", flush=True)
                results[variant.label] = run_variant(variant, inputs, args.shard)
            with temporary_postgres() as db:
                version = server_version(db)
            ceiling_after = machine_ratio()
        except BackendUnavailable as exc:
            print(f"PostgreSQL or Redis unavailable: {exc}")
            return 1
    report = Report("scaling")
    report.add("the machine: a pure-Python loop, 2 pinned processes vs 1 (before; after)",
               "-", f"{ceiling_before:.2f}×; {ceiling_after:.2f}×", "2.00× on two free cores")
    for pipeline in PIPELINES:
        n = inputs[pipeline.name][1]
        one = results[VARIANTS[0].label][pipeline.name]
        for key, what, unit in (("ingest_s", "ingest", "files"),
                                ("infer_s", "inference", f"{pipeline.unit}s")):
            for variant in VARIANTS:
                seconds = results[variant.label][pipeline.name][key]
                report.add(f"{pipeline.name}: {what}, {variant.label}", "postgresql",
                           f"{n / seconds:,.0f} {unit}/s",
                           f"{n / one[key]:,.0f} {unit}/s (1 worker)", one[key] / seconds)
        for key, what, unit in (("ingest_db_cpu_s", "ingest", "file"),
                                ("infer_db_cpu_s", "inference", pipeline.unit)):
            for variant in VARIANTS:
                cpu = results[variant.label][pipeline.name][key]
                report.add(f"{pipeline.name}: PostgreSQL CPU per {unit} ({what}), "
                           f"{variant.label}", "postgresql", f"{1e3 * cpu / n:.2f} ms",
                           f"one database core: {n / max(cpu, 1e-9):,.0f} {unit}s/s")
        size = results[VARIANTS[0].label][pipeline.name]["bytes_per_file"]
        report.add(f"{pipeline.name}: database growth per file ingested", "postgresql",
                   f"{size / 1024:,.1f} KiB")
    print()
    print(report.markdown())
    print()
    print(f"- {machine_note()}; load average before: {load}; {version}")
    print(f"- shards of {args.shard}; ratios against 1 worker, same run; each worker pinned "
          "with taskset to one core, one math-library thread; the PostgreSQL server, Redis "
          "and this process are not pinned and share the same two cores")
    return 0
