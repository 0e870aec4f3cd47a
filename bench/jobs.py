"""Jobs bench: broker round-trip latency and throughput, and sharded inference scaling.

1. No-op jobs through a real ``galcat worker --concurrency 2`` on the SQLite catalogue,
   one broker at a time: Redis, the embedded default (kombu's SQLAlchemy transport on
   a SQLite file, polled every 50 ms) and kombu's filesystem transport (``filesystem://``,
   folders under GALCAT_HOME/broker, polled every 50 ms); plus Redis with PostgreSQL.
   Round trip: submit → the job row reads ``done`` (polled every 10 ms), p50 and p90
   over sequential jobs. Burst: N job rows committed at once and rung in one go,
   jobs/s until the last is done. Baseline: Redis + SQLite.
2. Sharded inference of the toy regressor over G galaxies (shards of 2,000) on the
   embedded broker + SQLite, with warmed workers: objects/s from submit to the
   parent job done, for 1 worker process vs 2 (two ``--concurrency 1`` workers, and
   one ``--concurrency 2`` worker). Baseline: 1 worker process.

Every figure is printed with its ratio to a baseline measured in the same run;
nothing asserts on a timing (correctness checks only: each job done exactly once).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from bench.common import (
    POSTGRES_ADMIN_URL,
    BackendUnavailable,
    Report,
    latency,
    machine_note,
    p50,
    temporary_postgres,
)
from bench.fixtures.toy_jobs import (
    TOY_PREDICTION,
    TOY_WORKER_ENV,
    InferToy,
    Noop,
    add_toy_galaxies,
    create_toy_tables,
    drop_toy_tables,
)
from galcat.catalog.db import Database, forget_databases, get_database
from galcat.catalog.schema import Job
from galcat.catalog.schema.base import utcnow
from galcat.catalog.settings import Settings, load_settings
from galcat.workers.queue.jobs import submit

DESCRIPTION = "job round trip and burst throughput per broker; sharded inference 1 vs 2 workers"
GALCAT = str(Path(sys.executable).with_name("galcat"))
REDIS_URL = os.environ.get("GALCAT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
POLL_S = 0.01
JOB_TIMEOUT_S = 600.0
#: A job still ``queued`` this long after its doorbell rang is counted as stranded and
#: its message sent again by the bench (the reaper would only after 10 × stale_after_s).
STRANDED_AFTER_S = 5.0
READY_TIMEOUT_S = 180.0

EPILOG = """\
examples:
  python -m bench jobs                     # 100 round trips, bursts of 500, 20_000 galaxies
  python -m bench jobs --quick             # 50 round trips, bursts of 200, 10_000 galaxies
  nice -n 5 python -m bench jobs --no-postgres --no-inference

