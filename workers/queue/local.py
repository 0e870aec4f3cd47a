"""``--local``: run a job in this process through the same claim/run/finish path, with
shards executed here one after another instead of on workers."""

from __future__ import annotations

import sqlalchemy as sa

from galcat.catalog.db import get_database
from galcat.catalog.settings import Settings
from galcat.workers.queue.jobs import JobHandle, create_job
from galcat.workers.queue.lifecycle import JOB
from galcat.workers.queue.runner import Handlers, execute
from galcat.workers.queue.specs import JobSpec


def run_locally(settings: Settings, spec: JobSpec, handlers: Handlers) -> JobHandle:
    """Create the job row of ``spec`` and run it (and any shards it makes) here."""
    job_id = create_job(settings, spec)
    local = settings.with_(broker_url="memory://")
    execute(local, job_id, handlers)
    with get_database(settings).new_session() as session:
        shards = list(session.execute(sa.select(JOB.c.id).where(
            JOB.c.parent_id == job_id, JOB.c.state == "queued").order_by(JOB.c.id)).scalars())
    for shard_id in shards:
        execute(local, shard_id, handlers)
    return JobHandle(job_id, settings)
