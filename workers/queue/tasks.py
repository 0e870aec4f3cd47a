"""The Celery task: a thin wrapper around :func:`galcat.workers.queue.runner.execute`."""

from __future__ import annotations

from typing import Any

from celery import shared_task

RUN_JOB = "galcat.run_job"


@shared_task(name=RUN_JOB, bind=True, acks_late=True, max_retries=None)
def run_job(self: Any, job_id: int) -> str:
    """Run job ``job_id`` if it can still be claimed (a duplicate delivery is a no-op).

    While the database cannot be reached the message is retried with back-off, so a
    worker that starts before PostgreSQL, or loses it for a while, loses no job. The
    handler table is the one the worker was started with (``app.conf.galcat_handlers``).
    """
    import sqlalchemy as sa

    from galcat.catalog.settings import load_settings
    from galcat.workers.queue.lifecycle import JobBusy
    from galcat.workers.queue.runner import execute

    handlers = getattr(self.app.conf, "galcat_handlers", None)
    if handlers is None:
        raise RuntimeError("this Celery app has no galcat handler table: start workers "
                           "with `galcat worker`")
    try:
        return execute(load_settings(), job_id, handlers)
    except JobBusy as exc:
        raise self.retry(exc=exc, countdown=0.2) from exc
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        delay = min(30.0, 0.5 * 2 ** min(self.request.retries, 6))
        raise self.retry(exc=exc, countdown=delay) from exc
