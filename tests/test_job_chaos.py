"""Chaos: a sharded inference job over 3,000 galaxies while two real workers are killed
with -9 at random moments (a process running a shard, and once a whole worker with its
supervisor). Every galaxy gets exactly one row and the job ends done. On the scale-out
pair (PostgreSQL + Redis); the embedded pair's recovery from a dying process is tested in
test_job_failures and test_jobs."""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from worker_fixtures import Workers, _register_toy

from bench.fixtures.toy_jobs import THROTTLE_ENV, TOY_PREDICTION, InferToy, add_toy_galaxies
from galcat.catalog.db import Database
from galcat.catalog.schema import Job
from galcat.workers.queue.jobs import submit

N_GALAXIES, SHARD = 3000, 150
MAX_KILLS, CHAOS_S = 4, 40.0


def _running_shard_pids(db: Database, parent: int) -> list[int]:
    with db.new_session() as session:
        holders = session.execute(sa.select(Job.worker).where(
            Job.parent_id == parent, Job.state == "running", Job.worker.is_not(None)
        )).scalars().all()
    return [int(h.rsplit(":", 1)[1]) for h in holders]


def _kill(pid: int) -> bool:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize(("database_url", "broker_url"), [("postgresql", "redis")],
                         indirect=True)
def test_a_sharded_job_survives_workers_killed_at_random(
    db: Database, env, workers: Workers, toy_weights: Path, toy_table: None
) -> None:
    add_toy_galaxies(db, N_GALAXIES)
    _register_toy(db, toy_weights)
    throttle = {THROTTLE_ENV: "0.25"}
    first = workers.start(**throttle)
    workers.start(**throttle)
    handle = submit(InferToy(shard_size=SHARD))
    rng = random.Random(20261203)
    shards_killed, whole_worker_killed = 0, False
    deadline = time.monotonic() + CHAOS_S
    while shards_killed < MAX_KILLS and time.monotonic() < deadline:
        time.sleep(rng.uniform(0.3, 1.5))
        if handle.status().final:
            break
        if not whole_worker_killed and shards_killed == 1:
            workers.kill9(first)
            workers.start(**throttle)
            whole_worker_killed = True
            continue
        pids = _running_shard_pids(db, handle.id)
        if pids and _kill(rng.choice(pids)):
            shards_killed += 1
    assert shards_killed >= 2 and whole_worker_killed, "the chaos did not happen"

    assert handle.wait(timeout_s=240).state == "done"
    with db.new_session() as session:
        rows, galaxies = session.execute(sa.select(
            sa.func.count(), sa.func.count(sa.distinct(TOY_PREDICTION.c.galaxy_id)))).one()
        attempts = session.execute(sa.select(Job.attempts).where(
            Job.parent_id == handle.id)).scalars().all()
    assert (rows, galaxies) == (N_GALAXIES, N_GALAXIES), "every galaxy exactly once"
    assert max(attempts) >= 2, "a killed shard was redone"
