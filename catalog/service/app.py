"""The read-only HTTP service as one ASGI app (FastAPI), routers per area.

- ``/`` the index; ``/releases`` every release as JSON; ``/releases/<tag>`` a release's
  page, ``/releases/<tag>/sky.png`` its sky plot, ``/releases/<tag>/files/<name>`` a file,
  sent only after its sha256 matches the record;
- ``/scs/<catalogue>[/<tag>]`` IVOA Simple Cone Search;
- ``/tap`` IVOA TAP 1.1 (ADQL), with VOSI ``/tap/tables``, ``/tap/capabilities``,
  ``/tap/availability``;
- ``/releases/<tag>/objects/<id>`` an object's page (an absorber, a galaxy) and
  ``…/<figure>.png`` its figures, drawn by the science views the app is given;
- ``/api`` the API reference, from the OpenAPI document at ``/openapi.json``.

Everything reads through one engine that cannot write (the read-only role on
PostgreSQL, ``mode=ro`` on SQLite). An unexpected failure is logged on the server's
stderr (by uvicorn) and answered with a short message, never a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.exceptions import HTTPException

from galcat.catalog import __version__
from galcat.catalog.release.votable import error_document
from galcat.catalog.service.objects import ObjectView
from galcat.catalog.service.routes import files, objects, pages, scs, tap
from galcat.catalog.service.routes.common import VOTABLE_TYPE
from galcat.catalog.service.state import NotFound, Service
from galcat.catalog.tap.uws import TapJobs

INTERNAL = "internal error: the service log has the details"


def create_app(service: Service, tap_jobs: TapJobs | None = None,
               object_views: Sequence[ObjectView] = ()) -> FastAPI:
    """The service's ASGI app over ``service`` (engine, folders, caches); ``tap_jobs``
    creates and changes asynchronous TAP jobs (without it, ``/tap/async`` says so);
    ``object_views`` draw object pages, one per catalogue (without them, object pages
    answer 404 saying so; ``galcat.workers.service_views.science_views()`` has them)."""
    app = FastAPI(title="galcat public catalogues", version=__version__,
                  description="Read-only access to galcat's frozen catalogue releases: "
                              "IVOA cone search and TAP, pages, checksummed downloads.",
                  docs_url=None, redoc_url=None)
    app.state.service = service
    app.state.tap_jobs = tap_jobs
    app.state.object_views = {view.catalogue: view for view in object_views}
    for router in (pages.router, objects.router, files.router, scs.router, tap.router):
        app.include_router(router)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
    return app


async def _not_found(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"{exc}\n", status_code=404)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = (f"no page {request.url.path!r}: see / for what there is"
                   if not request.url.path.startswith("/scs") else
                   "cone search lives at /scs/<catalogue> or /scs/<catalogue>/<tag>")
        if request.url.path.startswith("/scs"):
            return Response(error_document(message), media_type=VOTABLE_TYPE)
        return PlainTextResponse(f"{message}\n", status_code=404)
    return PlainTextResponse(f"{exc.detail}\n", status_code=exc.status_code,
                             headers=getattr(exc, "headers", None))


async def _internal_error(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith(("/scs", "/tap")):
        return Response(error_document(INTERNAL), media_type=VOTABLE_TYPE, status_code=500
                        if request.url.path.startswith("/tap") else 200)
    return PlainTextResponse(f"{INTERNAL}\n", status_code=500)
