"""Foundation bench: galaxy ingest rates and cone-search latency on SQLite and PostgreSQL.

1. Ingest N generated galaxies into ``galaxy``: PostgreSQL ``bulk_upsert`` with COPY
   (the default) vs batched INSERT ... ON CONFLICT; SQLite batched INSERTs; and the
   end-to-end ``ingest_catalog`` of a FITS file of N rows on both backends (new rows,
   then the same file again: every row already in), against loading the same rows with
   the bare driver: ``COPY`` of ready-made CSV on PostgreSQL, ``executemany`` of
   ready-made tuples on SQLite, both into ``galaxy`` itself (the floor its indexes, sky
   index and foreign key set) and into a bare copy of it with no index or constraint;
   on PostgreSQL also into a copy with all of galaxy's columns and one of its indexes or
   constraints at a time, which says what each costs per row written.
2. Cone search over N galaxies uniform on the sphere, radii 1 arcmin and 1 degree:
   p50 latency of ``catalog.sky.cone`` over random centres, against a full-table scan
   with the exact distance as the baseline.

Every figure is printed with its ratio to a baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any, cast

import numpy as np
import sqlalchemy as sa
from astropy.table import Table
from numpy.typing import NDArray

from bench.common import (
    BackendUnavailable,
    Report,
    add_backend_options,
    add_size_options,
    analyze,
    latency,
    machine_note,
    p50,
    rate,
    recreate_sqlite,
    repeat_p50,
    rows_from,
    server_version,
    temporary_postgres,
    temporary_sqlite,
    timed,
)
from galcat.catalog.db import Database
from galcat.catalog.ingest.tables import ingest_catalog
from galcat.catalog.schema import Galaxy
from galcat.catalog.sky import angular_distance_deg, cone, cone_ranges, healpix_29
from galcat.catalog.surveys import survey_id

DESCRIPTION = "galaxy ingest rate (COPY vs INSERT, ingest_catalog) and cone-search latency"
COLUMNS = ["survey_id", "external_id", "ra_deg", "dec_deg", "healpix_29", "z_spec"]
KEY = ("survey_id", "external_id")
RADII: dict[str, float] = {"1 arcmin": 1 / 60, "1 deg": 1.0}
FITS_NAME = "bench_galaxies.fits"
GALAXY = cast(sa.Table, Galaxy.__table__)

EPILOG = """\
examples:
  python -m bench foundation               # 1_000_000 galaxies, both backends
  python -m bench foundation --quick       # 100_000 galaxies
  nice -n 5 python -m bench foundation --rows 300000 --centres 50 --no-postgres

