"""Celery tasks: thin wrappers around the plain functions in ``workers.runner``."""

from __future__ import annotations

from typing import Any

from celery import shared_task

RUN_JOB = "galcat.run_job"


@shared_task(name=RUN_JOB, bind=True, acks_late=True, max_retries=None)
def run_job(self: Any, job_id: int) -> str:
    """Run job ``job_id`` if it can still be claimed (a duplicate delivery is a no-op).

    While the database cannot be reached the message is retried with back-off, so a
    worker that starts before PostgreSQL, or loses it for a while, loses no job.
    """
    import sqlalchemy as sa

    from galcat.catalog.settings import load_settings
    from galcat.workers.lifecycle import JobBusy
    from galcat.workers.runner import execute

    try:
        return execute(load_settings(), job_id)
    except JobBusy as exc:
        raise self.retry(exc=exc, countdown=0.2) from exc
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        delay = min(30.0, 0.5 * 2 ** min(self.request.retries, 6))
        raise self.retry(exc=exc, countdown=delay) from exc