Workers are real `galcat worker` processes started with GALCAT_HOME, GALCAT_DATABASE_URL
and GALCAT_BROKER_URL pointing at a temporary home. Redis: --redis-url (database 14 by
default, flushed first). PostgreSQL: a temporary database on --postgres-url's server
(default $GALCAT_TEST_POSTGRES_URL or the local 'test' database), dropped afterwards.
"""


@dataclass(frozen=True)
class Sizes:
    roundtrips: int
    burst: int
    galaxies: int
    shard_size: int
    repeats: int


# --- environment and workers ------------------------------------------------------


@dataclass
class Home:
    """A temporary galcat home: the environment workers get, and settings for this process."""

    env: dict[str, str]
    settings: Settings
    db: Database
    logs: Path


def _broker_url(kind: str, home: Path, redis_url: str) -> str:
    if kind == "redis":
        return redis_url
    if kind == "embedded":
        return f"sqla+sqlite:///{home / 'broker.sqlite'}"
    if kind == "filesystem":
        return "filesystem://"
    raise ValueError(f"unknown broker {kind!r}")


@contextmanager
def galcat_home(broker: str, database_url: str | None, redis_url: str) -> Iterator[Home]:
    """A fresh GALCAT_HOME with ``galcat init`` run; the SQLite catalogue inside it
    unless ``database_url`` (an already migrated database) is given."""
    with tempfile.TemporaryDirectory(prefix="galcat-bench-jobs-") as tmp:
        home = Path(tmp) / "home"
        logs = Path(tmp) / "logs"
        logs.mkdir()
        if broker == "redis":
            flush_redis(redis_url)
        env = {"GALCAT_HOME": str(home),
               "GALCAT_DATABASE_URL": database_url or f"sqlite:///{home / 'galcat.sqlite'}",
               "GALCAT_BROKER_URL": _broker_url(broker, home, redis_url),
               "TF_CPP_MIN_LOG_LEVEL": "2", **TOY_WORKER_ENV}
        home.mkdir()
        subprocess.run([GALCAT, "init"], env={**os.environ, **env}, check=True,
                       stdout=subprocess.DEVNULL)
        settings = load_settings(env)
        try:
            yield Home(env, settings, get_database(settings), logs)
        finally:
            drop_toy_tables(get_database(settings))
            from galcat.workers.queue.app import celery_app

            celery_app(settings).close()
            forget_databases()


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError as exc:
        raise BackendUnavailable(f"Redis not reachable at {url}: {exc}") from exc
    finally:
        client.close()


class Workers:
    """Real ``galcat worker`` processes, each in its own process group.

    A worker that dies is restarted (and counted, with its last log line) rather than
    ending the bench: how often a broker kills its consumer is one of the figures.
    """

    def __init__(self, home: Home, max_crashes: int = 20) -> None:
        self.home = home
        self.max_crashes = max_crashes
        self.procs: list[tuple[subprocess.Popen[bytes], int, Path]] = []
        self.crashes: list[str] = []
        self._started = 0

    def start(self, concurrency: int) -> None:
        self.procs.append(self._spawn(concurrency))

    def _spawn(self, concurrency: int) -> tuple[subprocess.Popen[bytes], int, Path]:
        i = self._started
        self._started += 1
        path = self.home.logs / f"worker-{i}.log"
        with open(path, "wb") as log:
            proc = subprocess.Popen(
                [GALCAT, "worker", "--concurrency", str(concurrency), "--name", f"bench{i}@%h"],
                env={**os.environ, **self.home.env}, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        return proc, concurrency, path

    def wait_ready(self) -> None:
        """Block until every worker has logged that it is ready (consuming)."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        for _, _, path in list(self.procs):
            while " ready." not in path.read_text(errors="replace"):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"worker not ready after {READY_TIMEOUT_S:.0f} s:\n"
                                       + log_tail(path))
                time.sleep(0.1)

    def check_alive(self) -> None:
        """Restart any worker that exited; give up after ``max_crashes``."""
        for index, (proc, concurrency, path) in enumerate(self.procs):
            if proc.poll() is None:
                continue
            last = log_tail(path, 1).strip()
            self.crashes.append(last)
            print(f"  worker exited with {proc.returncode} ({last}): restarting", flush=True)
            if len(self.crashes) > self.max_crashes:
                raise RuntimeError(f"workers exited {len(self.crashes)} times; last log:\n"
                                   + log_tail(path))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # pool children left behind, if any
            self.procs[index] = self._spawn(concurrency)
        self.wait_ready()

    def stop(self) -> None:
        for proc, _, _ in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc, _, _ in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        self.procs.clear()


def log_tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def running_workers(home: Home, concurrencies: Sequence[int]) -> Iterator[Workers]:
    workers = Workers(home)
    try:
        for concurrency in concurrencies:
            workers.start(concurrency)
        workers.wait_ready()
        yield workers
    finally:
        workers.stop()


# --- jobs -------------------------------------------------------------------------


def job_state(db: Database, job_id: int) -> str:
    with db.engine.connect() as conn:
        return str(conn.execute(sa.select(Job.state).where(Job.id == job_id)).scalar_one())


