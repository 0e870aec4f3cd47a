"""The job system's failure paths, through real `galcat worker` processes: cancelling a
queued and a running sharded job, a job whose worker dies on every attempt, and no job
left waiting on the reaper.

Cancelling a running sharded job keeps the rows of the shards that finished before the
cancel and writes none for the shard that was running: a shard writes its rows in the
same transaction that marks it done, and that transaction refuses a cancelled job.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from worker_fixtures import PAIRS, Workers, _register_toy

from bench.fixtures.toy_jobs import (
    THROTTLE_ENV,
    TOY_PREDICTION,
    Crash,
    InferToy,
    Noop,
    Sleep,
    add_toy_galaxies,
)
from galcat.catalog.db import Database
from galcat.catalog.schema import Job
from galcat.workers.queue.jobs import cancel, submit


def _rows(db: Database) -> int:
    with db.new_session() as session:
        return int(session.execute(sa.select(sa.func.count()).select_from(TOY_PREDICTION))
                   .scalar_one())


def _shard_states(db: Database, parent: int) -> list[str]:
    with db.new_session() as session:
        return list(session.execute(sa.select(Job.state).where(Job.parent_id == parent)
                                    .order_by(Job.id)).scalars())


@PAIRS
def test_a_cancelled_queued_job_never_runs(db: Database, env, workers: Workers) -> None:
    handle = submit(Noop())
    assert cancel(None, handle.id).state == "cancelled"
    workers.start()
    assert submit(Noop()).wait(timeout_s=120).state == "done", "the worker is alive"
    status = handle.status()
    assert status.state == "cancelled"
    with db.new_session() as session:
        assert session.get(Job, handle.id).attempts == 0


@PAIRS
def test_cancelling_a_running_sharded_job_keeps_only_finished_shards(
    db: Database, env, workers: Workers, toy_weights: Path, toy_table: None
) -> None:
    n, shard = 3000, 500
    add_toy_galaxies(db, n)
    _register_toy(db, toy_weights)
    workers.start(**{THROTTLE_ENV: "0.4"})
    handle = submit(InferToy(shard_size=shard))
    deadline = time.monotonic() + 180
    while True:
        status = handle.status()
        if status.shards.get("done", 0) >= 1 and status.shards.get("running"):
            break
        assert time.monotonic() < deadline, f"no shard finished: {status}"
        time.sleep(0.05)
    assert cancel(None, handle.id).state == "cancelled"
    deadline = time.monotonic() + 60
    while "running" in _shard_states(db, handle.id):
        assert time.monotonic() < deadline, "a cancelled shard kept running"
        time.sleep(0.1)
    states = _shard_states(db, handle.id)
    assert set(states) <= {"done", "cancelled"} and "cancelled" in states
    done = states.count("done")
    assert _rows(db) == done * shard, "rows of finished shards only, none half-written"
    time.sleep(2.0)
    assert _shard_states(db, handle.id) == states and _rows(db) == done * shard, \
        "no further shard ran after the cancel"
    assert handle.status().state == "cancelled"
    assert submit(Noop()).wait(timeout_s=120).state == "done", "the worker is alive"


@PAIRS
def test_a_job_whose_worker_dies_every_time_fails_after_max_attempts(
    db: Database, env, workers: Workers
) -> None:
    workers.start(concurrency=2)
    handle = submit(Crash(), max_attempts=3)
    state = handle.wait(timeout_s=180)
    assert state.state == "failed"
    assert "went silent on attempt 3 of 3" in (state.error or "")
    with db.new_session() as session:
        assert session.get(Job, handle.id).attempts == 3
    assert submit(Noop()).wait(timeout_s=120).state == "done", "the worker is alive"


@PAIRS
def test_a_stopped_worker_finishes_its_running_job_first(
    db: Database, env, workers: Workers
) -> None:
    worker = workers.start()
    handle = submit(Sleep(seconds=3.0))
    deadline = time.monotonic() + 120
    while handle.status().state != "running":
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    os.killpg(worker.pid, signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    state = handle.status()
    assert state.state == "done" and state.result == {"slept_s": 3.0}, state


@pytest.mark.parametrize(("database_url", "broker_url"),
                         [("postgresql", "redis"), ("postgresql", "embedded"),
                          ("sqlite", "embedded")], indirect=True)
def test_no_job_waits_on_the_reaper(db: Database, env, workers: Workers) -> None:
    """With the reaper all but switched off (stale after 10 minutes, orphans re-rung after
    100), every job must still be picked up at once: none may be stranded between its
    row and its message."""
    workers.start(concurrency=2, GALCAT_STALE_AFTER_S="600")
    workers.start(concurrency=1, GALCAT_STALE_AFTER_S="600")
    started = time.monotonic()
    handles = [submit(Noop()) for _ in range(150)]
    for handle in handles:
        remaining = 120 - (time.monotonic() - started)
        assert remaining > 0, "jobs are waiting on the reaper"
        assert handle.wait(timeout_s=remaining).state == "done"
    with db.new_session() as session:
        attempts = session.execute(sa.select(Job.attempts).where(
            Job.id.in_([h.id for h in handles]))).scalars().all()
    assert set(attempts) == {1}
