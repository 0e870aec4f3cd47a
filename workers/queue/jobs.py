"""The Python interface to jobs: submit a typed spec, watch, cancel, retry.

>>> handle = submit(InferDla(model="dla@latest", where="z_qso > 2.5"))
>>> handle.wait(progress=True).state
'done'
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from galcat.catalog.db import Database, get_database
from galcat.catalog.registry import resolve
from galcat.catalog.schema import Job
from galcat.catalog.schema.base import utcnow
from galcat.catalog.settings import Settings, load_settings
from galcat.workers.queue.doorbell import ring
from galcat.workers.queue.lifecycle import JOB
from galcat.workers.queue.progress import watch
from galcat.workers.queue.specs import JobSpec

FINAL_STATES = ("done", "failed", "cancelled")


class JobError(Exception):
    """A job that cannot be submitted, found, cancelled or retried."""


@dataclass(frozen=True)
class JobStatus:
    """A snapshot of a job; a parent's progress is the sum of its shards'."""

    id: int
    kind: str
    state: str
    done: int
    total: int
    message: str | None
    error: str | None
    attempts: int
    worker: str | None
    shards: dict[str, int]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


class JobHandle:
    """A submitted job."""

    def __init__(self, job_id: int, settings: Settings) -> None:
        self.id = job_id
        self.settings = settings

    def __repr__(self) -> str:
        return f"JobHandle({self.id})"

    @property
    def db(self) -> Database:
        return get_database(self.settings)

    def status(self) -> JobStatus:
        return job_status(self.db, self.id)

    def wait(self, progress: bool = False, timeout_s: float | None = None,
             poll_s: float = 0.2) -> JobStatus:
        """Block until the job ends; with ``progress``, show a live bar."""
        if progress:
            return watch(self.id, self.status, timeout_s=timeout_s, poll_s=poll_s)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            state = self.status()
            if state.final:
                return state
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {self.id} still {state.state} after {timeout_s} s")
            time.sleep(poll_s)

    def cancel(self) -> JobStatus:
        return cancel(self.settings, self.id)


def create_job(settings: Settings, spec: JobSpec, max_attempts: int = 3,
               held: bool = False) -> int:
    """Write ``spec`` as a queued (or ``held``) job row, its model reference resolved, and
    commit it."""
    db = get_database(settings)
    with db.session() as session:
        reference = spec.model_reference
        version_id = resolve(session, reference).id if reference else None
        job = Job(kind=spec.kind, queue=spec.queue, state="held" if held else "queued",
                  parameters=spec.to_params(),
                  model_version_id=version_id, max_attempts=max_attempts, created_at=utcnow())
        session.add(job)
        session.flush()
        return int(job.id)


def submit(spec: JobSpec, settings: Settings | None = None, max_attempts: int = 3) -> JobHandle:
    """Write the job row (queued), commit, then ring the broker."""
    settings = settings or load_settings()
    job_id = create_job(settings, spec, max_attempts)
    ring(settings, get_database(settings), [(job_id, spec.queue)])
    return JobHandle(job_id, settings)


def release(settings: Settings, job_id: int) -> JobHandle:
    """Queue a held job and ring the broker; a job already past ``held`` is left alone."""
    db = get_database(settings)
    with db.session() as session:
        found = session.execute(sa.select(JOB.c.state, JOB.c.queue)
                                .where(JOB.c.id == job_id)).first()
        if found is None:
            raise JobError(f"no job {job_id}")
        moved = session.execute(sa.update(JOB).where(JOB.c.id == job_id, JOB.c.state == "held")
                                .values(state="queued")).rowcount  # type: ignore[attr-defined]
    if moved:
        ring(settings, db, [(job_id, found.queue)])
    return JobHandle(job_id, settings)


def update_parameters(settings: Settings, job_id: int, changes: dict[str, Any]) -> None:
    """Change parameters of a held job (a UWS job in PENDING takes new parameters)."""
    db = get_database(settings)
    with db.session() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise JobError(f"no job {job_id}")
        if job.state != "held":
            raise JobError(f"job {job_id} is {job.state}: only a held job takes new parameters")
        job.parameters = {**job.parameters, **changes}


def forget(settings: Settings, job_id: int) -> None:
    """Delete a finished job's row (and its shards'); a job still running is refused."""
    db = get_database(settings)
    with db.session() as session:
        state = session.execute(sa.select(JOB.c.state).where(JOB.c.id == job_id)).scalar()
        if state is None:
            return
        if state not in FINAL_STATES:
            raise JobError(f"job {job_id} is {state}: cancel it before forgetting it")
        session.execute(sa.delete(JOB).where(sa.or_(JOB.c.parent_id == job_id,
                                                    JOB.c.id == job_id)))


def job_status(db: Database, job_id: int) -> JobStatus:
    with db.new_session() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise JobError(f"no job {job_id}")
        shards: dict[str, int] = dict(session.execute(
            sa.select(JOB.c.state, sa.func.count()).where(JOB.c.parent_id == job_id)
            .group_by(JOB.c.state)).all())
        done, total = job.progress_done, job.progress_total
        if shards:
            done = int(session.execute(
                sa.select(sa.func.coalesce(sa.func.sum(JOB.c.progress_done), 0))
                .where(JOB.c.parent_id == job_id)).scalar_one())
        return JobStatus(job.id, job.kind, job.state, done, total, job.message, job.error,
                         job.attempts, job.worker, {k: int(v) for k, v in shards.items()},
                         job.created_at, job.started_at, job.finished_at, job.result)


def list_jobs(settings: Settings | None = None, limit: int = 50,
              include_shards: bool = False) -> list[JobStatus]:
    """The newest jobs first."""
    db = get_database(settings or load_settings())
    with db.new_session() as session:
        query = sa.select(JOB.c.id).order_by(JOB.c.id.desc()).limit(limit)
        if not include_shards:
            query = query.where(JOB.c.parent_id.is_(None))
        ids = session.execute(query).scalars().all()
    return [job_status(db, i) for i in ids]


def cancel(settings: Settings | None, job_id: int) -> JobStatus:
    """Cancel a job and every shard of it that has not finished."""
    settings = settings or load_settings()
    db = get_database(settings)
    with db.session() as session:
        state = session.execute(sa.select(JOB.c.state).where(JOB.c.id == job_id)).scalar()
        if state is None:
            raise JobError(f"no job {job_id}")
        if state in FINAL_STATES:
            raise JobError(f"job {job_id} is already {state}")
        session.execute(sa.update(JOB).where(
            sa.or_(JOB.c.id == job_id, JOB.c.parent_id == job_id),
            JOB.c.state.in_(("held", "queued", "running"))
        ).values(state="cancelled", finished_at=utcnow(), message="cancelled"))
    return job_status(db, job_id)


def retry(settings: Settings | None, job_id: int) -> JobHandle:
    """Queue a failed or cancelled job again (for a parent: its unfinished shards)."""
    settings = settings or load_settings()
    db = get_database(settings)
    with db.session() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise JobError(f"no job {job_id}")
        if job.state not in ("failed", "cancelled"):
            raise JobError(f"job {job_id} is {job.state}; only failed or cancelled jobs retry")
        shards = session.execute(sa.select(JOB.c.id, JOB.c.queue).where(
            JOB.c.parent_id == job_id, JOB.c.state.in_(("failed", "cancelled")))).all()
        reset = {"state": "queued", "error": None, "worker": None, "heartbeat_at": None,
                 "finished_at": None, "attempts": 0, "message": "retried"}
        if shards:
            session.execute(sa.update(JOB).where(JOB.c.id.in_([s.id for s in shards]))
                            .values(**reset, progress_done=0))
            session.execute(sa.update(JOB).where(JOB.c.id == job_id).values(
                state="running", error=None, finished_at=None, message="retrying shards"))
            to_ring = [(s.id, s.queue) for s in shards]
        else:
            session.execute(sa.update(JOB).where(JOB.c.id == job_id).values(**reset))
            to_ring = [(job_id, job.queue)]
    ring(settings, db, to_ring)
    return JobHandle(job_id, settings)
