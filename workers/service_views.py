"""The public service with its science and its jobs: object pages of DLA absorbers and
galaxies, and asynchronous TAP queries run on galcat's workers.

``catalog.service`` serves releases without knowing any science; the object views
that read pixels and draw models live here, in the one room that combines catalogue
rows with the models' functions. ``galcat serve`` calls :func:`run_public_service`;
each uvicorn worker process builds its app with :func:`app_from_environment`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from galcat.catalog.service import server
from galcat.catalog.service.objects import ObjectView
from galcat.catalog.settings import Settings, load_settings
from galcat.workers.tap_query import QueueTapJobs

WORKER_FACTORY = "galcat.workers.service_views:app_from_environment"


def science_views() -> tuple[ObjectView, ...]:
    """One object view per catalogue that has object pages (dla, morphology); their
    modules, which import the science (scipy), load on the first call."""
    from galcat.workers.dla.object_view import DlaObjectView
    from galcat.workers.galaxy.object_view import MorphologyObjectView

    return (DlaObjectView(), MorphologyObjectView())


def app_from_environment() -> object:
    """The ASGI app of a uvicorn worker process, with the science views and the queue."""
    return server.app_from_environment(science_views(), QueueTapJobs(load_settings()))


def run_public_service(settings: Settings, host: str, port: int, folders: Sequence[Path],
                       workers: int = 1) -> None:
    """``galcat serve``: the service with object pages, until interrupted (see
    :func:`galcat.catalog.service.server.run_service`)."""
    server.run_service(settings, host, port, folders, workers, science_views(),
                       WORKER_FACTORY, QueueTapJobs(settings))
