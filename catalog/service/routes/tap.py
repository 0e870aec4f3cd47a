"""IVOA TAP 1.1 routes: ``/tap/sync`` (ADQL), and VOSI ``tables``, ``capabilities`` and
``availability``. Parameter names are case-insensitive (DALI); an error is a VOTable
error document with HTTP 400."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from galcat.catalog.release.votable import error_document
from galcat.catalog.service import pages
from galcat.catalog.service.routes.common import VOTABLE_TYPE, ServiceDep
from galcat.catalog.service.state import Service
from galcat.catalog.tap import vosi
from galcat.catalog.tap.adql import AdqlError, translate
from galcat.catalog.tap.output import Format, FormatError, parse_format, write_answer
from galcat.catalog.tap.run import TapQueryError, result_columns, run_query, with_tables
from galcat.catalog.tap.tables import tap_tables

router = APIRouter(prefix="/tap", tags=["TAP"])
XML_TYPE = "text/xml; charset=utf-8"
SYNC_PARAMETERS = [
    {"name": name, "in": "query", "required": name == "QUERY", "description": text,
     "schema": {"type": kind}}
    for name, kind, text in (
        ("QUERY", "string", "The ADQL query, e.g. SELECT TOP 10 * FROM dla.absorbers"),
        ("LANG", "string", "ADQL (or ADQL-2.0)"),
        ("REQUEST", "string", "doQuery (optional in TAP 1.1)"),
        ("MAXREC", "integer", f"At most this many rows (default {vosi.DEFAULT_ROWS}, "
                              f"at most {vosi.MAX_ROWS})"),
        ("RESPONSEFORMAT", "string", "votable (default), csv, fits or parquet; FORMAT too"),
    )]


class TapParameterError(Exception):
    """A TAP request parameter that is missing or wrong."""


@dataclass(frozen=True)
class TapRequest:
    query: str
    maxrec: int
    format: Format


@router.get("", response_class=HTMLResponse, summary="What the TAP service offers")
def tap_root(request: Request, service: ServiceDep) -> HTMLResponse:
    """The TAP endpoints, the tables, and how to query them from pyvo and TOPCAT."""
    return HTMLResponse(pages.tap_page(str(request.base_url).rstrip("/") + "/tap",
                                       service.dialect))


@router.api_route("/sync", methods=["GET", "POST"], summary="Run an ADQL query",
                  response_class=Response, openapi_extra={"parameters": SYNC_PARAMETERS},
                  responses={200: {"content": {"application/x-votable+xml": {}},
                                   "description": "The rows, or a VOTable error document"}})
async def sync(request: Request, service: ServiceDep) -> Response:
    """TAP 1.1 synchronous query: ``QUERY`` in ADQL over the newest releases, e.g.
    ``/tap/sync?LANG=ADQL&QUERY=SELECT TOP 5 * FROM dla.absorbers``."""
    items = list(request.query_params.multi_items())
    if request.method == "POST":
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "multipart/form-data":
            return _error("multipart requests (UPLOAD) are not supported: send the "
                          "parameters form-encoded")
        items += parse_qsl((await request.body()).decode("utf-8", "replace"),
                           keep_blank_values=True)
    return await run_in_threadpool(answer, service, items)


@router.get("/tables", summary="VOSI tables", response_class=Response,
            responses={200: {"content": {"text/xml": {}}}})
def tables() -> Response:
    """Every schema, table and column TAP shows, with units and UCDs."""
    return Response(vosi.tableset(), media_type=XML_TYPE)


@router.get("/capabilities", summary="VOSI capabilities", response_class=Response,
            responses={200: {"content": {"text/xml": {}}}})
def capabilities(request: Request, service: ServiceDep) -> Response:
    """What this TAP service supports: ADQL, geometry, formats, limits."""
    base = str(request.base_url).rstrip("/") + "/tap"
    return Response(vosi.capabilities(base, service.dialect == "sqlite"), media_type=XML_TYPE)


@router.get("/availability", summary="VOSI availability", response_class=Response,
            responses={200: {"content": {"text/xml": {}}}})
def availability(service: ServiceDep) -> Response:
    """Whether the catalogue answers."""
    try:
        tags = service.newest_releases()
    except Exception as exc:
        return Response(vosi.availability(False, f"the catalogue does not answer: {exc}"),
                        media_type=XML_TYPE)
    note = ", ".join(f"{c}: release {r.tag}" for c, r in tags.items()) or "no releases yet"
    return Response(vosi.availability(True, f"serving {note}"), media_type=XML_TYPE)


def answer(service: Service, items: Sequence[tuple[str, str]]) -> Response:
    """Run one synchronous TAP request given as (name, value) pairs."""
    try:
        request = parse_request(items)
        known = tap_tables()
        translated = translate(request.query, service.dialect, known)
        releases = service.newest_releases()
        sql = with_tables(translated, releases, service.engine)
        result = run_query(service.engine, sql, request.maxrec, service.query_timeout_s)
        columns = result_columns(translated, result, known)
        used = sorted({t.catalogue for t in translated.tables if t.catalogue})
        infos = [("QUERY", request.query), *((f"release_{c}", releases[c].tag)
                                              for c in used if c in releases)]
        body = write_answer(request.format, columns, result.rows, infos,
                            f"galcat TAP: {request.query}", result.overflow)
    except (TapParameterError, AdqlError, FormatError, TapQueryError) as exc:
        return _error(str(exc))
    headers = {"Content-Disposition": f'inline; filename="result.{request.format.suffix}"'}
    return Response(body, media_type=request.format.media_type, headers=headers)


def parse_request(items: Sequence[tuple[str, str]]) -> TapRequest:
    """The sync request's parameters, validated before any SQL."""
    params: dict[str, str] = {}
    for name, value in items:
        key = name.upper()
        if key in params and params[key] != value:
            raise TapParameterError(f"parameter {key} is given more than once")
        params[key] = value
    if params.get("REQUEST", "doQuery").lower() != "doquery":
        raise TapParameterError(f"REQUEST={params['REQUEST']} is not supported: use doQuery")
    lang = params.get("LANG", "ADQL").upper()
    if lang not in ("ADQL", "ADQL-2.0", "ADQL-2.1"):
        raise TapParameterError(f"LANG={params['LANG']} is not supported: use ADQL")
    if "QUERY" not in params:
        raise TapParameterError("parameter QUERY is required (an ADQL SELECT)")
    maxrec = vosi.DEFAULT_ROWS
    if "MAXREC" in params:
        try:
            maxrec = int(params["MAXREC"])
        except ValueError:
            raise TapParameterError(f"MAXREC={params['MAXREC']!r} is not an integer") from None
        if maxrec < 0:
            raise TapParameterError(f"MAXREC={maxrec} must be zero or more")
        maxrec = min(maxrec, vosi.MAX_ROWS)
    fmt = parse_format(params.get("RESPONSEFORMAT") or params.get("FORMAT"))
    return TapRequest(params["QUERY"], maxrec, fmt)


def _error(message: str) -> Response:
    return Response(error_document(message), status_code=400, media_type=VOTABLE_TYPE)
