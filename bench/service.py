"""Service bench: cone search (SCS) and ADQL (TAP sync) over HTTP against the same cone in
process, and throughput of ``galcat serve`` under bounded load.

1. Load N synthetic galaxies on the whole sky with morphology and Sérsic predictions,
   and release them (one format: the service reads the catalogue, not the files).
2. In process: ``catalog.sky.cone`` p50 at random centres (0.5° and 1′): the baseline.
3. ``galcat serve --workers W`` as real uvicorn processes; one keep-alive client asks,
   one request at a time, for SCS cones (0.5°, 1′) and TAP sync ADQL cones of 1′
   (``CONTAINS(POINT, CIRCLE)``): p50 latency, against the in-process call; and an SCS
   ``FORMAT=METADATA`` answer, which reads no row: the floor of HTTP and the framework.
4. Throughput: ``wrk`` (Debian's package) with 4 and 16 connections for 10 s each, SCS
   and TAP 1′ cones at random centres: requests/s, and non-2xx or socket errors.

Every figure is printed with its ratio to a baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import (
    BackendUnavailable,
    Report,
    add_backend_options,
    add_size_options,
    latency,
    load_average,
    machine_note,
    p50,
    rows_from,
    server_version,
    temporary_postgres,
    temporary_sqlite,
)
from bench.release import load
from galcat.catalog.db import Database

DESCRIPTION = "SCS and TAP over HTTP against the in-process cone; requests/s under load"
EPILOG = """\
examples:
  python -m bench service                    # 1_000_000 galaxies, SQLite and PostgreSQL
  python -m bench service --quick --no-postgres
  python -m bench service --workers 2 --duration 10

Needs wrk for the load (apt-get install wrk). PostgreSQL needs pg_sphere for ADQL
geometry (.ci/pgsphere installs it). The server listens on 127.0.0.1 only.
"""
ONE_ARCMIN = 1 / 60
WRK_SCRIPT = """\
math.randomseed(%(seed)d)
local template = "%(template)s"
request = function()
  local ra = math.random() * 360
  local dec = math.deg(math.asin(math.random() * 1.9 - 0.95))
  local path = string.gsub(string.gsub(template, "RA_", string.format("%%.5f", ra)),
                           "DEC_", string.format("%%.5f", dec))
  return wrk.format("GET", path)
