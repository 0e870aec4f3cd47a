"""``galcat worker``: a Celery worker process on galcat's queues, with the reaper running."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from celery import signals

from galcat.catalog.db import forget_databases, get_database
from galcat.catalog.settings import Settings
from galcat.workers.queue.app import QUEUES, broker_queue, celery_app
from galcat.workers.queue.reaper import ReaperThread
from galcat.workers.queue.runner import Handlers

_reaper: list[ReaperThread] = []
log = logging.getLogger("galcat.worker")


def start_worker(
    settings: Settings,
    handlers: Handlers,
    queues: Sequence[str] = QUEUES,
    concurrency: int = 1,
    pool: str | None = None,
    name: str | None = None,
    loglevel: str = "INFO",
) -> None:
    """Run a worker of ``handlers`` in this process until it is stopped (SIGTERM/SIGINT)."""
    unknown = set(queues) - set(QUEUES)
    if unknown:
        raise ValueError(f"unknown queues {sorted(unknown)}: choose from {', '.join(QUEUES)}")
    pool = pool or ("solo" if concurrency == 1 else "prefork")
    logging.basicConfig(level=loglevel, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    def _start_reaper(**_: Any) -> None:
        thread = ReaperThread(settings, get_database(settings))
        thread.start()
        _reaper.append(thread)

    def _stop_reaper(**_: Any) -> None:
        for thread in _reaper:
            thread.stop()

    def _after_fork(**_: Any) -> None:
        forget_databases()

    signals.worker_ready.connect(_start_reaper, weak=False)
    signals.worker_shutdown.connect(_stop_reaper, weak=False)
    signals.worker_process_init.connect(_after_fork, weak=False)
    catalogue = catalogue_identity(settings)
    names = [broker_queue(queue, catalogue) for queue in queues]
    log.info("worker of catalogue %s on queues %s", catalogue, ", ".join(names))
    argv = ["worker", "--queues", ",".join(names), "--concurrency", str(concurrency),
            "--pool", pool, "--loglevel", loglevel, "--without-gossip", "--without-mingle",
            "--without-heartbeat"]
    if name:
        argv += ["--hostname", name]
    celery_app(settings, handlers).worker_main(argv)


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
