"""Release bench: writing a morphology catalogue per format, and the cone-search service.

1. Load N synthetic galaxies, one image each, with morphology and Sérsic predictions.
2. Release them once per format, each in a fresh child process so that its peak RSS
   (``VmHWM``) is its own: seconds and peak memory, against reading the same rows with
   the bare driver and nothing else (time baseline: ``COPY (query) TO STDOUT`` on
   PostgreSQL, the sqlite3 cursor's ``fetchmany`` on SQLite, rows thrown away) and
   against streaming the rows as chunks without writing them (``iter_chunks``, the
   memory baseline). The all-formats release is also run on N/10 rows (``--where``)
   to show that peak memory does not grow with the number of rows.
3. Serve the newest release with ``galcat serve``'s server on 127.0.0.1 and query it
   from a second process (``--concurrency`` keep-alive connections, ``--requests`` cone
   searches of ``--radius`` degrees at random centres): requests/s and p50 latency,
   against the in-process ``catalog.sky.cone`` call on the same centres.

Every figure is printed with its ratio to a baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import (
    BackendUnavailable,
    Report,
    add_backend_options,
    add_size_options,
    latency,
    machine_note,
    p50,
    rate,
    rows_from,
    server_version,
    temporary_postgres,
    temporary_sqlite,
    timed,
)
from galcat.catalog.db import Database

DESCRIPTION = "release seconds and peak memory per format; cone-search service requests/s"
FORMATS = ("csv", "fits", "votable", "parquet")
EPILOG = """\
examples:
  python -m bench release                  # 1_000_000 galaxies, SQLite and PostgreSQL
  python -m bench release --quick          # 100_000 galaxies
  nice -n 10 python -m bench release --no-postgres --requests 500 --concurrency 4

The load generator only ever connects to 127.0.0.1 and sends a fixed number of
requests. PostgreSQL: a temporary database on --postgres-url's server, dropped after.
"""
CHILD = ("import sys; from bench.release import child_main; "
         "sys.exit(child_main(sys.argv[1:]))")


# --- loading ----------------------------------------------------------------------


def load(db: Database, n: int, seed: int) -> None:
    """N galaxies on the whole sky, one image each, morphology and Sérsic predictions."""
    from bench.fixtures.synthetic import (
        add_model_version,
        load_galaxies,
        load_morphology,
        load_sersic,
    )

    galaxies = load_galaxies(db, n, seed)
    images = galaxies.image_ids[:, 0]
    load_morphology(db, add_model_version(db, "morphology", "morphology"), images, seed + 1)
    load_sersic(db, add_model_version(db, "sersic", "sersic"), images, seed + 2)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


# --- one release per child process --------------------------------------------------


def child_main(argv: Sequence[str]) -> int:
    """In a child: release (or only stream) the catalogue; print seconds as JSON."""
    url, mode, tag, out, where = argv
    from galcat.catalog.release import make_release
    from galcat.catalog.release.definitions import MORPHOLOGY
    from galcat.catalog.release.query import Pinned, iter_chunks, select_rows

    db = Database.for_url(url)
    if mode in ("stream", "raw"):
        from sqlalchemy.orm import Session

        from galcat.catalog.release.build import resolve_models
        from galcat.catalog.release.query import watermarks

        def stream() -> int:
            with db.readonly_engine.connect() as connection:
                pins = {p.task: p.id for p in resolve_models(Session(bind=connection),
                                                             MORPHOLOGY, [])}
                spec = Pinned("morphology", pins, watermarks(connection, pins), where)
                stmt = select_rows(spec, MORPHOLOGY.main)
                if mode == "raw":
                    return raw_read(connection, stmt)
                return sum(c.n for c in iter_chunks(connection, stmt, MORPHOLOGY.main))

        seconds, rows = timed(stream)
    else:
        seconds, record = timed(lambda: make_release(db, "morphology", tag, Path(out),
                                                     where=where, formats=mode.split("+")))
        rows = record.row_count
    print(json.dumps({"seconds": seconds, "rows": rows, "peak_mib": peak_rss_mib()}),
          flush=True)
    db.dispose()
    return 0


def raw_read(connection: Any, stmt: Any) -> int:
    """Rows of ``stmt`` read with the bare driver and thrown away: ``COPY (…) TO STDOUT``
    on PostgreSQL (the release's own planner settings), ``fetchmany`` on SQLite."""
    compiled = stmt.compile(dialect=connection.dialect,
                            compile_kwargs={"render_postcompile": True})
    dbapi = connection.connection.dbapi_connection
    rows = 0
    cursor = dbapi.cursor()
    if connection.dialect.name == "postgresql":
        from galcat.catalog.release.stream import STREAMING_PLAN

        for name, value in STREAMING_PLAN.items():
            cursor.execute("SELECT set_config(%s, %s, true)", (name, value))
        with cursor.copy(f"COPY ({compiled}) TO STDOUT", compiled.params) as copy:
            for _ in copy:
                rows += 1
    else:
        cursor.execute(str(compiled), [compiled.params[k] for k in compiled.positiontup])
        while part := cursor.fetchmany(1024):
            rows += len(part)
    cursor.close()
    return rows


def peak_rss_mib() -> float:
    """This process's peak resident set (VmHWM), MiB. Unlike ``ru_maxrss`` it starts
    afresh at exec, so the parent's memory before the fork does not count."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(url: str, mode: str, tag: str, out: Path, where: str = "") -> dict[str, float]:
    """Seconds, rows and peak RSS (MiB) of one child release."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", CHILD, url, mode, tag, str(out), where],
                          stdout=subprocess.PIPE, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"release child ({mode}) failed with exit code {done.returncode}")
    figures: dict[str, float] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return figures