def wait_done(home: Home, workers: Workers, job_id: int, poll_s: float = POLL_S
              ) -> tuple[float, bool]:
    """Poll the job row until it is final: the monotonic time it was first seen ``done``,
    and whether it was stranded (still queued after ``STRANDED_AFTER_S``, so sent again)."""
    start = checked = time.monotonic()
    stranded = False
    while True:
        state = job_state(home.db, job_id)
        now = time.monotonic()
        if state == "done":
            return now, stranded
        if state in ("failed", "cancelled"):
            raise RuntimeError(f"job {job_id} {state}: {home_error(home, job_id)}")
        if now > start + JOB_TIMEOUT_S:
            raise TimeoutError(f"job {job_id} still {state} after {JOB_TIMEOUT_S:.0f} s")
        if state == "queued" and not stranded and now - start > STRANDED_AFTER_S:
            print(f"  job {job_id} still queued after {STRANDED_AFTER_S:.0f} s: sending its "
                  "message again", flush=True)
            resend(home, [(job_id, job_queue(home.db, job_id))])
            stranded = True
        if now - checked > 1.0:
            workers.check_alive()
            checked = now
        time.sleep(poll_s)


def resend(home: Home, jobs: list[tuple[int, str]]) -> None:
    """Send ``run_job`` messages again without touching the job rows (``ring`` would
    also update them, which is what can strand a job on PostgreSQL in the first place:
    a worker's ``FOR UPDATE SKIP LOCKED`` claim skips a row that update holds)."""
    from galcat.workers.queue.doorbell import send

    send(home.settings, home.db, jobs)


def job_queue(db: Database, job_id: int) -> str:
    with db.engine.connect() as conn:
        return str(conn.execute(sa.select(Job.queue).where(Job.id == job_id)).scalar_one())


def home_error(home: Home, job_id: int) -> str:
    with home.db.new_session() as session:
        job = session.get(Job, job_id)
        return f"{job.error if job else 'no such job'}"


def submit_noop(home: Home) -> int:

    return submit(Noop(), home.settings).id


def roundtrips(home: Home, workers: Workers, n: int, warmup: int = 5
               ) -> tuple[list[float], list[float], int]:
    """For ``n`` sequential jobs: seconds from ``submit`` to the row reading ``done``
    (stranded jobs left out), seconds the ``submit`` call took (row committed, message
    sent), and how many jobs were stranded."""
    for _ in range(warmup):
        wait_done(home, workers, submit_noop(home))
    samples, submits, stranded = [], [], 0
    for _ in range(n):
        start = time.monotonic()
        job_id = submit_noop(home)
        submits.append(time.monotonic() - start)
        done, lost = wait_done(home, workers, job_id)
        if lost:
            stranded += 1
        else:
            samples.append(done - start)
    return samples, submits, stranded


def burst(home: Home, workers: Workers, n: int) -> tuple[float, int]:
    """Seconds from committing ``n`` queued no-op rows (one transaction, one ring) to
    the last of them done, and how many were stranded (queued with no progress for
    ``STRANDED_AFTER_S``, then rung again); checks each ran exactly once."""
    from galcat.workers.queue.doorbell import ring

    start = time.monotonic()
    with home.db.session() as session:
        jobs = [Job(kind="noop", queue="cpu", state="queued", parameters={},
                    max_attempts=3, created_at=utcnow()) for _ in range(n)]
        session.add_all(jobs)
        session.flush()
        ids = [int(job.id) for job in jobs]
    ring(home.settings, home.db, [(job_id, "cpu") for job_id in ids])
    deadline = start + JOB_TIMEOUT_S
    checked = progressed = start
    last_done, stranded = -1, 0
    query = sa.select(sa.func.count()).where(Job.id.in_(ids), Job.state == "done")
    while True:
        with home.db.engine.connect() as conn:
            done = int(conn.execute(query).scalar_one())
        now = time.monotonic()
        if done == n:
            break
        if done != last_done:
            last_done, progressed = done, now
        if now > deadline:
            raise TimeoutError(f"burst: {done} of {n} jobs done after {JOB_TIMEOUT_S:.0f} s")
        if now - progressed > STRANDED_AFTER_S:
            with home.db.engine.connect() as conn:
                queued = conn.execute(sa.select(Job.id).where(
                    Job.id.in_(ids), Job.state == "queued")).scalars().all()
            print(f"  burst: {len(queued)} jobs still queued with no progress for "
                  f"{STRANDED_AFTER_S:.0f} s: sending their messages again", flush=True)
            resend(home, [(job_id, "cpu") for job_id in queued])
            stranded += len(queued)
            progressed = now
        if now - checked > 1.0:
            workers.check_alive()
            checked = now
        time.sleep(POLL_S)
    seconds = now - start
    with home.db.engine.connect() as conn:
        attempts = conn.execute(sa.select(Job.attempts).where(Job.id.in_(ids))).scalars().all()
    if sorted(set(attempts)) != [1] and not workers.crashes:
        raise RuntimeError(f"burst: attempts per job {sorted(set(attempts))}, expected [1]")
    return seconds, stranded


