"""``galcat worker``: a Celery worker process on galcat's queues, with the reaper running."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from celery import signals

from galcat.catalog.db import forget_databases, get_database
from galcat.catalog.settings import Settings
from galcat.workers.queue.app import QUEUES, celery_app
from galcat.workers.queue.reaper import ReaperThread
from galcat.workers.queue.runner import Handlers

_reaper: list[ReaperThread] = []


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
    argv = ["worker", "--queues", ",".join(queues), "--concurrency", str(concurrency),
            "--pool", pool, "--loglevel", loglevel, "--without-gossip", "--without-mingle",
            "--without-heartbeat"]
    if name:
        argv += ["--hostname", name]
    celery_app(settings, handlers).worker_main(argv)