def bench_releases(db: Database, n: int, folder: Path, figures: dict[str, Any]) -> None:
    label = db.dialect
    modes = [*FORMATS, "+".join(FORMATS)]
    print(f"[{label}] read rows with the driver only (time baseline) ...", flush=True)
    figures[f"{label}:raw"] = run_child(db.url, "raw", "-", folder, "")
    print(f"[{label}] stream chunks only (memory baseline) ...", flush=True)
    figures[f"{label}:stream"] = run_child(db.url, "stream", "-", folder, "")
    for i, mode in enumerate(modes):
        out = folder / f"{label}-{i}"
        print(f"[{label}] release {mode} ...", flush=True)
        figures[f"{label}:{mode}"] = result = run_child(db.url, mode, f"B{i}", out)
        result["bytes"] = sum(p.stat().st_size for p in out.iterdir())
        if mode != modes[-1]:
            for path in out.iterdir():
                path.unlink()
    tenth = n // 10
    print(f"[{label}] release all formats, {tenth:_} rows ...", flush=True)
    figures[f"{label}:tenth"] = run_child(db.url, "+".join(FORMATS), "Btenth",
                                          folder / f"{label}-tenth",
                                          where=f"galaxy_id <= {tenth}")


# --- the service ------------------------------------------------------------------


def load_main(argv: Sequence[str]) -> int:
    """In a child: ``requests`` cone searches over ``concurrency`` keep-alive
    connections to a 127.0.0.1 server; print wall seconds and latencies as JSON."""
    import http.client

    port, requests, concurrency, radius, seed = (int(argv[0]), int(argv[1]), int(argv[2]),
                                                 float(argv[3]), int(argv[4]))
    rng = np.random.default_rng(seed)
    centres = np.column_stack([rng.uniform(0, 360, requests),
                               np.degrees(np.arcsin(rng.uniform(-0.95, 0.95, requests)))])
    latencies: list[float] = []
    sizes: list[int] = []
    lock = threading.Lock()
    queue = iter(range(requests))

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                i = next(queue, None)
            if i is None:
                break
            ra, dec = centres[i]
            start = time.perf_counter()
            connection.request("GET", f"/scs/morphology?RA={ra:.6f}&DEC={dec:.6f}&SR={radius}")
            body = connection.getresponse().read()
            elapsed = time.perf_counter() - start
            if b'value="ERROR"' in body:
                raise RuntimeError(body.decode()[:300])
            with lock:
                latencies.append(elapsed)
                sizes.append(body.count(b"<TR>"))
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    print(json.dumps({"wall": wall, "latencies": latencies, "rows": float(np.mean(sizes))}))
    return 0


LOAD = "import sys; from bench.release import load_main; sys.exit(load_main(sys.argv[1:]))"


def bench_service(db: Database, args: argparse.Namespace, figures: dict[str, Any]) -> None:
    from galcat.catalog.service import make_server, serve_in_thread
    from galcat.catalog.sky import cone

    label = db.dialect
    rng = np.random.default_rng(args.seed + 7)
    centres = np.column_stack([rng.uniform(0, 360, 50),
                               np.degrees(np.arcsin(rng.uniform(-0.95, 0.95, 50)))])
    samples = []
    with db.new_session() as session:
        for ra, dec in centres.tolist():
            start = time.perf_counter()
            cone(session, "galaxy", ra, dec, args.radius)
            samples.append(time.perf_counter() - start)
    figures[f"{label}:cone_p50"] = p50(samples[5:])
    server = make_server(db, "127.0.0.1", 0, quiet=True)
    serve_in_thread(server)
    try:
        print(f"[{label}] cone-search service: {args.requests} requests, "
              f"{args.concurrency} connections ...", flush=True)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        warm = subprocess.run([sys.executable, "-c", LOAD, str(server.server_port), "20", "1",
                               str(args.radius), "1"], env=env, capture_output=True, check=True)
        del warm
        done = subprocess.run([sys.executable, "-c", LOAD, str(server.server_port),
                               str(args.requests), str(args.concurrency), str(args.radius),
                               str(args.seed)], env=env, capture_output=True, check=True)
        result = json.loads(done.stdout.decode().strip().splitlines()[-1])
    finally:
        server.shutdown()
        server.server_close()
    figures[f"{label}:service_rps"] = args.requests / result["wall"]
    figures[f"{label}:service_p50"] = p50(result["latencies"])
    figures[f"{label}:service_rows"] = result["rows"]