def percentile(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples), q))


def bench_broker(label: str, broker: str, database_url: str | None, sizes: Sizes,
                 redis_url: str, figures: dict[str, float], notes: list[str]) -> None:
    print(f"[{label}] starting a worker (concurrency 2) ...", flush=True)
    with galcat_home(broker, database_url, redis_url) as home, \
            running_workers(home, [2]) as workers:
        print(f"[{label}] {sizes.roundtrips} sequential no-op round trips ...", flush=True)
        samples, submits, stranded = roundtrips(home, workers, sizes.roundtrips)
        figures[f"{label}:p50"] = p50(samples)
        figures[f"{label}:submit"] = p50(submits)
        figures[f"{label}:p90"] = percentile(samples, 90)
        figures[f"{label}:stranded"] = stranded
        print(f"[{label}] burst of {sizes.burst} no-op jobs ...", flush=True)
        figures[f"{label}:burst"], figures[f"{label}:burst_stranded"] = burst(
            home, workers, sizes.burst)
        figures[f"{label}:not_claimed"] = not_claimed(home)
        figures[f"{label}:crashes"] = len(workers.crashes)
        notes.extend(f"{label}: a worker exited and was restarted; its last log line: `{line}`"
                     for line in workers.crashes)


def not_claimed(home: Home) -> int:
    """Deliveries the workers acknowledged without running the job ('not claimed')."""
    return sum(path.read_text(errors="replace").count("'not claimed'")
               for path in home.logs.glob("worker-*.log"))


# --- sharded inference ------------------------------------------------------------


def register_toy(home: Home, tmp: Path) -> None:
    """Train a tiny toy regressor in this process and register it as ``toy``."""
    from bench.fixtures import toy_regressor
    from galcat.catalog.registry import register
    from galcat.workers.model_io import save_model

    config = toy_regressor.ToyConfig(epochs=2, n_train=500)
    model, metrics = toy_regressor.train(config, seed=1)
    weights = save_model(model, tmp)
    create_toy_tables(home.db)
    with home.db.session() as session:
        register(session, home.settings.artifacts_dir, "toy", "toy", weights,
                 toy_regressor.hyperparameters(config), None, metrics)


def submit_infer(home: Home, shard_size: int, where: str | None = None) -> int:

    return submit(InferToy(model="toy@latest", where=where, shard_size=shard_size),
                  home.settings).id


def clear_predictions(db: Database) -> None:
    with db.session() as session:
        session.execute(sa.delete(TOY_PREDICTION))


def shard_workers(db: Database, parent_id: int) -> set[str]:
    with db.engine.connect() as conn:
        names = conn.execute(sa.select(Job.worker).where(Job.parent_id == parent_id)).scalars()
        return {name for name in names if name}


def warm_up(home: Home, workers: Workers, processes: int) -> None:
    """Small inference jobs until every worker process has run a shard (TensorFlow
    imported, model loaded)."""
    seen: set[str] = set()
    for _ in range(5):
        job_id = submit_infer(home, shard_size=20, where="id <= 200")
        wait_done(home, workers, job_id, poll_s=0.05)
        seen |= shard_workers(home.db, job_id)
        if len(seen) >= processes:
            return
    print(f"  warning: only {len(seen)} of {processes} worker processes ran a warm-up shard",
          flush=True)


