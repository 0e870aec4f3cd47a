"""The reaper: re-queue jobs whose worker went silent; ring again for lost messages.

Every worker runs it periodically. A running job whose heartbeat is older than
``settings.stale_after_s`` goes back to the queue (up to ``max_attempts``), then is
marked failed with the last error. A queued job whose doorbell rang more than
``ORPHAN_FACTOR × stale_after_s`` ago gets another message (duplicates are harmless:
only one worker can claim the row).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from galcat.catalog.db import Database
from galcat.catalog.schema.base import utcnow
from galcat.catalog.settings import Settings
from galcat.workers.queue.doorbell import ring
from galcat.workers.queue.lifecycle import JOB, roll_up_parent

log = logging.getLogger("galcat.reaper")

ORPHAN_FACTOR = 10

Chore = Callable[[Settings, Database], object]
"""Housekeeping the reaper also runs on each pass (e.g. deleting expired TAP answers)."""


@dataclass(frozen=True)
class ReapReport:
    requeued: list[int]
    failed: list[int]
    rerung: list[int]


def reap(settings: Settings, db: Database) -> ReapReport:
    """One pass of the reaper."""
    now = utcnow()
    stale_cutoff = now - timedelta(seconds=settings.stale_after_s)
    orphan_cutoff = now - timedelta(seconds=settings.stale_after_s * ORPHAN_FACTOR)
    requeued: list[tuple[int, str]] = []
    failed: list[int] = []
    with db.session() as session:
        stale = session.execute(
            sa.select(JOB.c.id, JOB.c.queue, JOB.c.attempts, JOB.c.max_attempts, JOB.c.worker,
                      JOB.c.error, JOB.c.parent_id)
            .where(JOB.c.state == "running", JOB.c.heartbeat_at.is_not(None),
                   JOB.c.heartbeat_at < stale_cutoff)
            .with_for_update(skip_locked=True)
        ).all()
        for job in stale:
            if job.attempts >= job.max_attempts:
                last = f"; last error: {job.error}" if job.error else ""
                error = (f"worker {job.worker} went silent on attempt {job.attempts} of "
                         f"{job.max_attempts}{last}")
                session.execute(sa.update(JOB).where(JOB.c.id == job.id).values(
                    state="failed", error=error, finished_at=now, heartbeat_at=None))
                if job.parent_id is not None:
                    roll_up_parent(session, job.parent_id)
                failed.append(job.id)
            else:
                session.execute(sa.update(JOB).where(JOB.c.id == job.id).values(
                    state="queued", worker=None, heartbeat_at=None,
                    message=f"re-queued: worker {job.worker} went silent"))
                requeued.append((job.id, job.queue))
        orphans = session.execute(
            sa.select(JOB.c.id, JOB.c.queue).where(
                JOB.c.state == "queued",
                sa.or_(JOB.c.heartbeat_at.is_(None), JOB.c.heartbeat_at < orphan_cutoff),
                JOB.c.created_at < orphan_cutoff,
            )
        ).all()
    rerung = [(o.id, o.queue) for o in orphans]
    ring(settings, db, requeued + rerung)
    return ReapReport([j for j, _ in requeued], failed, [j for j, _ in rerung])


class ReaperThread(threading.Thread):
    """Runs ``reap``, then each of ``chores``, every ``interval_s`` until stopped."""

    def __init__(self, settings: Settings, db: Database, interval_s: float | None = None,
                 chores: Sequence[Chore] = ()) -> None:
        super().__init__(name="galcat-reaper", daemon=True)
        self.settings = settings
        self.db = db
        self.chores = tuple(chores)
        self.interval_s = interval_s or max(0.5, min(30.0, settings.stale_after_s / 3))
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval_s):
            for chore in (reap, *self.chores):
                try:
                    chore(self.settings, self.db)
                except Exception:
                    log.warning("%s failed (next in %.1f s)", getattr(chore, "__name__", chore),
                                self.interval_s, exc_info=True)

    def stop(self) -> None:
        self._stop_event.set()
