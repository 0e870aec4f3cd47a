"""Running the service: uvicorn in a thread (tests, benches) or in the foreground with
worker processes (``galcat serve``)."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from galcat.catalog.access import service_engine
from galcat.catalog.db import Database, get_database
from galcat.catalog.service.app import create_app
from galcat.catalog.service.objects import ObjectView
from galcat.catalog.service.state import Service
from galcat.catalog.settings import Settings, load_settings
from galcat.catalog.tap.uws import TapJobs

FILES_VARIABLE = "GALCAT_SERVICE_FILES"
"""Extra release-file folders for worker processes (``os.pathsep``-separated)."""
PLAIN_FACTORY = "galcat.catalog.service.server:app_from_environment"
"""The app factory of worker processes serving without object views."""


class ServiceServer:
    """uvicorn on a socket bound at construction (``port=0``: any free port, see
    ``server_port``); ``serve_forever`` blocks until ``shutdown``."""

    def __init__(self, service: Service, host: str = "127.0.0.1", port: int = 0,
                 tap_jobs: TapJobs | None = None,
                 object_views: Sequence[ObjectView] = ()) -> None:
        self.service = service
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # asyncio turns Nagle's algorithm off only on sockets made with IPPROTO_TCP; with
        # it on, a response written in two parts waits ~40 ms for the client's ACK.
        self.socket = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.socket.bind((host, port))
        self.socket.listen(2048)
        config = uvicorn.Config(create_app(service, tap_jobs, object_views),
                                log_level="warning" if service.quiet else "info",
                                access_log=not service.quiet, lifespan="off",
                                timeout_graceful_shutdown=5)
        self.uvicorn = uvicorn.Server(config)
        self._stopped = threading.Event()

    @property
    def server_port(self) -> int:
        return int(self.socket.getsockname()[1])

    def serve_forever(self) -> None:
        try:
            self.uvicorn.run(sockets=[self.socket])
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop serving and wait until the server has stopped."""
        self.uvicorn.should_exit = True
        self._stopped.wait(30)

    def server_close(self) -> None:
        self.socket.close()


def make_service(db: Database, folders: Sequence[Path] = (), role: str = "galcat_reader",
                 quiet: bool = False) -> Service:
    """The shared state of one service process over ``db``."""
    return Service(service_engine(db, role), [Path(f) for f in folders], quiet=quiet,
                   query_timeout_s=db.query_timeout_s)


def make_server(db: Database, host: str = "127.0.0.1", port: int = 0,
                folders: Sequence[Path] = (), role: str = "galcat_reader",
                quiet: bool = False, tap_jobs: TapJobs | None = None,
                object_views: Sequence[ObjectView] = ()) -> ServiceServer:
    """A bound, not yet serving, server (``port=0``: any free port, see ``server_port``);
    ``tap_jobs`` runs asynchronous TAP queries, ``object_views`` draw object pages."""
    return ServiceServer(make_service(db, folders, role, quiet), host, port, tap_jobs,
                         object_views)


def serve_in_thread(server: ServiceServer) -> threading.Thread:
    """Serve in a daemon thread (tests, benches); stop with ``server.shutdown()``."""
    thread = threading.Thread(target=server.serve_forever, name="galcat-serve", daemon=True)
    thread.start()
    for _ in range(500):
        if server.uvicorn.started or server._stopped.is_set():
            break
        threading.Event().wait(0.01)
    return thread


def app_from_environment(object_views: Sequence[ObjectView] = (),
                         tap_jobs: TapJobs | None = None) -> object:
    """The ASGI app for a uvicorn worker process: settings from the environment."""
    settings = load_settings()
    folders = [Path(p) for p in os.environ.get(FILES_VARIABLE, "").split(os.pathsep) if p]
    service = make_service(get_database(settings), [settings.home / "releases", *folders],
                           role=settings.readonly_role)
    return create_app(service, tap_jobs, object_views)


def run_service(settings: Settings, host: str, port: int, folders: Sequence[Path],
                workers: int = 1, object_views: Sequence[ObjectView] = (),
                factory: str = PLAIN_FACTORY, tap_jobs: TapJobs | None = None) -> None:
    """Serve until interrupted; release files are also looked for under
    ``$GALCAT_HOME/releases`` and ``folders``. ``object_views`` draw object pages,
    ``tap_jobs`` runs asynchronous TAP queries.
    ``workers`` > 1 runs that many uvicorn worker processes on the one port, each
    building its app with ``factory`` (``module:function``, no arguments), which must
    give them the same views and jobs (``galcat.workers.service_views`` has the one for
    the science views and galcat's job queue)."""
    if workers > 1:
        os.environ[FILES_VARIABLE] = os.pathsep.join(str(Path(f).resolve()) for f in folders)
        print(f"galcat service on http://{host}:{port}/ with {workers} workers "
              "(Ctrl-C to stop)", flush=True)
        uvicorn.run(factory, factory=True, host=host, port=port, workers=workers,
                    log_level="info")
        return
    db = get_database(settings)
    server = make_server(db, host, port, [settings.home / "releases", *folders],
                         role=settings.readonly_role, object_views=object_views,
                         tap_jobs=tap_jobs)
    print(f"galcat service on http://{host}:{server.server_port}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.service.engine.dispose()
