"""``--local``: run a job in this process through the same claim/run/finish path, with
shards executed here one after another instead of on workers."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from galcat.catalog.db import get_database
from galcat.catalog.registry import resolve
from galcat.catalog.schema import Job
from galcat.catalog.schema.base import utcnow
from galcat.catalog.settings import Settings
from galcat.workers.jobs import JobHandle
from galcat.workers.lifecycle import JOB
from galcat.workers.runner import QUEUE_OF_KIND, execute


def run_locally(settings: Settings, kind: str, parameters: dict[str, Any],
                model: str | None = None, where: str | None = None) -> JobHandle:
    """Create the job row and run it (and any shards it makes) here."""
    db = get_database(settings)
    params = dict(parameters)
    if where is not None:
        params["where"] = where
    with db.session() as session:
        version_id = resolve(session, model).id if model else None
        job = Job(kind=kind, queue=QUEUE_OF_KIND[kind], state="queued", parameters=params,
                  model_version_id=version_id, created_at=utcnow())
        session.add(job)
        session.flush()
        job_id = int(job.id)
    local = settings.with_(broker_url="memory://")
    execute(local, job_id)
    with db.new_session() as session:
        shards = session.execute(sa.select(JOB.c.id).where(
            JOB.c.parent_id == job_id, JOB.c.state == "queued").order_by(JOB.c.id)).scalars()
        for shard_id in list(shards):
            execute(local, shard_id)
    return JobHandle(job_id, settings)
