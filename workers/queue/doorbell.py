"""Ringing the broker: one message per job, sent only after the job row is committed."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from galcat.catalog.db import Database
from galcat.catalog.schema.base import utcnow
from galcat.catalog.settings import Settings
from galcat.workers.queue.app import broker_queue, celery_app
from galcat.workers.queue.lifecycle import JOB
from galcat.workers.queue.tasks import RUN_JOB


def ring(settings: Settings, db: Database, jobs: Iterable[tuple[int, str]]) -> None:
    """Send a ``run_job`` message for each committed (job id, queue).

    ``heartbeat_at`` of a queued job records when its doorbell last rang, so the
    reaper can ring again for a job whose message was lost. It is committed before
    the messages go out, so no transaction of ours holds the row when a worker claims it.
    """
    jobs = list(jobs)
    if not jobs:
        return
    with db.session() as session:
        session.execute(sa.update(JOB).where(
            JOB.c.id.in_([j for j, _ in jobs]), JOB.c.state == "queued"
        ).values(heartbeat_at=utcnow()))
    send(settings, db, jobs)


def send(settings: Settings, db: Database, jobs: Iterable[tuple[int, str]]) -> None:
    """The ``run_job`` messages alone, on this catalogue's queues (rows untouched)."""
    app = celery_app(settings)
    with app.producer_or_acquire() as producer:
        for job_id, queue in jobs:
            app.send_task(RUN_JOB, args=[job_id], queue=broker_queue(queue, db.identity),
                          producer=producer)