def time_inference(home: Home, workers: Workers, n: int, shard_size: int) -> float:
    """Seconds from submit to the parent job done, predictions checked afterwards."""
    clear_predictions(home.db)
    start = time.monotonic()
    job_id = submit_infer(home, shard_size)
    seconds = wait_done(home, workers, job_id)[0] - start
    with home.db.engine.connect() as conn:
        written = conn.execute(sa.select(sa.func.count()).select_from(TOY_PREDICTION)
                               ).scalar_one()
    if written != n:
        raise RuntimeError(f"inference wrote {written} predictions, expected {n}")
    return seconds


INFERENCE_VARIANTS: dict[str, tuple[int, ...]] = {
    "1 worker × concurrency 1": (1,),
    "2 workers × concurrency 1": (1, 1),
    "1 worker × concurrency 2": (2,),
}


def bench_inference(sizes: Sizes, redis_url: str, figures: dict[str, float]) -> None:
    with galcat_home("embedded", None, redis_url) as home:
        print(f"[inference] {sizes.galaxies:_} galaxies, training the toy model ...",
              flush=True)
        add_toy_galaxies(home.db, sizes.galaxies, survey="bench")
        register_toy(home, home.logs)
        for name, concurrencies in INFERENCE_VARIANTS.items():
            processes = sum(concurrencies)
            print(f"[inference] {name}: starting and warming up ...", flush=True)
            with running_workers(home, concurrencies) as workers:
                warm_up(home, workers, processes)
                runs = []
                for i in range(sizes.repeats):
                    seconds = time_inference(home, workers, sizes.galaxies, sizes.shard_size)
                    print(f"[inference] {name}: run {i + 1}: {seconds:.2f} s", flush=True)
                    runs.append(seconds)
            figures[f"infer:{name}"] = p50(runs)


# --- the run ----------------------------------------------------------------------


BROKERS: list[tuple[str, str, str]] = [
    # (label, broker, database)
    ("Redis + SQLite", "redis", "sqlite"),
    ("embedded SQLAlchemy/SQLite + SQLite", "embedded", "sqlite"),
    ("filesystem + SQLite", "filesystem", "sqlite"),
    ("Redis + PostgreSQL", "redis", "postgresql"),
]
BASELINE = "Redis + SQLite"