PostgreSQL: a temporary database is created on --postgres-url's server (default
$GALCAT_TEST_POSTGRES_URL or the local 'test' database) and dropped afterwards.
"""


class Galaxies:
    """N galaxies uniform on the sphere, generated reproducibly."""

    def __init__(self, n: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.n = n
        self.ids = np.char.add("g", np.char.zfill(np.arange(n).astype(str), 9))
        self.ra, self.dec = uniform_sphere(rng, n)
        self.z_spec = np.round(rng.uniform(0.0, 3.0, n), 5)
        self.healpix = healpix_29(self.ra, self.dec)

    def tuples(self, sid: int) -> list[tuple[Any, ...]]:
        return list(zip([sid] * self.n, self.ids.tolist(), self.ra.tolist(), self.dec.tolist(),
                        self.healpix.tolist(), self.z_spec.tolist(), strict=True))

    def write_fits(self, path: Path) -> None:
        Table({"id": self.ids, "ra": self.ra, "dec": self.dec, "z_spec": self.z_spec}).write(
            path, format="fits", overwrite=True)


def uniform_sphere(rng: np.random.Generator, n: int) -> tuple[NDArray[np.float64], ...]:
    ra = rng.uniform(0.0, 360.0, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n)))
    return ra, dec


# --- ingest -----------------------------------------------------------------------


def time_bulk_upsert(db: Database, galaxies: Galaxies, method: str) -> float:
    """Seconds to load every galaxy into an empty ``galaxy`` table, commit included."""
    with db.session() as session:
        sid = survey_id(session, f"bench-{method}")
    rows = galaxies.tuples(sid)

    def load() -> None:
        with db.session() as session:
            db.bulk_upsert(session, GALAXY, COLUMNS, iter(rows), key=KEY, method=method)

    seconds, _ = timed(load)
    _check_count(db, galaxies.n)
    return seconds


def time_ingest_catalog(db: Database, fits: Path, n: int) -> float:
    """Seconds for ``ingest_catalog`` of the FITS file (read, validate, load, commit)."""
    seconds, summary = timed(lambda: ingest_catalog(db, [fits], "galaxy"))
    errors = [e for f in summary.files for e in f.errors]
    if errors:
        raise RuntimeError(f"ingest_catalog refused the bench file: {errors[:3]}")
    _check_count(db, n)
    return seconds


def time_ingest_again(db: Database, fits: Path, n: int) -> float:
    """Seconds for ``ingest_catalog`` of the same file once more (every key exists)."""
    seconds, summary = timed(lambda: ingest_catalog(db, [fits], "galaxy"))
    if not summary.ok or summary.rows_loaded != n:
        raise RuntimeError(f"ingest_catalog refused the bench file again: {summary.describe()}")
    _check_count(db, n)
    return seconds


def time_raw_load(db: Database, galaxies: Galaxies, bare: bool) -> float:
    """Seconds for the bare driver to load the rows (CSV and tuples made beforehand):
    PostgreSQL ``COPY``, SQLite ``executemany``; into ``galaxy``, or with ``bare`` into
    a copy of it without indexes or constraints (SQLite: with the ingest's page cache).
    Commit included; the caller empties the catalogue afterwards."""
    import pyarrow as pa

    from galcat.catalog.ingest.load import SQLITE_CACHE_KIB, csv_bytes

    with db.session() as session:
        sid = survey_id(session, "bench-raw")
    columns = ", ".join(COLUMNS)
    rows = galaxies.tuples(sid)
    target = "raw_galaxy" if bare else "galaxy"
    with db.engine.connect() as conn:
        dbapi: Any = conn.connection.dbapi_connection
        cursor = dbapi.cursor()
        if bare:
            cursor.execute(f"CREATE TABLE raw_galaxy AS SELECT {columns} FROM galaxy "
                           + ("WITH NO DATA" if db.dialect == "postgresql" else "WHERE 0"))
            dbapi.commit()
        if db.dialect == "postgresql":
            data = csv_bytes(pa.table(dict(zip(COLUMNS, zip(*rows, strict=True), strict=True))))
            start = time.perf_counter()
            with cursor.copy(f"COPY {target} ({columns}) FROM STDIN (FORMAT csv)") as copy:
                copy.write(data)
        else:
            marks = ", ".join("?" * len(COLUMNS))
            cursor.execute(f"PRAGMA cache_size = {SQLITE_CACHE_KIB}")
            start = time.perf_counter()
            cursor.execute("BEGIN IMMEDIATE")
            cursor.executemany(f"INSERT INTO {target} ({columns}) VALUES ({marks})", rows)
        dbapi.commit()
        seconds = time.perf_counter() - start
        if bare:
            cursor.execute("DROP TABLE raw_galaxy")
            dbapi.commit()
        cursor.close()
    return seconds


def galaxy_write_costs(db: Database) -> dict[str, str]:
    """What ``galaxy`` makes PostgreSQL do per row written, as DDL for a copy of it named
    ``raw_galaxy``: each index and each foreign-key or check constraint, by name."""
    with db.engine.connect() as conn:
        indexes = conn.exec_driver_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'galaxy' "
            "ORDER BY indexname").all()
        constraints = conn.exec_driver_sql(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'galaxy'::regclass AND contype IN ('f', 'c') "
            "ORDER BY conname").all()
    ddl = {name: definition.replace(f"INDEX {name} ON public.galaxy ",
                                    f"INDEX raw_{name} ON raw_galaxy ")
           for name, definition in indexes}
    ddl |= {name: f"ALTER TABLE raw_galaxy ADD CONSTRAINT raw_{name} {definition}"
            for name, definition in constraints}
    return ddl


def copy_csv(db: Database, galaxies: Galaxies) -> memoryview:
    """The rows as the CSV ``COPY`` reads (survey ``bench-raw``), made once."""
    import pyarrow as pa

    from galcat.catalog.ingest.load import csv_bytes

    with db.session() as session:
        sid = survey_id(session, "bench-raw")
    return csv_bytes(pa.table(dict(zip(COLUMNS, zip(*galaxies.tuples(sid), strict=True),
                                       strict=True))))


def time_copy_with(db: Database, data: memoryview, ddl: Sequence[str]) -> float:
    """Seconds for the driver's ``COPY`` of ``data`` (from ``copy_csv``) into a copy of
    ``galaxy`` with every column and default but only the indexes and constraints of
    ``ddl``. Commit included; the copy is dropped afterwards."""
    with db.engine.connect() as conn:
        dbapi: Any = conn.connection.dbapi_connection
        with dbapi.cursor() as cursor:
            cursor.execute("CREATE TABLE raw_galaxy (LIKE galaxy INCLUDING DEFAULTS)")
            for statement in ddl:
                cursor.execute(statement)
            dbapi.commit()
            start = time.perf_counter()
            with cursor.copy(f"COPY raw_galaxy ({', '.join(COLUMNS)}) FROM STDIN "
                             "(FORMAT csv)") as copy:
                copy.write(data)
            dbapi.commit()
            seconds = time.perf_counter() - start
            cursor.execute("DROP TABLE raw_galaxy")
            dbapi.commit()
    return seconds


def reset_database(db: Database) -> None:
    """Empty the catalog: a new SQLite file, or TRUNCATE on PostgreSQL."""
    if db.dialect == "sqlite":
        recreate_sqlite(db)
        return
    with db.engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE galaxy, survey CASCADE")


def _check_count(db: Database, n: int) -> None:
    with db.session() as session:
        count = session.execute(sa.select(sa.func.count()).select_from(GALAXY)).scalar_one()
    if count != n:
        raise RuntimeError(f"expected {n} galaxies after loading, found {count}")


# --- cone search ------------------------------------------------------------------


def cone_latencies(db: Database, centres: NDArray[np.float64], radius: float
                   ) -> tuple[float, float]:
    """p50 seconds of ``cone`` over ``centres`` (after 3 untimed warm-up queries),
    and the mean number of galaxies found."""
    samples, found = [], []
    with db.session() as session:
        for ra, dec in centres[:3].tolist():
            cone(session, "galaxy", ra, dec, radius)
        for ra, dec in centres.tolist():
            seconds, rows = timed(partial(cone, session, "galaxy", ra, dec, radius))
            samples.append(seconds)
            found.append(len(rows))
    return p50(samples), float(np.mean(found))


def full_scan(db: Database, ra: float, dec: float, radius: float) -> list[int]:
    """The baseline: every row's id and position, filtered by the exact distance."""
    with db.session() as session:
        rows = session.execute(sa.select(GALAXY.c.id, GALAXY.c.ra_deg, GALAXY.c.dec_deg)).all()
    ids, ras, decs = (np.asarray(col) for col in zip(*rows, strict=True))
    keep = angular_distance_deg(ra, dec, ras, decs) <= radius
    return sorted(ids[keep].tolist())


def check_cone_matches_scan(db: Database, centres: NDArray[np.float64]) -> None:
    """Correctness, not timing: cone() finds exactly what the full scan finds."""
    for radius in RADII.values():
        for ra, dec in centres.tolist():
            with db.session() as session:
                got = sorted(r["id"] for r in cone(session, "galaxy", ra, dec, radius,
                                                   columns=["id"]))
            want = full_scan(db, ra, dec, radius)
            if got != want:
                raise RuntimeError(f"cone({ra:.4f}, {dec:.4f}, {radius}) found {len(got)} "
                                   f"galaxies, the full scan {len(want)}")


def explain_cone(db: Database, ra: float, dec: float, radius: float) -> str:
    """The query plan of the SELECT that ``cone`` issues."""
    ranges = cone_ranges(ra, dec, radius)
    pix = GALAXY.c.healpix_29
    stmt = sa.select(*GALAXY.c).where(sa.or_(*(pix.between(lo, hi - 1) for lo, hi in ranges)))
    sql = str(stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
    prefix = ("EXPLAIN QUERY PLAN " if db.dialect == "sqlite"
              else "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ")
    with db.engine.connect() as conn:
        plan = conn.exec_driver_sql(prefix + sql).all()
    lines = [str(r[-1]) for r in plan]
    return (f"{db.dialect}: cone({ra:.3f}, {dec:.3f}, {radius:g} deg) -> "
            f"{len(ranges)} healpix_29 ranges\n  " + "\n  ".join(lines))


# --- the run ----------------------------------------------------------------------


def bench_backend(
    db: Database, galaxies: Galaxies, fits: Path, centres: NDArray[np.float64],
    scan_centres: NDArray[np.float64], figures: dict[str, float], explains: list[str],
) -> None:
    """Run every measurement on one backend, emptying ``db`` between loads."""
    label, n = db.dialect, galaxies.n
    if label == "postgresql":
        print(f"[{label}] bulk_upsert COPY ...", flush=True)
        figures[f"{label}:copy"] = time_bulk_upsert(db, galaxies, "auto")
        reset_database(db)
        print(f"[{label}] bulk_upsert INSERT ...", flush=True)
        figures[f"{label}:insert"] = time_bulk_upsert(db, galaxies, "insert")
    else:
        print(f"[{label}] bulk_upsert (batched INSERT) ...", flush=True)
        figures[f"{label}:insert"] = time_bulk_upsert(db, galaxies, "auto")
    reset_database(db)
    print(f"[{label}] raw load with the driver, bare table and galaxy ...", flush=True)
    figures[f"{label}:raw_bare"] = time_raw_load(db, galaxies, bare=True)
    figures[f"{label}:raw_galaxy"] = time_raw_load(db, galaxies, bare=False)
    if label == "postgresql":
        costs = galaxy_write_costs(db)
        print(f"[{label}] raw COPY into galaxy's columns with one of its {len(costs)} indexes "
              "and constraints at a time ...", flush=True)
        data = copy_csv(db, galaxies)
        figures[f"{label}:raw_columns"] = time_copy_with(db, data, [])
        for name, ddl in costs.items():
            figures[f"{label}:raw_with:{name}"] = time_copy_with(db, data, [ddl])
    reset_database(db)
    print(f"[{label}] ingest_catalog FITS ...", flush=True)
    figures[f"{label}:ingest"] = time_ingest_catalog(db, fits, n)
    print(f"[{label}] ingest_catalog FITS again (every row already in) ...", flush=True)
    figures[f"{label}:ingest_again"] = time_ingest_again(db, fits, n)
    analyze(db)

    print(f"[{label}] cone search ...", flush=True)
    check_cone_matches_scan(db, scan_centres[:2])
    for name, radius in RADII.items():
        figures[f"{label}:cone:{name}"], figures[f"{label}:found:{name}"] = cone_latencies(
            db, centres, radius)
    scans = iter(scan_centres.tolist())

    def scan() -> None:
        ra, dec = next(scans)
        full_scan(db, ra, dec, 1.0)

    figures[f"{label}:scan"] = repeat_p50(scan, runs=len(scan_centres) - 1, warmup=1)
    ra, dec = centres[0]
    explains.extend(explain_cone(db, float(ra), float(dec), r) for r in RADII.values())


def report(figures: dict[str, float], n: int, backends: list[str], notes: list[str]) -> Report:
    out = Report(f"galcat foundation bench, {n:_} galaxies, {dt.date.today().isoformat()}",
                 notes=notes)
    pg = "postgresql" in backends
    if pg:
        copy, insert = figures["postgresql:copy"], figures["postgresql:insert"]
        out.add("bulk_upsert COPY → temp table + INSERT ON CONFLICT", "postgresql",
                rate(n, copy), f"INSERT {rate(n, insert)}", insert / copy)
        out.add("bulk_upsert batched INSERT … ON CONFLICT", "postgresql", rate(n, insert),
                f"INSERT {rate(n, insert)}", 1.0)
    if "sqlite" in backends:
        lite = figures["sqlite:insert"]
        out.add("bulk_upsert batched INSERT … ON CONFLICT", "sqlite", rate(n, lite),
                f"PG INSERT {rate(n, figures['postgresql:insert'])}" if pg else "",
                figures["postgresql:insert"] / lite if pg else None)
    for backend in backends:
        loader = figures[f"{backend}:copy" if backend == "postgresql" else f"{backend}:insert"]
        ingest = figures[f"{backend}:ingest"]
        driver = "COPY" if backend == "postgresql" else "executemany"
        bare, floor = figures[f"{backend}:raw_bare"], figures[f"{backend}:raw_galaxy"]
        out.add(f"raw {driver}, bare table (no index, no constraint)", backend, rate(n, bare),
                f"raw {driver} into galaxy {rate(n, floor)}", floor / bare)
        out.add("ingest_catalog FITS (read + validate + load)", backend, rate(n, ingest),
                f"bulk_upsert {rate(n, loader)}", loader / ingest)
        out.add("ingest_catalog FITS, new rows", backend, rate(n, ingest),
                f"raw {driver} into galaxy {rate(n, floor)}", floor / ingest)
        out.add("ingest_catalog FITS, new rows", backend, rate(n, ingest),
                f"raw {driver}, bare table {rate(n, bare)}", bare / ingest)
        again = figures[f"{backend}:ingest_again"]
        out.add("ingest_catalog FITS again, every row exists", backend, rate(n, again),
                f"new rows {rate(n, ingest)}", ingest / again)
    if pg:
        plain = figures["postgresql:raw_columns"]
        out.add("raw COPY, galaxy's columns, no index or constraint", "postgresql",
                rate(n, plain), f"raw COPY into galaxy {rate(n, figures['postgresql:raw_galaxy'])}",
                figures["postgresql:raw_galaxy"] / plain)
        for key, seconds in figures.items():
            if key.startswith("postgresql:raw_with:"):
                out.add(f"raw COPY, galaxy's columns + {key.split(':', 2)[2]} only: "
                        f"+{(seconds - plain) * 1e6 / n:.2f} s per 10⁶ rows", "postgresql",
                        rate(n, seconds), f"no index {rate(n, plain)}", plain / seconds)
    for name in RADII:
        for backend in backends:
            scan, p = figures[f"{backend}:scan"], figures[f"{backend}:cone:{name}"]
            found = figures[f"{backend}:found:{name}"]
            out.add(f"cone {name} p50 (mean {found:.3g} found)", backend, latency(p),
                    f"full scan {latency(scan)}", scan / p)
    return out


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench foundation",
        description=DESCRIPTION[0].upper() + DESCRIPTION[1:] + ".",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_size_options(parser)
    parser.add_argument("--centres", type=int, default=30, metavar="K",
                        help="random cone centres per radius (default 30, at least 30)")
    parser.add_argument("--scans", type=int, default=3, metavar="S",
                        help="timed full-table-scan baseline runs (default 3, at least 3)")
    add_backend_options(parser)
    args = parser.parse_args(list(argv))
    if args.centres < 30 or args.scans < 3:
        parser.error("--centres must be at least 30 and --scans at least 3")
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    n = rows_from(args)
    rng = np.random.default_rng(args.seed + 1)
    print(f"generating {n:_} galaxies ...", flush=True)
    galaxies = Galaxies(n, args.seed)
    centres = np.column_stack(uniform_sphere(rng, args.centres))
    scan_centres = np.column_stack(uniform_sphere(rng, args.scans + 1))
    figures: dict[str, float] = {}
    explains: list[str] = []
    backends: list[str] = []
    notes = [machine_note()]
    with tempfile.TemporaryDirectory(prefix="galcat-bench-") as tmp:
        fits = Path(tmp) / FITS_NAME
        galaxies.write_fits(fits)
        notes.append(f"FITS file {fits.stat().st_size / 2**20:.1f} MiB; cone p50 over "
                     f"{args.centres} centres, full scan p50 over {args.scans} runs")

        with temporary_sqlite(tmp) as lite:
            notes.append(server_version(lite))
            bench_backend(lite, galaxies, fits, centres, scan_centres, figures, explains)
            backends.append("sqlite")
        if not args.no_postgres:
            try:
                with temporary_postgres(args.postgres_url) as pg:
                    notes.append(server_version(pg))
                    bench_backend(pg, galaxies, fits, centres, scan_centres, figures, explains)
                    backends.insert(0, "postgresql")
            except BackendUnavailable as exc:
                notes.append(f"PostgreSQL skipped: {exc}")
                print(f"PostgreSQL skipped: {exc}", flush=True)

    print("\nquery plans of one cone query per radius:")
    for text in explains:
        print(text)
    print()
    print(report(figures, n, backends, notes).markdown())
    return 0
