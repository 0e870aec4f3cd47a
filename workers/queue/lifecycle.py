"""A job's life on a worker: claim, heartbeat, progress, and one final transaction.

The job row is the truth. A worker holds a job by (worker name, attempt number); a
write from a worker that no longer holds its job (the reaper gave it away) is
rolled back, so a job is never half-done or done twice.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from galcat.catalog.db import Database
from galcat.catalog.schema import Job
from galcat.catalog.schema.base import utcnow
from galcat.catalog.settings import Settings

JOB = cast(sa.Table, Job.__table__)
log = logging.getLogger("galcat.worker")
ResultWriter = Callable[[Session], None]


class JobCancelled(Exception):
    """The job was cancelled while it ran."""


class JobLost(Exception):
    """This worker no longer holds the job (the reaper re-queued it)."""


class JobBusy(Exception):
    """The job is queued but another transaction holds its row: try again shortly."""


def job_state(db: Database, job_id: int) -> str | None:
    """The job's state, read without taking any lock."""
    with db.new_session() as session:
        return session.execute(sa.select(JOB.c.state).where(JOB.c.id == job_id)).scalar()


def worker_name() -> str:
    """``host:pid``: who holds a job."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class JobContext:
    """What a running job's handler may do: read its row, report progress, finish."""

    settings: Settings
    db: Database
    job_id: int
    worker: str
    attempt: int
    kind: str
    parameters: dict[str, Any]
    parent_id: int | None
    model_version_id: int | None
    _last_progress: float = field(default=0.0, repr=False)

    def progress(self, done: int, total: int, message: str | None = None,
                 force: bool = False) -> None:
        """Record progress; raises ``JobCancelled`` or ``JobLost`` when told to stop."""
        now = time.monotonic()
        if not force and now - self._last_progress < 0.25 and done < total:
            return
        self._last_progress = now
        try:
            self._record_progress(done, total, message)
        except (sa.exc.OperationalError, sa.exc.InterfaceError):
            return

    def _record_progress(self, done: int, total: int, message: str | None) -> None:
        with self.db.session() as session:
            state = session.execute(
                sa.select(JOB.c.state, JOB.c.worker, JOB.c.attempts).where(JOB.c.id == self.job_id)
            ).one()
            self._check(state)
            values: dict[str, Any] = {"progress_done": done, "progress_total": total}
            if message is not None:
                values["message"] = message
            session.execute(sa.update(JOB).where(JOB.c.id == self.job_id).values(**values))

    def finish(self, result: dict[str, Any] | None, write: ResultWriter | None = None,
               message: str | None = None) -> None:
        """Write results and the final ``done`` state in one transaction (retried while
        the database is briefly unreachable: the transaction is all or nothing)."""
        for attempt in range(8):
            try:
                self._finish_once(result, write, message)
                return
            except (sa.exc.OperationalError, sa.exc.InterfaceError):
                if attempt == 7:
                    raise
                time.sleep(0.5 * 2**attempt)

    def _finish_once(self, result: dict[str, Any] | None, write: ResultWriter | None,
                     message: str | None) -> None:
        with self.db.session() as session:
            self.hold(session)
            if write is not None:
                write(session)
            values: dict[str, Any] = {"state": "done", "finished_at": utcnow(), "result": result,
                                      "error": None, "heartbeat_at": None,
                                      "progress_done": JOB.c.progress_total}
            if message is not None:
                values["message"] = message
            session.execute(sa.update(JOB).where(JOB.c.id == self.job_id).values(**values))
            if self.parent_id is not None:
                roll_up_parent(session, self.parent_id)

    def detach(self, message: str) -> None:
        """Keep the job running without a worker (a parent waiting for its shards)."""
        with self.db.session() as session:
            self.hold(session)
            session.execute(sa.update(JOB).where(JOB.c.id == self.job_id).values(
                worker=None, heartbeat_at=None, message=message))

    def hold(self, session: Session) -> None:
        """Lock the job row; raise unless this worker still holds it."""
        row = session.execute(
            sa.select(JOB.c.state, JOB.c.worker, JOB.c.attempts)
            .where(JOB.c.id == self.job_id).with_for_update()
        ).one()
        self._check(row)

    def _check(self, row: Any) -> None:
        if row.state == "cancelled":
            raise JobCancelled(f"job {self.job_id} was cancelled")
        if row.state != "running" or row.worker != self.worker or row.attempts != self.attempt:
            raise JobLost(f"job {self.job_id} is no longer held by {self.worker}")


def claim(settings: Settings, db: Database, job_id: int) -> JobContext | None:
    """Take job ``job_id`` if it is queued; None if another worker has it or it ended."""
    worker = worker_name()
    with db.session() as session:
        if not db.claim_job(session, JOB, job_id, worker):
            return None
        row = session.execute(sa.select(Job).where(Job.id == job_id)).scalar_one()
        return JobContext(settings, db, job_id, worker, row.attempts, row.kind,
                          dict(row.parameters), row.parent_id, row.model_version_id)


def fail(ctx: JobContext, error: str) -> None:
    """Mark the job failed with ``error`` (if this worker still holds it)."""
    with ctx.db.session() as session:
        held = session.execute(
            sa.update(JOB).where(JOB.c.id == ctx.job_id, JOB.c.state == "running",
                                 JOB.c.worker == ctx.worker, JOB.c.attempts == ctx.attempt)
            .values(state="failed", error=error, finished_at=utcnow(), heartbeat_at=None)
        )
        if held.rowcount and ctx.parent_id is not None:  # type: ignore[attr-defined]
            roll_up_parent(session, ctx.parent_id)


def roll_up_parent(session: Session, parent_id: int) -> None:
    """A parent is done when all its shards are, failed when one failed for good."""
    parent = session.execute(
        sa.select(JOB.c.state).where(JOB.c.id == parent_id).with_for_update()
    ).scalar_one()
    if parent != "running":
        return
    states: dict[str, int] = dict(session.execute(
        sa.select(JOB.c.state, sa.func.count()).where(JOB.c.parent_id == parent_id)
        .group_by(JOB.c.state)
    ).all())
    if states.get("failed"):
        error = session.execute(
            sa.select(JOB.c.shard_index, JOB.c.error)
            .where(JOB.c.parent_id == parent_id, JOB.c.state == "failed").limit(1)
        ).one()
        session.execute(sa.update(JOB).where(JOB.c.id == parent_id).values(
            state="failed", finished_at=utcnow(),
            error=f"shard {error.shard_index} failed: {error.error}"))
    elif set(states) == {"done"}:
        session.execute(sa.update(JOB).where(JOB.c.id == parent_id).values(
            state="done", finished_at=utcnow(),
            message=f"{states['done']} shard{'' if states['done'] == 1 else 's'} done"))


class Heartbeat:
    """Touches the job's heartbeat every ``settings.heartbeat_s`` while a handler runs."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{ctx.job_id}",
                                        daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.ctx.settings.heartbeat_s):
            try:
                with self.ctx.db.session() as session:
                    session.execute(sa.update(JOB).where(
                        JOB.c.id == self.ctx.job_id, JOB.c.state == "running",
                        JOB.c.worker == self.ctx.worker, JOB.c.attempts == self.ctx.attempt,
                    ).values(heartbeat_at=utcnow()))
            except Exception:
                log.warning("heartbeat of job %s failed (next in %.1f s)", self.ctx.job_id,
                            self.ctx.settings.heartbeat_s, exc_info=True)
