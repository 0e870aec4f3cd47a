"""HTML pages, the JSON listing and the sky plots of releases."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from galcat.catalog.release.build import ReleaseRecord
from galcat.catalog.service import pages
from galcat.catalog.service.objects import default_preview_columns, preview_rows
from galcat.catalog.service.routes.common import ServiceDep
from galcat.catalog.service.routes.objects import object_views

router = APIRouter(tags=["pages"])


@router.get("/", response_class=HTMLResponse, summary="Index of catalogues and releases")
def index(service: ServiceDep) -> HTMLResponse:
    """The catalogues with their cone-search and TAP endpoints, and every release."""
    return HTMLResponse(pages.index_page(service.releases()))


@router.get("/releases", summary="Every release as JSON")
def listing(service: ServiceDep) -> Response:
    """Every release: tag, catalogue, rows per table, pinned models, files with sha256."""
    body = json.dumps([release_json(r) for r in service.releases()], indent=1)
    return Response(body.encode(), media_type="application/json")


@router.get("/releases/{tag}", response_class=HTMLResponse, summary="A release's page")
def release_page(tag: str, request: Request, service: ServiceDep) -> HTMLResponse:
    """Counts, how to query the release from pyvo, TOPCAT and LSDB, its first rows (linked
    to their object pages), models, downloads with sha256, the sky plot and the data
    model."""
    record = service.release(tag)
    available = all(service.locate(record, f) for f in record.files)
    view = object_views(request).get(record.catalogue)
    with service.engine.connect() as connection:
        rows = preview_rows(connection, record)
    columns = view.preview_columns if view else default_preview_columns(record)
    newest = service.newest(record.catalogue).tag == record.tag
    return HTMLResponse(pages.release_page(
        record, available, str(request.base_url).rstrip("/"), rows, columns,
        linked=view is not None, newest=newest))


@router.get("/releases/{tag}/sky.png", summary="A release's sky plot (PNG)",
            response_class=Response, responses={200: {"content": {"image/png": {}}}})
def sky(tag: str, service: ServiceDep) -> Response:
    """A Mollweide map of the release's main table, rows per 2° × 2° cell."""
    return Response(service.sky(service.release(tag)), media_type="image/png")


@router.get("/api", response_class=HTMLResponse, summary="This API reference")
def api_reference(request: Request) -> HTMLResponse:
    """Every route with its parameters, from the OpenAPI document at ``/openapi.json``."""
    return HTMLResponse(pages.api_page(request.app.openapi()))


def release_json(record: ReleaseRecord) -> dict[str, Any]:
    """One release as the JSON listing shows it."""
    return {"tag": record.tag, "catalogue": record.catalogue, "created": record.created_at,
            "rows": record.table_rows, "models": [m.to_dict() for m in record.models],
            "where": record.spec.get("where") or "", "page": f"/releases/{record.tag}",
            "cone_search": f"/scs/{record.catalogue}/{record.tag}",
            "files": [{"name": f.filename, "format": f.format, "sha256": f.sha256,
                       "bytes": f.size_bytes,
                       "url": f"/releases/{record.tag}/files/{f.filename}"}
                      for f in record.files]}
