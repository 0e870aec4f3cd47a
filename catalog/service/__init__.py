"""``galcat serve``: read-only HTTP access to the public catalogues.

IVOA Simple Cone Search per catalogue, release listings, downloads with
checksums, and a page per release; see ``catalog.service.app`` for the routes.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from galcat.catalog.access import service_engine
from galcat.catalog.db import Database, get_database
from galcat.catalog.service.app import Service, ServiceServer
from galcat.catalog.settings import Settings


def make_server(db: Database, host: str = "127.0.0.1", port: int = 0,
                folders: Sequence[Path] = (), role: str = "galcat_reader",
                quiet: bool = False) -> ServiceServer:
    """A bound, not yet serving, server (``port=0``: any free port, see ``server_port``)."""
    service = Service(service_engine(db, role), [Path(f) for f in folders], quiet=quiet)
    return ServiceServer((host, port), service)


def serve_in_thread(server: ServiceServer) -> threading.Thread:
    """Serve in a daemon thread (tests, benches); stop with ``server.shutdown()``."""
    thread = threading.Thread(target=server.serve_forever, name="galcat-serve", daemon=True)
    thread.start()
    return thread


def run_service(settings: Settings, host: str, port: int, folders: Sequence[Path]) -> None:
    """Serve until interrupted; release files are also looked for under
    ``$GALCAT_HOME/releases`` and ``folders``."""
    db = get_database(settings)
    server = make_server(db, host, port, [settings.home / "releases", *folders],
                         role=settings.readonly_role)
    print(f"galcat service on http://{host}:{server.server_port}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.service.engine.dispose()
