"""The Celery app, built from galcat's settings. TensorFlow is never imported here."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from celery import Celery

from galcat.catalog.settings import Settings, load_settings

QUEUES = ("gpu", "cpu")
EMBEDDED_POLL_S = 0.05
FILESYSTEM_BROKER = "filesystem://"


def make_celery(settings: Settings) -> Celery:
    """A Celery app on ``settings.broker_url`` with galcat's delivery guarantees:
    late acks, prefetch 1, a Redis visibility timeout above the longest job."""
    app = Celery("galcat", broker=settings.broker_url, include=["galcat.workers.queue.tasks"])
    transport_options: dict[str, Any] = {}
    if settings.broker_url.startswith("sqla+"):
        settings.home.mkdir(parents=True, exist_ok=True)
        _tune_embedded_broker()
    if settings.broker_url == FILESYSTEM_BROKER:
        transport_options.update(_filesystem_broker_options(settings))
    if settings.broker_url.startswith(("redis", "rediss")):
        transport_options["visibility_timeout"] = 12 * 3600
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="cpu",
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        enable_utc=True,
    )
    app.conf.galcat_settings = settings
    return app


def _tune_embedded_broker() -> None:
    """Poll the SQLite broker every 50 ms instead of every second.

    kombu's SQLAlchemy transport hands every transport option to ``create_engine``,
    so its polling interval can only be set on the transport class.
    """
    from kombu.transport import sqlalchemy as sqla_transport

    sqla_transport.Transport.polling_interval = EMBEDDED_POLL_S


def _filesystem_broker_options(settings: Settings) -> dict[str, Any]:
    """kombu's filesystem transport on folders under ``home/broker``, polled every 50 ms:
    one file per message in ``queue/`` (written and read there), exchanges in ``control/``."""
    queue, control = settings.home / "broker" / "queue", settings.home / "broker" / "control"
    for folder in (queue, control):
        folder.mkdir(parents=True, exist_ok=True)
    return {"data_folder_in": str(queue), "data_folder_out": str(queue),
            "control_folder": str(control), "polling_interval": EMBEDDED_POLL_S}


def broker_queue(queue: str, catalog: str) -> str:
    """The broker's name for ``queue`` of the catalogue whose identity is ``catalog``
    (``galcat.cpu.<12 hex>``): catalogues that share a broker never take each other's
    messages."""
    return f"galcat.{queue}.{hashlib.sha256(catalog.encode()).hexdigest()[:12]}"


_apps: dict[Settings, Celery] = {}


def celery_app(settings: Settings | None = None, handlers: Mapping[str, Any] | None = None
               ) -> Celery:
    """The process's Celery app for ``settings`` (default: from the environment); a worker
    passes the ``handlers`` its tasks run (a :data:`galcat.workers.queue.runner.Handlers`)."""
    settings = settings or load_settings()
    app = _apps.get(settings)
    if app is None:
        app = _apps[settings] = make_celery(settings)
    if handlers is not None:
        app.conf.galcat_handlers = handlers
    return app
