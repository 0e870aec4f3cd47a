"""``galcat worker``: single-job Celery worker processes on galcat's queues, kept alive by a
supervisor, with the reaper running in the first."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Sequence
from types import FrameType
from typing import Any

import sqlalchemy as sa
from celery import signals
from celery.exceptions import WorkerShutdown

from galcat.catalog.db import forget_databases, get_database
from galcat.catalog.settings import Settings
from galcat.workers.queue.app import QUEUES, broker_queue, celery_app
from galcat.workers.queue.reaper import Chore, ReaperThread
from galcat.workers.queue.runner import Handlers
from galcat.workers.queue.supervisor import supervise

_reaper: list[ReaperThread] = []
log = logging.getLogger("galcat.worker")


def start_worker(
    settings: Settings,
    handlers: Handlers,
    queues: Sequence[str] = QUEUES,
    concurrency: int = 1,
    name: str | None = None,
    loglevel: str = "INFO",
    chores: Sequence[Chore] = (),
) -> None:
    """Run ``concurrency`` single-job worker processes of ``handlers`` until stopped
    (SIGTERM/SIGINT). A process that dies under its job is replaced; the job goes back to
    the queue through the reaper, which runs in the first process, with ``chores``."""
    unknown = set(queues) - set(QUEUES)
    if unknown:
        raise ValueError(f"unknown queues {sorted(unknown)}: choose from {', '.join(QUEUES)}")
    logging.basicConfig(level=loglevel, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    catalogue = catalogue_identity(settings)
    forget_databases()
    names = [broker_queue(queue, catalogue) for queue in queues]
    log.info("worker of catalogue %s on queues %s: %d process(es)", catalogue,
             ", ".join(names), concurrency)

    def run_slot(slot: int) -> int:
        return _run_solo(settings, handlers, names, node_name(name, slot), loglevel,
                         chores=chores if slot == 0 else None)

    raise SystemExit(supervise(concurrency, run_slot))


def node_name(name: str | None, slot: int) -> str:
    """Celery's node name for process ``slot`` of a worker called ``name`` (``w0@%h`` gives
    ``w0-1@%h``)."""
    base, _, host = (name or f"galcat{os.getpid()}@%h").partition("@")
    return f"{base}-{slot}@{host or '%h'}"


def _run_solo(settings: Settings, handlers: Handlers, queue_names: Sequence[str], node: str,
              loglevel: str, chores: Sequence[Chore] | None) -> int:
    """One Celery worker with the solo pool in this process: one job at a time, every
    broker call on this thread (kombu's SQLite transport is not thread-safe); with the
    reaper and its ``chores`` unless they are None."""
    if chores is not None:
        def _start_reaper(**_: Any) -> None:
            thread = ReaperThread(settings, get_database(settings), chores=chores)
            thread.start()
            _reaper.append(thread)

        def _stop_reaper(**_: Any) -> None:
            for thread in _reaper:
                thread.stop()

        signals.worker_ready.connect(_start_reaper, weak=False)
        signals.worker_shutdown.connect(_stop_reaper, weak=False)
    signals.worker_ready.connect(_stop_at_once_when_idle, weak=False)
    argv = ["worker", "--queues", ",".join(queue_names), "--concurrency", "1", "--pool", "solo",
            "--loglevel", loglevel, "--without-gossip", "--without-mingle",
            "--without-heartbeat", "--hostname", node]
    celery_app(settings, handlers).worker_main(argv)
    return 0


def _stop_at_once_when_idle(**_: Any) -> None:
    """SIGTERM/SIGINT: Celery's warm shutdown lets the running job finish, but when no
    job runs it still waits out the consumer's 2-second polls; stop at once instead
    (a message taken from the broker in that instant is rung again by the reaper)."""
    busy = threading.Event()
    signals.task_prerun.connect(lambda **_: busy.set(), weak=False)
    signals.task_postrun.connect(lambda **_: busy.clear(), weak=False)
    for signum in (signal.SIGTERM, signal.SIGINT):
        celery_handler = signal.getsignal(signum)

        def on_signal(number: int, frame: FrameType | None,
                      celery_handler: Any = celery_handler) -> None:
            if callable(celery_handler):
                celery_handler(number, frame)
            if not busy.is_set():
                raise WorkerShutdown(0)

        signal.signal(signum, on_signal)


def catalogue_identity(settings: Settings, max_wait_s: float = 30.0) -> str:
    """The catalogue's identity, waiting (with back-off) while its database cannot be
    reached: a worker that starts before PostgreSQL waits for it."""
    delay = 0.5
    while True:
        try:
            return get_database(settings).identity
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            first = str(exc.orig or exc).strip().splitlines()[0]
            log.warning("catalogue database not reachable (%s); trying again in %.1f s",
                        first, delay)
            time.sleep(delay)
            delay = min(max_wait_s, 2 * delay)
