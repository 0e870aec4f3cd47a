"""``galcat serve``: read-only HTTP access to the public catalogues.

IVOA Simple Cone Search and TAP per catalogue, release listings, downloads with
checksums, and a page per release; see ``catalog.service.app`` for the routes.
"""

from __future__ import annotations

from galcat.catalog.service.server import (
    ServiceServer,
    make_server,
    make_service,
    run_service,
    serve_in_thread,
)

__all__ = ["ServiceServer", "make_server", "make_service", "run_service", "serve_in_thread"]