def report(figures: dict[str, float], sizes: Sizes, notes: list[str]) -> Report:
    out = Report(f"galcat jobs bench, {dt.date.today().isoformat()}", notes=notes)
    labels = [label for label, _, _ in BROKERS if f"{label}:p50" in figures]
    base = BASELINE if f"{BASELINE}:p50" in figures else None
    for measure, key in (("no-op round trip p50", "p50"), ("no-op round trip p90", "p90"),
                         ("submit() call p50, within the round trip", "submit")):
        for label in labels:
            value = figures[f"{label}:{key}"]
            ref = figures[f"{base}:{key}"] if base else None
            out.add(f"{measure} ({sizes.roundtrips} jobs)", label, latency(value),
                    f"Redis + SQLite {latency(ref)}" if ref else "",
                    ref / value if ref else None)
    for label in labels:
        stranded = int(figures[f"{label}:stranded"])
        burst_stranded = int(figures[f"{label}:burst_stranded"])
        out.add("jobs stranded queued > 5 s (sent again by the bench); 'not claimed' "
                "deliveries; worker crashes", label,
                f"{stranded}/{sizes.roundtrips} round trips, {burst_stranded}/{sizes.burst} "
                f"burst; {int(figures[f'{label}:not_claimed'])} not claimed; "
                f"{int(figures[f'{label}:crashes'])} crashes")
    for label in labels:
        value = sizes.burst / figures[f"{label}:burst"]
        ref = sizes.burst / figures[f"{base}:burst"] if base else None
        out.add(f"burst of {sizes.burst} no-op jobs, 1 worker × 2", label,
                f"{value:,.1f} jobs/s", f"Redis + SQLite {ref:,.1f} jobs/s" if ref else "",
                value / ref if ref else None)
    one = figures.get(f"infer:{next(iter(INFERENCE_VARIANTS))}")
    for name in INFERENCE_VARIANTS:
        seconds = figures.get(f"infer:{name}")
        if seconds is None or one is None:
            continue
        rate, ref = sizes.galaxies / seconds, sizes.galaxies / one
        out.add(f"toy inference {sizes.galaxies:_} galaxies / {sizes.shard_size:_} per shard, "
                f"{name}", "embedded + SQLite", f"{rate:,.0f} objects/s ({seconds:.2f} s)",
                f"1 process {ref:,.0f} objects/s", rate / ref)
    return out


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench jobs",
        description=DESCRIPTION[0].upper() + DESCRIPTION[1:] + ".",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="50 round trips, bursts of 200, 10_000 galaxies, 1 inference run")
    parser.add_argument("--roundtrips", type=int, default=None, metavar="N",
                        help="sequential no-op jobs per broker (default 100, at least 50)")
    parser.add_argument("--burst", type=int, default=None, metavar="N",
                        help="no-op jobs submitted at once (default 500, at least 200)")
    parser.add_argument("--galaxies", type=int, default=None, metavar="G",
                        help="galaxies for the inference bench (default 20_000)")
    parser.add_argument("--shard-size", type=int, default=2000, metavar="S",
                        help="objects per inference shard (default 2_000)")
    parser.add_argument("--repeats", type=int, default=None, metavar="R",
                        help="timed inference runs per variant, p50 reported (default 3)")
    parser.add_argument("--redis-url", default=REDIS_URL, metavar="URL",
                        help="Redis database to flush and use (default %(default)s)")
    parser.add_argument("--postgres-url", default=POSTGRES_ADMIN_URL, metavar="URL",
                        help="server for the temporary PostgreSQL database "
                             "(default %(default)s)")
    parser.add_argument("--no-postgres", action="store_true", help="skip Redis + PostgreSQL")
    parser.add_argument("--no-inference", action="store_true",
                        help="skip the sharded inference bench")
    args = parser.parse_args(list(argv))
    args.sizes = Sizes(
        roundtrips=args.roundtrips or (50 if args.quick else 100),
        burst=args.burst or (200 if args.quick else 500),
        galaxies=args.galaxies or (10_000 if args.quick else 20_000),
        shard_size=args.shard_size,
        repeats=args.repeats or (1 if args.quick else 3),
    )
    if args.sizes.roundtrips < 50 or args.sizes.burst < 200:
        parser.error("--roundtrips must be at least 50 and --burst at least 200")
    if min(args.sizes.galaxies, args.sizes.shard_size, args.sizes.repeats) < 1:
        parser.error("--galaxies, --shard-size and --repeats must be positive")
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    sizes: Sizes = args.sizes
    figures: dict[str, float] = {}
    notes = [machine_note(),
             "brokers: real `galcat worker --concurrency 2` (two single-job processes) on the "
             "SQLite catalogue unless stated; embedded and filesystem transports poll every "
             "50 ms",
             "round trip: submit → job row `done`, polled every 10 ms, after 5 warm-up jobs, "
             f"p50/p90 over jobs not stranded (still queued {STRANDED_AFTER_S:.0f} s after "
             "submit, then sent again by the bench); burst: rows committed in one "
             "transaction and rung at once → last one done",
             f"inference: p50 of {sizes.repeats} run(s) per variant, workers warmed first "
             "(TensorFlow imported, model loaded); time is submit → parent job `done`"]
    for label, broker, database in BROKERS:
        try:
            if database == "postgresql":
                if args.no_postgres:
                    continue
                with temporary_postgres(args.postgres_url) as pg:
                    bench_broker(label, broker, pg.url, sizes, args.redis_url, figures,
                                     notes)
            else:
                bench_broker(label, broker, None, sizes, args.redis_url, figures, notes)
        except BackendUnavailable as exc:
            notes.append(f"{label} skipped: {exc}")
            print(f"{label} skipped: {exc}", flush=True)
    if not args.no_inference:
        bench_inference(sizes, args.redis_url, figures)
    print()
    print(report(figures, sizes, notes).markdown())
    return 0