end
"""


def centres(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(0, 360, n),
                            np.degrees(np.arcsin(rng.uniform(-0.95, 0.95, n)))])


def scs_path(ra: float, dec: float, radius: float) -> str:
    return f"/scs/morphology?RA={ra:.5f}&DEC={dec:.5f}&SR={radius:.6f}"


def tap_path(ra: float | str, dec: float | str, radius: float) -> str:
    adql = (f"SELECT galaxy_id, ra, dec, f_spheroid FROM morphology.galaxies WHERE 1 = "
            f"CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', {ra}, {dec}, {radius:.6f}))")
    return "/tap/sync?" + urllib.parse.urlencode({"LANG": "ADQL", "QUERY": adql})


def direct_p50(db: Database, radius: float, points: np.ndarray) -> float:
    from galcat.catalog.sky import cone

    samples = []
    with db.new_session() as session:
        for ra, dec in points.tolist():
            start = time.perf_counter()
            cone(session, "galaxy", ra, dec, radius)
            samples.append(time.perf_counter() - start)
    return p50(samples[5:])


@contextmanager
def serving(db: Database, workers: int, home: Path) -> Iterator[int]:
    """``galcat serve --workers`` on a free port of 127.0.0.1, stopped afterwards."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    env = {**os.environ, "GALCAT_HOME": str(home), "GALCAT_DATABASE_URL": db.url,
           "GALCAT_BROKER_URL": f"sqla+sqlite:///{home / 'broker.sqlite'}"}
    galcat = str(Path(sys.executable).with_name("galcat"))
    log = open(home / f"serve-{workers}.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen([galcat, "serve", "--port", str(port), "--workers", str(workers)],
                            env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/tap/availability")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"galcat serve did not start: see {log.name}")
            time.sleep(0.3)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def http_p50(port: int, paths: list[str]) -> tuple[float, float]:
    """p50 latency (s) of ``paths`` asked one at a time on one keep-alive connection, and
    the mean rows per answer."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    samples, rows = [], []
    for path in paths:
        start = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        samples.append(time.perf_counter() - start)
        if response.status != 200 or b'value="ERROR"' in body:
            raise RuntimeError(f"{path}: {response.status} {body[:400]!r}")
        rows.append(body.count(b"<TR>"))
    connection.close()
    return p50(samples[5:]), float(np.mean(rows))


def wrk_load(port: int, template: str, connections: int, seconds: int, seed: int,
             folder: Path) -> dict[str, Any]:
    """requests/s and errors from wrk asking ``template`` (RA_, DEC_ filled at random)."""
    script = folder / f"cones-{connections}.lua"
    script.write_text(WRK_SCRIPT % {"seed": seed, "template": template})
    out = subprocess.run(["wrk", f"-t{min(2, connections)}", f"-c{connections}",
                          f"-d{seconds}s", "--latency", "-s", str(script),
                          f"http://127.0.0.1:{port}"], capture_output=True, text=True,
                         check=True).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                        out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (
        sum(int(g) for g in sockets.groups()) if sockets else 0)
    kinds = ", ".join(filter(None, [non2xx.group(0) if non2xx else "",
                                    sockets.group(0) if sockets else ""]))
    median = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 1e-6, "ms": 1e-3, "s": 1.0}
    p50_s = float(median.group(1)) * scale[median.group(2)] if median else float("nan")
    return {"requests": total, "rps": rps, "errors": errors, "p50": p50_s, "kinds": kinds}


def refusals(log: Path, most: int = 10) -> str:
    """The service log's last ``most`` lines that are neither a 200 answer nor start-up
    chatter (what to read when wrk counts errors)."""
    lines = [line for line in log.read_text(errors="replace").splitlines()
             if '" 200' not in line and "startup" not in line and "Started" not in line]
    return "\n".join(lines[-most:]) or "(nothing but 200 answers)"


def bench_backend(db: Database, args: argparse.Namespace, figures: dict[str, Any],
                  folder: Path) -> None:
    from galcat.catalog.release import make_release

    label = db.dialect
    print(f"[{label}] loading {args.rows:_} galaxies ...", flush=True)
    load(db, args.rows, args.seed)
    make_release(db, "morphology", "BENCH", folder / f"release-{label}", formats="parquet")
    points = centres(args.samples, args.seed + 1)
    for name, radius in (("half", 0.5), ("arcmin", ONE_ARCMIN)):
        figures[f"{label}:direct_{name}"] = direct_p50(db, radius, points)
    home = folder / f"home-{label}"
    home.mkdir()
    with serving(db, args.workers, home) as port:
        http_p50(port, [scs_path(150, 2, 0.1)] * 10)
        for name, radius in (("half", 0.5), ("arcmin", ONE_ARCMIN)):
            figures[f"{label}:scs_{name}"], figures[f"{label}:rows_{name}"] = http_p50(
                port, [scs_path(ra, dec, radius) for ra, dec in points.tolist()])
        figures[f"{label}:metadata"], _ = http_p50(
            port, [scs_path(ra, dec, ONE_ARCMIN) + "&FORMAT=METADATA"
                   for ra, dec in points.tolist()])
        figures[f"{label}:tap_arcmin"], _ = http_p50(
            port, [tap_path(ra, dec, ONE_ARCMIN) for ra, dec in points.tolist()])
        if shutil.which("wrk") is None:
            print("wrk not found (apt-get install wrk): no throughput figures", flush=True)
            return
        for connections in args.connections:
            for kind, template in (("scs", scs_path(0, 0, ONE_ARCMIN)),
                                   ("tap", tap_path("RA_", "DEC_", ONE_ARCMIN))):
                template = template.replace("RA=0.00000", "RA=RA_").replace(
                    "DEC=0.00000", "DEC=DEC_")
                print(f"[{label}] wrk {kind}, {connections} connections ...", flush=True)
                found = wrk_load(port, template, connections, args.duration, args.seed,
                                 folder)
                figures[f"{label}:{kind}_load_{connections}"] = found
                if found["errors"]:
                    print(f"[{label}] wrk {kind}, {connections} connections: "
                          f"{found['errors']:.0f} errors ({found['kinds']}); the service log "
                          f"says:\n{refusals(home / f'serve-{args.workers}.log')}", flush=True)


def report(figures: dict[str, Any], args: argparse.Namespace, backends: list[str],
           notes: list[str]) -> Report:
    out = Report(f"galcat service bench, {args.rows:_} galaxies, "
                 f"{dt.date.today().isoformat()}", notes=notes)
    for b in backends:
        for name, text in (("half", "0.5°"), ("arcmin", "1′")):
            direct, served = figures[f"{b}:direct_{name}"], figures[f"{b}:scs_{name}"]
            out.add(f"SCS over HTTP, {text} cone, p50 (mean {figures[f'{b}:rows_{name}']:.3g} "
                    "rows)", b, latency(served), f"in-process cone() {latency(direct)}",
                    direct / served)
        direct = figures[f"{b}:direct_arcmin"]
        out.add("SCS FORMAT=METADATA over HTTP (no database read), p50", b,
                latency(figures[f"{b}:metadata"]), f"in-process 1′ cone() {latency(direct)}",
                direct / figures[f"{b}:metadata"])
        served = figures[f"{b}:tap_arcmin"]
        out.add("TAP sync ADQL, 1′ cone, p50", b, latency(served),
                f"in-process cone() {latency(direct)}", direct / served)
        for connections in args.connections:
            for kind in ("scs", "tap"):
                load_figure = figures.get(f"{b}:{kind}_load_{connections}")
                if load_figure is None:
                    continue
                direct = figures[f"{b}:direct_arcmin"]
                out.add(f"{kind.upper()} 1′ cones, {connections} connections, "
                        f"{int(load_figure['requests']):_} requests, "
                        f"{int(load_figure['errors'])} errors", b,
                        f"{load_figure['rps']:,.0f} req/s (p50 {latency(load_figure['p50'])})",
                        f"1 / cone() p50 {1 / direct:,.0f} /s", load_figure["rps"] * direct)
    return out


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench service",
        description=DESCRIPTION[0].upper() + DESCRIPTION[1:] + ".",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_size_options(parser)
    add_backend_options(parser)
    parser.add_argument("--workers", type=int, default=2, metavar="W",
                        help="uvicorn worker processes (default 2, one per core here)")
    parser.add_argument("--samples", type=int, default=200, metavar="K",
                        help="cones per latency figure (default 200)")
    parser.add_argument("--duration", type=int, default=10, metavar="S",
                        help="seconds of wrk load per figure (default 10)")
    parser.add_argument("--connections", type=int, nargs="+", default=[4, 16], metavar="C",
                        help="wrk connections (default 4 16)")
    args = parser.parse_args(list(argv))
    args.rows = rows_from(args)
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    figures: dict[str, Any] = {}
    notes = [machine_note(), f"galcat serve --workers {args.workers}; {load_average()}"]
    backends = []
    with tempfile.TemporaryDirectory(prefix="galcat-service-bench-") as tmp:
        folder = Path(tmp)
        with temporary_sqlite(folder) as db:
            notes.append(server_version(db))
            bench_backend(db, args, figures, folder)
            backends.append("sqlite")
        if not args.no_postgres:
            try:
                with temporary_postgres(args.postgres_url) as db:
                    notes.append(server_version(db))
                    bench_backend(db, args, figures, folder)
                    backends.append("postgresql")
            except BackendUnavailable as exc:
                notes.append(f"PostgreSQL skipped: {exc}")
    notes.append(f"after the run: {load_average()}")
    print(report(figures, args, backends, notes).markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
