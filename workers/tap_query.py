"""Asynchronous TAP: each query is a ``tap_query`` job run by a worker, its answer a file
under ``$GALCAT_HOME/tap`` that the service sends (IVOA UWS through ``catalog.tap.uws``).

``QueueTapJobs`` is what the service is given to create, start and abort such jobs
(it writes job rows; the service itself only reads).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from galcat.catalog.access import service_engine
from galcat.catalog.db import Database
from galcat.catalog.schema.base import utcnow
from galcat.catalog.settings import Settings
from galcat.catalog.tap.output import parse_format
from galcat.catalog.tap.query import TAP_ERRORS, answer_adql, newest_releases
from galcat.catalog.tap.uws import expired_jobs
from galcat.workers.queue.jobs import (
    JobError,
    cancel,
    create_job,
    forget,
    release,
    update_parameters,
)
from galcat.workers.queue.lifecycle import JobContext
from galcat.workers.queue.specs import TapQuery


class TapJobFailed(Exception):
    """The query was refused or stopped; the message is the UWS error summary."""


def answers_folder(settings: Settings) -> Path:
    """Where asynchronous answers are written."""
    return settings.home / "tap"


def run_tap_query(ctx: JobContext, spec: TapQuery) -> None:
    """Run the query as the read-only role and write its answer file."""
    if spec.refusal:
        raise TapJobFailed(spec.refusal)
    fmt = parse_format(spec.format)
    engine = service_engine(ctx.db, ctx.settings.readonly_role)
    try:
        with engine.connect() as connection:
            releases = newest_releases(connection)
        ctx.progress(0, 1, "querying", force=True)
        try:
            found = answer_adql(engine, spec.query, spec.maxrec, fmt, spec.execution_s,
                                releases)
        except TAP_ERRORS as exc:
            raise TapJobFailed(str(exc)) from None
    finally:
        if engine is not ctx.db.readonly_engine:
            engine.dispose()
    folder = answers_folder(ctx.settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"job-{ctx.job_id}.{fmt.suffix}"
    handle, staging = tempfile.mkstemp(prefix=f".job-{ctx.job_id}-", dir=folder)
    with os.fdopen(handle, "wb") as out:
        out.write(found.body)
    os.replace(staging, path)
    ctx.finish({"file": str(path), "format": fmt.name, "media_type": fmt.media_type,
                "rows": found.rows, "overflow": found.overflow, "bytes": len(found.body),
                "releases": found.releases})


@dataclass
class QueueTapJobs:
    """Creates, starts and aborts TAP jobs on the catalogue and broker of ``settings``."""

    settings: Settings

    def create(self, query: str, maxrec: int, fmt: str, run: bool, run_id: str = "",
               refusal: str = "") -> int:
        spec = TapQuery(query=query, maxrec=maxrec, format=fmt, run_id=run_id,
                        refusal=refusal)
        job_id = create_job(self.settings, spec, max_attempts=1, held=True)
        if run:
            self.run(job_id)
        return job_id

    def set_run_id(self, job_id: int, run_id: str) -> None:
        update_parameters(self.settings, job_id, {"run_id": run_id})

    def run(self, job_id: int) -> None:
        release(self.settings, job_id)

    def abort(self, job_id: int) -> None:
        with contextlib.suppress(JobError):
            cancel(self.settings, job_id)

    def delete(self, job_id: int) -> None:
        """Abort the job, remove its answer and forget it."""
        self.abort(job_id)
        for path in answers_folder(self.settings).glob(f"job-{job_id}.*"):
            path.unlink(missing_ok=True)
        forget(self.settings, job_id)



def sweep_expired_answers(settings: Settings, db: Database) -> list[int]:
    """Delete the asynchronous TAP jobs past their destruction time, with their answer
    files (the workers' reaper runs this on every pass); one still running is aborted
    and deleted on a later pass. The ids deleted."""
    with db.engine.connect() as connection:
        expired = expired_jobs(connection, utcnow())
    jobs, deleted = QueueTapJobs(settings), []
    for job_id in expired:
        with contextlib.suppress(JobError):
            jobs.delete(job_id)
            deleted.append(job_id)
    return deleted
