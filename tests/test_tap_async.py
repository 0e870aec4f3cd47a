"""Asynchronous TAP on real workers, on SQLite with the embedded broker and on
PostgreSQL with Redis, driven by pyvo: a query is a UWS job (PENDING until run), a
galcat worker answers it, the answer matches the synchronous one; a refused query ends
in phase ERROR with its reason; a job can be deleted, and a worker deletes one past its
destruction time with its answer. Then the IVOA's own validator,
``stilts taplint``, finds no error and no warning in the same service (sync, async,
VOSI, TAP_SCHEMA, UWS)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import pyvo
import sqlalchemy as sa
from pyvo.dal.exceptions import DALQueryError
from worker_fixtures import PAIRS, Workers

from bench.fixtures.synthetic import sample_catalogue
from galcat.catalog.db import Database
from galcat.catalog.release import make_release
from galcat.catalog.schema import Job
from galcat.catalog.service import make_server, serve_in_thread
from galcat.catalog.settings import load_settings
from galcat.catalog.tap.uws import RETENTION_DAYS
from galcat.workers.tap_query import QueueTapJobs

QUERY = ("SELECT galaxy_id, ra, dec FROM morphology.galaxies WHERE 1 = CONTAINS("
         "POINT('ICRS', ra, dec), CIRCLE('ICRS', 150, 2, 0.4)) ORDER BY galaxy_id")


@PAIRS
def test_async_queries_run_on_workers_and_taplint_finds_nothing(
        db: Database, env: dict[str, str], workers: Workers, tmp_path: Path) -> None:
    stilts = shutil.which("stilts")
    if stilts is None:
        message = "stilts (Debian's package) is not installed: .ci/run installs it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    sample = sample_catalogue(db)
    make_release(db, "morphology", "DR1", tmp_path / "DR1",
                 models=[sample.references["morphology-old"]], formats="csv")
    make_release(db, "dla", "DLA1", tmp_path / "DLA1", formats="csv")
    server = make_server(db, quiet=True, tap_jobs=QueueTapJobs(load_settings()))
    serve_in_thread(server)
    workers.start()
    try:
        tap = pyvo.dal.TAPService(f"http://127.0.0.1:{server.server_port}/tap")
        job = tap.submit_job(QUERY)
        assert job.phase == "PENDING"
        job.run().wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=120)
        assert job.phase == "COMPLETED", job.phase
        got = job.fetch_result().to_table()
        want = tap.search(QUERY).to_table()
        assert len(got) == len(want) > 3
        assert list(got["galaxy_id"]) == list(want["galaxy_id"])
        assert str(got["ra"].unit) == "deg"

        direct = tap.run_async("SELECT COUNT(*) AS n FROM morphology.galaxies", timeout=120)
        assert int(direct.to_table()["n"][0]) == 120

        bad = tap.submit_job("SELECT * FROM public.job")
        bad.run().wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=120)
        assert bad.phase == "ERROR"
        with pytest.raises(DALQueryError, match=r"no table public\.job"):
            bad.raise_if_error()

        job.delete()
        assert not list((Path(env["GALCAT_HOME"]) / "tap").glob(f"job-{job.job_id}.*"))

        done = subprocess.run(
            [stilts, "taplint", f"tapurl=http://127.0.0.1:{server.server_port}/tap",
             "report=EW", "maxrepeat=3"], capture_output=True, text=True, timeout=300)
        report = done.stdout + done.stderr
        assert "Totals: Errors: 0; Warnings: 0" in report, report[-4000:]
    finally:
        server.shutdown()
        server.server_close()
        if server.service.engine is not db.pooled_readonly_engine:
            server.service.engine.dispose()


@PAIRS
def test_a_worker_deletes_async_answers_past_their_destruction_time(
        db: Database, env: dict[str, str], workers: Workers, tmp_path: Path) -> None:
    sample = sample_catalogue(db)
    make_release(db, "morphology", "DR1", tmp_path / "DR1",
                 models=[sample.references["morphology-old"]], formats="csv")
    jobs = QueueTapJobs(load_settings())
    count = "SELECT COUNT(*) AS n FROM morphology.galaxies"
    kept, old = (jobs.create(count, 10, "votable", run=True) for _ in range(2))
    answers = Path(env["GALCAT_HOME"]) / "tap"
    workers.start()
    _wait(lambda: _states(db, kept, old) == ["done", "done"], "both queries answered")
    assert list(answers.glob(f"job-{old}.*")) and list(answers.glob(f"job-{kept}.*"))
    with db.session() as session:
        job = session.get_one(Job, old)
        job.created_at -= dt.timedelta(days=RETENTION_DAYS, minutes=1)
    _wait(lambda: _states(db, kept, old) == ["done"], f"job {old} swept")
    assert not list(answers.glob(f"job-{old}.*"))
    assert list(answers.glob(f"job-{kept}.*"))


def _states(db: Database, *job_ids: int) -> list[str]:
    with db.engine.connect() as connection:
        return list(connection.execute(sa.select(Job.state).where(Job.id.in_(job_ids))
                                       .order_by(Job.id)).scalars())


def _wait(condition: Callable[[], bool], what: str, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not {what} after {timeout_s:.0f} s")
        time.sleep(0.2)
