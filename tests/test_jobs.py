"""Jobs through real `galcat worker` processes, on both brokers and both databases."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from tcp_proxy import TcpProxy
from worker_fixtures import PAIRS, Workers, _register_toy

from bench.fixtures.toy_jobs import THROTTLE_ENV, TOY_PREDICTION, InferToy, Noop, add_toy_galaxies
from galcat.catalog.db import Database
from galcat.catalog.registry import artifact_path
from galcat.catalog.schema import Job
from galcat.catalog.settings import load_settings
from galcat.workers.queue.jobs import JobHandle, retry, submit


def test_two_hundred_jobs_each_done_exactly_once(db: Database, env, workers: Workers) -> None:
    handles = [submit(Noop()) for _ in range(200)]
    workers.start(concurrency=2)
    for handle in handles:
        assert handle.wait(timeout_s=300).state == "done"
    with db.new_session() as session:
        attempts = session.execute(sa.select(Job.attempts)).scalars().all()
    assert len(attempts) == 200 and set(attempts) == {1}


@PAIRS
def test_failed_job_reports_its_error_and_retries(
    db: Database, env, workers: Workers, toy_weights: Path, toy_table: None
) -> None:
    add_toy_galaxies(db, 300)
    sha = _register_toy(db, toy_weights)
    stored = artifact_path(load_settings().artifacts_dir, sha)
    good = stored.read_bytes()
    stored.write_bytes(good[:-10] + b"corrupted!")
    workers.start()
    handle = submit(InferToy(model="toy@latest"))
    state = handle.wait(timeout_s=300)
    assert state.state == "failed"
    assert "shard 0 failed: RegistryError" in (state.error or "")
    assert "refused" in (state.error or "")
    stored.write_bytes(good)
    assert retry(None, handle.id).wait(timeout_s=300).state == "done"
    with db.new_session() as session:
        n = session.execute(sa.select(sa.func.count()).select_from(TOY_PREDICTION)).scalar()
    assert n == 300


@pytest.mark.parametrize(("database_url", "broker_url"), [("sqlite", "embedded")],
                         indirect=True)
def test_killed_worker_job_completes_without_duplicates(
    db: Database, env, workers: Workers, toy_weights: Path, toy_table: None
) -> None:
    """On the embedded pair; PostgreSQL + Redis is killed harder in test_job_chaos.py."""
    n = 3000
    add_toy_galaxies(db, n)
    _register_toy(db, toy_weights)
    first = workers.start(**{THROTTLE_ENV: "0.6"})
    handle: JobHandle = submit(InferToy(shard_size=1000))
    deadline = time.monotonic() + 180
    while True:
        status = handle.status()
        if status.shards.get("running") and status.done > 0:
            break
        assert time.monotonic() < deadline, "no shard started"
        time.sleep(0.1)
    workers.kill9(first)
    workers.start(**{THROTTLE_ENV: "0.6"})
    assert handle.wait(timeout_s=300).state == "done"
    with db.new_session() as session:
        rows = session.execute(sa.select(sa.func.count(), sa.func.count(
            sa.distinct(TOY_PREDICTION.c.galaxy_id)))).one()
        attempts = session.execute(sa.select(Job.attempts).where(
            Job.parent_id == handle.id)).scalars().all()
    assert tuple(rows) == (n, n)
    assert max(attempts) == 2


POSTGRES_PAIRS = pytest.mark.parametrize(("database_url", "broker_url"),
                                         [("postgresql", "redis"), ("postgresql", "embedded")],
                                         indirect=True)


def _through(proxy: TcpProxy, url: str) -> str:
    return sa.engine.make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False)


@POSTGRES_PAIRS
def test_worker_started_before_postgres_is_reachable(db: Database, env, workers: Workers) -> None:
    proxy = TcpProxy("127.0.0.1", sa.engine.make_url(env["GALCAT_DATABASE_URL"]).port or 5432)
    workers.start(GALCAT_DATABASE_URL=_through(proxy, env["GALCAT_DATABASE_URL"]))
    handles = [submit(Noop()) for _ in range(5)]
    time.sleep(4)
    assert {h.status().state for h in handles} == {"queued"}
    proxy.start()
    try:
        for handle in handles:
            assert handle.wait(timeout_s=180).state == "done"
    finally:
        proxy.stop()


@pytest.mark.parametrize(("database_url", "broker_url"), [("postgresql", "redis")],
                         indirect=True)
def test_worker_losing_postgres_briefly_loses_no_job(
    db: Database, env, workers: Workers, toy_weights: Path, toy_table: None
) -> None:
    n = 2000
    add_toy_galaxies(db, n)
    _register_toy(db, toy_weights)
    proxy = TcpProxy("127.0.0.1", sa.engine.make_url(env["GALCAT_DATABASE_URL"]).port or 5432)
    proxy.start()
    workers.start(GALCAT_DATABASE_URL=_through(proxy, env["GALCAT_DATABASE_URL"]),
                  **{THROTTLE_ENV: "0.5"})
    handle = submit(InferToy(shard_size=1000))
    deadline = time.monotonic() + 180
    while handle.status().done == 0:
        assert time.monotonic() < deadline, "no shard made progress"
        time.sleep(0.1)
    proxy.stop()
    time.sleep(3)
    proxy.start()
    try:
        assert handle.wait(timeout_s=240).state == "done"
    finally:
        proxy.stop()
    with db.new_session() as session:
        rows = session.execute(sa.select(sa.func.count(), sa.func.count(
            sa.distinct(TOY_PREDICTION.c.galaxy_id)))).one()
    assert tuple(rows) == (n, n)