# --- the run ----------------------------------------------------------------------


def report(figures: dict[str, Any], n: int, backends: list[str], notes: list[str],
           args: argparse.Namespace) -> Report:
    out = Report(f"galcat release bench, {n:_} galaxies, {dt.date.today().isoformat()}",
                 notes=notes)
    for backend in backends:
        raw = figures[f"{backend}:raw"]["seconds"]
        driver = "raw COPY" if backend == "postgresql" else "raw fetchmany"
        stream = figures[f"{backend}:stream"]
        out.add(f"read rows only: {driver}, rows discarded", backend,
                f"{raw:.1f} s, peak {figures[f'{backend}:raw']['peak_mib']:.0f} MiB",
                f"{driver} {raw:.1f} s", 1.0)
        out.add("stream chunks only (iter_chunks), no writer", backend,
                f"{stream['seconds']:.1f} s, peak {stream['peak_mib']:.0f} MiB",
                f"{driver} {raw:.1f} s", raw / stream["seconds"])
        for mode in [*FORMATS, "+".join(FORMATS)]:
            f = figures[f"{backend}:{mode}"]
            out.add(f"release {mode.replace('+', ', ')}: {f['bytes'] / 2**20:,.0f} MiB",
                    backend, f"{f['seconds']:.1f} s ({rate(n, f['seconds'])})",
                    f"{driver} {raw:.1f} s", raw / f["seconds"])
            out.add(f"release {mode.replace('+', ', ')}: peak RSS", backend,
                    f"{f['peak_mib']:.0f} MiB", f"stream only {stream['peak_mib']:.0f} MiB",
                    stream["peak_mib"] / f["peak_mib"])
        tenth, full = figures[f"{backend}:tenth"], figures[f"{backend}:{'+'.join(FORMATS)}"]
        out.add(f"all formats, {n // 10:_} rows: peak RSS", backend,
                f"{tenth['peak_mib']:.0f} MiB", f"{n:_} rows {full['peak_mib']:.0f} MiB",
                tenth["peak_mib"] / full["peak_mib"])
        cone_p50 = figures[f"{backend}:cone_p50"]
        rows = figures[f"{backend}:service_rows"]
        out.add(f"service p50, SR={args.radius:g}° (mean {rows:.3g} rows)", backend,
                latency(figures[f"{backend}:service_p50"]),
                f"in-process cone() {latency(cone_p50)}",
                cone_p50 / figures[f"{backend}:service_p50"])
        out.add(f"service throughput, {args.concurrency} connections", backend,
                f"{figures[f'{backend}:service_rps']:,.0f} req/s",
                f"1 / cone() p50 {1 / cone_p50:,.0f} /s",
                figures[f"{backend}:service_rps"] * cone_p50)
    return out


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench release",
        description=DESCRIPTION[0].upper() + DESCRIPTION[1:] + ".",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_size_options(parser)
    parser.add_argument("--requests", type=int, default=400, metavar="R",
                        help="cone-search requests sent to the service (default 400)")
    parser.add_argument("--concurrency", type=int, default=4, metavar="C",
                        help="keep-alive connections of the load generator (default 4)")
    parser.add_argument("--radius", type=float, default=0.5, metavar="DEG",
                        help="cone radius, degrees (default 0.5)")
    add_backend_options(parser)
    args = parser.parse_args(list(argv))
    if not 1 <= args.concurrency <= 16 or not 20 <= args.requests <= 20_000:
        parser.error("--concurrency must be 1-16 and --requests 20-20000 (bounded load)")
    return args


def bench_backend(db: Database, n: int, args: argparse.Namespace, tmp: Path,
                  figures: dict[str, Any]) -> None:
    print(f"[{db.dialect}] loading {n:_} galaxies with predictions ...", flush=True)
    seconds, _ = timed(lambda: load(db, n, args.seed))
    print(f"[{db.dialect}] loaded in {seconds:.0f} s", flush=True)
    bench_releases(db, n, tmp, figures)
    bench_service(db, args, figures)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    n = rows_from(args)
    figures: dict[str, Any] = {}
    backends: list[str] = []
    notes = [machine_note(), "peak memory is each child process's own VmHWM (imports "
             "included); release seconds exclude interpreter start-up"]
    with tempfile.TemporaryDirectory(prefix="galcat-bench-release-") as folder:
        tmp = Path(folder)
        with temporary_sqlite(tmp) as lite:
            notes.append(server_version(lite))
            bench_backend(lite, n, args, tmp, figures)
            backends.append("sqlite")
        if not args.no_postgres:
            try:
                with temporary_postgres(args.postgres_url) as pg:
                    notes.append(server_version(pg))
                    bench_backend(pg, n, args, tmp, figures)
                    backends.insert(0, "postgresql")
            except BackendUnavailable as exc:
                notes.append(f"PostgreSQL skipped: {exc}")
                print(f"PostgreSQL skipped: {exc}", flush=True)
    print()
    print(report(figures, n, backends, notes, args).markdown())
    return 0
