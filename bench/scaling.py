"""Scaling bench: the same sharded ingest and inference with 1 and 2 worker processes,
each held to one core, on PostgreSQL + Redis (the scale-out pair).

Each worker runs under ``taskset -c <core>`` with one math-library thread
(``OMP_NUM_THREADS``, TensorFlow's intra/inter-op threads), so the ratio measures the
platform, not BLAS threads. For each variant, in a fresh catalogue, two pipelines:

1. M mock BOSS spectra ingested as one ``--jobs`` ingest (shards of S files), then the
   shipped DLA finder over the M sightlines (shards of S);
2. K mock galaxy cutouts ingested the same way, then the shipped morphology network over
   the K images.

Before each inference a small warm-up job loads TensorFlow and the model in every worker
process. Both variants run ``--repeats`` times, alternating which goes first. A job's
time is read from its own row (submitted → done); the bench polls it every 0.05 s (not
every 0.01 s as the jobs bench does), so that it takes little CPU from the pinned
workers. Reported, as medians with their range: files/s and objects/s, 2 workers against
1 (the baseline, same repeat); the database's own CPU seconds per file and per object
(the PostgreSQL server's processes, read from /proc, exited backends included) and its
write-ahead log bytes per file; and the machine's cores busy, in iowait and stolen by
the host while each job ran (/proc/stat). One database core saturates at 1 / (its CPU
seconds per unit): the write rate at which adding workers stops helping, however many
worker hosts there are.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

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
from galcat.catalog.schema import Job

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
POLL_S = 0.05
"""How often the bench reads a job's state: rarely, so that the bench itself takes next
to no CPU from the pinned workers (the timings come from the job rows, not the polls)."""


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


def job_seconds(db: Database, job_id: int) -> float:
    """From the job's submission to its last shard's end, by the catalogue's own
    timestamps (so the bench's polling neither adds to it nor rounds it)."""
    with db.engine.connect() as connection:
        created, finished = connection.execute(
            sa.select(Job.created_at, Job.finished_at).where(Job.id == job_id)).one()
    if finished is None:
        raise RuntimeError(f"job {job_id} has no finish time")
    return float((finished - created).total_seconds())


def _count(db: Database, sql: str) -> int:
    with db.engine.connect() as connection:
        return int(connection.exec_driver_sql(sql).scalar_one())


def machine_cpu_s() -> dict[str, float]:
    """CPU seconds this machine has spent so far, all cores: working (user, nice, system,
    irq, softirq), idle, waiting on the disk (iowait), and taken by the host (steal)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    return {"busy": (user + nice + system + irq + softirq) / CLK_TCK, "idle": idle / CLK_TCK,
            "iowait": iowait / CLK_TCK, "steal": steal / CLK_TCK}


def workers_cpu_s(workers: Workers) -> float:
    """CPU seconds used so far by the worker processes (every process in the workers'
    process groups: supervisors and their job processes)."""
    groups = {proc.pid for proc, _, _ in workers.procs}
    total = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields, _ = _stat(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, ValueError):
                continue
            if fields[2] in groups:
                total += fields[11] + fields[12]
    return total / CLK_TCK


def wal_bytes(db: Database) -> int:
    """The PostgreSQL server's write-ahead log position, in bytes."""
    return _count(db, "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")


def timed_job(home: Home, workers: Workers, db: Database, spec: object, prefix: str
              ) -> dict[str, float]:
    """Run one job to the end: its seconds (from its row), the PostgreSQL CPU and WAL
    bytes it cost, and the machine's cores busy, idle, in iowait and stolen meanwhile
    (CPU seconds over wall seconds, polled every ``POLL_S``)."""
    cpu0, wal0, machine0 = postgres_cpu_s(db), wal_bytes(db), machine_cpu_s()
    worker0 = workers_cpu_s(workers)
    start = time.monotonic()
    job = _submit(home, spec)
    wait_done(home, workers, job, poll_s=POLL_S)
    wall = time.monotonic() - start
    machine1 = machine_cpu_s()
    worker_cpu = workers_cpu_s(workers) - worker0
    figures = {f"{prefix}_s": job_seconds(db, job),
               f"{prefix}_db_cpu_s": postgres_cpu_s(db) - cpu0,
               f"{prefix}_wal_bytes": float(wal_bytes(db) - wal0),
               f"{prefix}_cores_workers": worker_cpu / wall}
    figures |= {f"{prefix}_cores_{k}": (machine1[k] - machine0[k]) / wall for k in machine0}
    return figures


WARM_FILES = 20
"""Files of each kind ingested (shards of 2) before the timed ingest, so that every
worker process has imported and run the ingest code once: a worker's first shard takes
several times as long as the next (imports, first database round trips)."""


def run_pipeline(home: Home, workers: Workers, db: Database, pipeline: Pipeline,
                 files: Path, n: int, shard: int, processes: int) -> dict[str, float]:
    """Ingest then inference: seconds, PostgreSQL CPU and WAL, and the machine's cores."""
    from galcat.workers.queue.specs import IngestFiles

    warm_files = files.with_name(files.name + "-warm-up")
    warm = _submit(home, IngestFiles(what=pipeline.what, paths=(str(warm_files),),
                                     shard_files=2))
    wait_done(home, workers, warm, poll_s=POLL_S)
    if len(shard_workers(db, warm)) < processes:
        print("  warning: not every worker process ran an ingest warm-up shard", flush=True)
    size0 = _count(db, "SELECT pg_database_size(current_database())")
    figures = timed_job(home, workers, db, IngestFiles(
        what=pipeline.what, paths=(str(files),), shard_files=shard), "ingest")
    size1 = _count(db, "SELECT pg_database_size(current_database())")
    loaded = _count(db, f"SELECT count(*) FROM {pipeline.loaded_table}")
    if loaded != n + WARM_FILES:
        raise RuntimeError(f"{pipeline.name}: ingest loaded {loaded - WARM_FILES}, "
                           f"expected {n}")
    seen: set[str] = set()
    for _ in range(4):
        warm = _submit(home, _infer_spec(pipeline, "id <= 40", 10))
        wait_done(home, workers, warm, poll_s=POLL_S)
        seen |= shard_workers(db, warm)
        if len(seen) >= processes:
            break
    figures |= timed_job(home, workers, db, _infer_spec(pipeline, None, shard), "infer")
    done = _count(db, pipeline.result_sql)
    if done != n + WARM_FILES:
        raise RuntimeError(f"{pipeline.name}: inference covered {done}, expected "
                           f"{n + WARM_FILES}")
    return figures | {"bytes_per_file": (size1 - size0) / n}


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
    parser.add_argument("--repeats", type=positive_int, default=3,
                        help="runs of both variants, alternating which goes first; the "
                        "report gives each ratio's median and range (default 3)")
    parser.add_argument("--quick", action="store_true",
                        help="300 spectra, 300 cutouts, shards of 50, one repeat")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    if args.quick:
        args.files, args.images, args.shard, args.repeats = 300, 300, 50, 1
    return args


Runs = list[dict[str, dict[str, dict[str, float]]]]
"""Per repeat: variant label → pipeline name → figures."""


def _spread(values: Sequence[float], fmt: str) -> str:
    """The median of ``values`` with their range, e.g. ``1.83× (1.75–1.90)``."""
    middle = fmt.format(statistics.median(values))
    if len(values) == 1:
        return middle
    return f"{middle} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def report(runs: Runs, inputs: dict[str, tuple[Path, int]], machine: list[float]) -> Report:
    """Rates and ratios as medians over the repeats (ranges beside them)."""
    out = Report("scaling")
    out.add("the machine: a pure-Python loop, 2 pinned processes vs 1 (each check)", "-",
            "; ".join(f"{r:.2f}×" for r in machine), "2.00× on two free cores")
    one, two = (v.label for v in VARIANTS)
    for pipeline in PIPELINES:
        n = inputs[pipeline.name][1]
        counted = {"ingest": n, "infer": n + WARM_FILES}
        for key, what, unit in (("ingest_s", "ingest", "files"),
                                ("infer_s", "inference", f"{pipeline.unit}s")):
            rates = {v.label: [counted[key.split("_")[0]] / run[v.label][pipeline.name][key]
                               for run in runs]
                     for v in VARIANTS}
            ratios = [run[one][pipeline.name][key] / run[two][pipeline.name][key]
                      for run in runs]
            out.add(f"{pipeline.name}: {what}, {two} vs {one}", "postgresql",
                    f"{_spread(rates[two], '{:,.0f}')} {unit}/s",
                    f"{_spread(rates[one], '{:,.0f}')} {unit}/s",
                    statistics.median(ratios))
            out.add(f"{pipeline.name}: {what}, the ratio in each repeat", "postgresql",
                    "; ".join(f"{r:.2f}×" for r in ratios))
        for key, what, unit in (("ingest_db_cpu_s", "ingest", "file"),
                                ("infer_db_cpu_s", "inference", pipeline.unit)):
            per_unit = [1e3 * run[v.label][pipeline.name][key] / counted[key.split("_")[0]]
                        for run in runs for v in VARIANTS]
            out.add(f"{pipeline.name}: PostgreSQL CPU per {unit} ({what}), every run",
                    "postgresql", f"{_spread(per_unit, '{:.2f}')} ms",
                    f"one database core: {1e3 / statistics.median(per_unit):,.0f} {unit}s/s")
        for what in ("ingest", "infer"):
            for v in VARIANTS:
                cores = {k: statistics.median(run[v.label][pipeline.name][f"{what}_cores_{k}"]
                                              for run in runs)
                         for k in ("busy", "workers", "iowait", "steal")}
                out.add(f"{pipeline.name}: the machine's cores while {what} ran, {v.label}",
                        "-", f"{cores['busy']:.2f} busy ({cores['workers']:.2f} the workers), "
                        f"{cores['iowait']:.2f} iowait, {cores['steal']:.2f} stolen", "of 2")
        wal = [run[v.label][pipeline.name]["ingest_wal_bytes"] / n for run in runs
               for v in VARIANTS]
        out.add(f"{pipeline.name}: write-ahead log per file ingested", "postgresql",
                f"{_spread([w / 1024 for w in wal], '{:,.1f}')} KiB")
        size = statistics.median(run[one][pipeline.name]["bytes_per_file"] for run in runs)
        out.add(f"{pipeline.name}: database growth per file ingested", "postgresql",
                f"{size / 1024:,.1f} KiB")
    return out


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
        write_mock_spectra(WARM_FILES, Path(tmp) / "spectra-warm-up", args.seed + 1,
                           show_progress=False)
        write_mock_galaxies(WARM_FILES, Path(tmp) / "images-warm-up", args.seed + 1)
        inputs = {PIPELINES[0].name: (spectra, args.files),
                  PIPELINES[1].name: (images, args.images)}
        runs: Runs = []
        load = load_average()
        machine = []
        try:
            for repeat in range(args.repeats):
                print("the machine's own ratio: a pure-Python loop on 1 and 2 pinned cores",
                      flush=True)
                machine.append(machine_ratio())
                order = VARIANTS if repeat % 2 == 0 else VARIANTS[::-1]
                runs.append({})
                for variant in order:
                    print(f"[repeat {repeat + 1}/{args.repeats}, {variant.label}] ingest and "
                          "inference ...", flush=True)
                    runs[-1][variant.label] = run_variant(variant, inputs, args.shard)
            machine.append(machine_ratio())
            with temporary_postgres() as db:
                version = server_version(db)
        except BackendUnavailable as exc:
            print(f"PostgreSQL or Redis unavailable: {exc}")
            return 1
    print()
    print(report(runs, inputs, machine).markdown())
    print()
    print(f"- {machine_note()}; load average before: {load}; {version}")
    print(f"- {args.repeats} repeats of both variants (the first variant alternating), "
          f"medians with (min–max); shards of {args.shard}; each worker pinned with taskset "
          "to one core, one math-library thread; the PostgreSQL server, Redis and this "
          "process are not pinned and share the same two cores; job times from the job "
          "rows (submitted → last shard done)")
    return 0
