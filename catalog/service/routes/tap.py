"""IVOA TAP 1.1 routes: ``/tap/sync`` and ``/tap/async`` (ADQL; asynchronous queries are
UWS jobs run by the workers), and VOSI ``tables``, ``capabilities`` and
``availability``. Parameter names are case-insensitive (DALI); an error is a VOTable
error document with HTTP 400."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)

from galcat.catalog.release.votable import error_document
from galcat.catalog.service import pages
from galcat.catalog.service.routes.common import VOTABLE_TYPE, ServiceDep
from galcat.catalog.service.state import NotFound, Service
from galcat.catalog.tap import vosi
from galcat.catalog.tap.output import Format, parse_format
from galcat.catalog.tap.query import TAP_ERRORS, answer_adql
from galcat.catalog.tap.uws import (
    TapJobs,
    UwsJob,
    job_document,
    job_list,
    load_job,
    parameters_document,
    recent_jobs,
    results_document,
)

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


@router.get("/sync", summary="Run an ADQL query", response_class=Response,
            openapi_extra={"parameters": SYNC_PARAMETERS},
            responses={200: {"content": {"application/x-votable+xml": {}},
                             "description": "The rows, or a VOTable error document"}})
async def sync(request: Request, service: ServiceDep) -> Response:
    """TAP 1.1 synchronous query: ``QUERY`` in ADQL over the newest releases, e.g.
    ``/tap/sync?LANG=ADQL&QUERY=SELECT TOP 5 * FROM dla.absorbers``."""
    items = await _parameters(request)
    if items is None:
        return _error(MULTIPART)
    return await run_in_threadpool(answer, service, items)


@router.post("/sync", summary="Run an ADQL query (form-encoded)", response_class=Response,
             responses={200: {"content": {"application/x-votable+xml": {}},
                              "description": "The rows, or a VOTable error document"}})
async def sync_post(request: Request, service: ServiceDep) -> Response:
    """As ``GET /tap/sync``, with the parameters in a form-encoded body (pyvo's way)."""
    return await sync(request, service)


@router.get("/async", summary="Asynchronous queries (UWS job list)", response_class=Response,
            responses={200: {"content": {"text/xml": {}}}})
def async_jobs(request: Request, service: ServiceDep) -> Response:
    """The newest asynchronous TAP jobs, with their phases."""
    with service.engine.connect() as connection:
        jobs = recent_jobs(connection)
    return Response(job_list(jobs, _async_base(request)), media_type=XML_TYPE)


@router.post("/async", summary="Create an asynchronous query", response_class=Response,
             openapi_extra={"parameters": SYNC_PARAMETERS},
             responses={303: {"description": "The new job's URL"}})
async def create_async(request: Request, service: ServiceDep) -> Response:
    """A UWS job for ``QUERY`` (phase PENDING; QUEUED at once with ``PHASE=RUN``), run by
    a galcat worker; answered with a redirect to the job."""
    items = await _parameters(request)
    if items is None:
        return _error(MULTIPART)
    jobs = _jobs(request)
    if jobs is None:
        return _error(NO_QUEUE, 503)
    control = {"PHASE", "RUNID"}
    run = any(k.upper() == "PHASE" and v.upper() == "RUN" for k, v in items)
    run_id = next((v for k, v in items if k.upper() == "RUNID"), "")
    try:
        tap = parse_request([(k, v) for k, v in items if k.upper() not in control])
        query, maxrec, fmt, refusal = tap.query, tap.maxrec, tap.format.name, ""
    except (TapParameterError, *TAP_ERRORS) as exc:
        query = next((v for k, v in items if k.upper() == "QUERY"), "")
        maxrec, fmt, refusal = vosi.DEFAULT_ROWS, "votable", str(exc)
    job_id = await run_in_threadpool(jobs.create, query, maxrec, fmt, run, run_id, refusal)
    return RedirectResponse(f"{_async_base(request)}/{job_id}", status_code=303)


@router.get("/async/{job_id}", summary="An asynchronous query (UWS job)",
            response_class=Response, responses={200: {"content": {"text/xml": {}}}})
def async_job(job_id: int, request: Request, service: ServiceDep) -> Response:
    """The UWS job document: phase, times, parameters, results or error."""
    return Response(job_document(_job(service, job_id), _async_base(request)),
                    media_type=XML_TYPE)


@router.delete("/async/{job_id}", summary="Delete a job", response_class=Response,
               responses={303: {"description": "The job list"}})
async def delete_job(job_id: int, request: Request, service: ServiceDep) -> Response:
    """Abort the job and drop its answer."""
    _job(service, job_id)
    jobs = _jobs(request)
    if jobs is None:
        return _error(NO_QUEUE, 503)
    await run_in_threadpool(jobs.delete, job_id)
    return RedirectResponse(_async_base(request), status_code=303)


@router.post("/async/{job_id}", summary="Delete a job (ACTION=DELETE)", response_class=Response,
             responses={303: {"description": "The job list"}})
async def post_to_job(job_id: int, request: Request, service: ServiceDep) -> Response:
    """``ACTION=DELETE``: as ``DELETE`` on the job (UWS for clients without DELETE)."""
    items = await _parameters(request) or []
    if not any(k.upper() == "ACTION" and v.upper() == "DELETE" for k, v in items):
        return _error("POST to a job takes ACTION=DELETE; the phase is set at /phase")
    return await delete_job(job_id, request, service)


@router.get("/async/{job_id}/phase", summary="A job's phase", response_class=PlainTextResponse)
def job_phase(job_id: int, service: ServiceDep) -> PlainTextResponse:
    """PENDING, QUEUED, EXECUTING, COMPLETED, ERROR or ABORTED."""
    return PlainTextResponse(_job(service, job_id).phase)


@router.post("/async/{job_id}/phase", summary="Run or abort a job", response_class=Response,
             responses={303: {"description": "The job"}})
async def set_phase(job_id: int, request: Request, service: ServiceDep) -> Response:
    """``PHASE=RUN`` queues a pending job; ``PHASE=ABORT`` stops it."""
    items = await _parameters(request) or []
    phase = next((v.upper() for k, v in items if k.upper() == "PHASE"), "")
    _job(service, job_id)
    jobs = _jobs(request)
    if jobs is None:
        return _error(NO_QUEUE, 503)
    if phase == "RUN":
        await run_in_threadpool(jobs.run, job_id)
    elif phase == "ABORT":
        await run_in_threadpool(jobs.abort, job_id)
    else:
        return _error(f"PHASE={phase or '(none)'}: send PHASE=RUN or PHASE=ABORT")
    return RedirectResponse(f"{_async_base(request)}/{job_id}", status_code=303)


@router.get("/async/{job_id}/results", summary="A job's results (UWS)",
            response_class=Response, responses={200: {"content": {"text/xml": {}}}})
def job_results(job_id: int, request: Request, service: ServiceDep) -> Response:
    """The result list: one ``result`` once the job completed."""
    return Response(results_document(_job(service, job_id), _async_base(request)),
                    media_type=XML_TYPE)


@router.get("/async/{job_id}/results/result", summary="A job's answer",
            response_class=FileResponse)
def job_result(job_id: int, service: ServiceDep) -> FileResponse:
    """The answer file, in the format the query asked for."""
    job = _job(service, job_id)
    if job.phase != "COMPLETED" or not job.result:
        raise NotFound(f"TAP job {job_id} is {job.phase}: its answer is there once it is "
                       "COMPLETED")
    path = Path(str(job.result["file"]))
    if not path.is_file():
        raise NotFound(f"the answer of TAP job {job_id} was deleted; run the query again")
    return FileResponse(path, media_type=str(job.result["media_type"]))


@router.get("/async/{job_id}/error", summary="A job's error (VOTable)", response_class=Response)
def job_error(job_id: int, service: ServiceDep) -> Response:
    """The error document of a job in phase ERROR."""
    job = _job(service, job_id)
    if job.phase != "ERROR":
        raise NotFound(f"TAP job {job_id} is {job.phase}, not ERROR")
    return Response(error_document(job.error_summary), media_type=VOTABLE_TYPE)


@router.get("/async/{job_id}/parameters", summary="A job's parameters (UWS)",
            response_class=Response, responses={200: {"content": {"text/xml": {}}}})
def job_parameters(job_id: int, service: ServiceDep) -> Response:
    """LANG, QUERY, MAXREC and RESPONSEFORMAT as the job was created."""
    return Response(parameters_document(_job(service, job_id)), media_type=XML_TYPE)


@router.post("/async/{job_id}/parameters", summary="Label a pending job (UWS runId)",
             response_class=Response, responses={303: {"description": "The job"}})
async def set_parameters(job_id: int, request: Request, service: ServiceDep) -> Response:
    """``RUNID=…`` labels the job; the query's own parameters are fixed at creation."""
    items = await _parameters(request) or []
    job = _job(service, job_id)
    jobs = _jobs(request)
    if jobs is None:
        return _error(NO_QUEUE, 503)
    others = sorted({k.upper() for k, _ in items} - {"RUNID"})
    if others:
        return _error(f"{', '.join(others)}: a job's query parameters are fixed when it is "
                      "created; create a new job")
    if job.phase != "PENDING":
        return _error(f"TAP job {job_id} is {job.phase}: only a PENDING job takes parameters")
    for _, value in items:
        await run_in_threadpool(jobs.set_run_id, job_id, value)
    return RedirectResponse(f"{_async_base(request)}/{job_id}", status_code=303)


@router.get("/async/{job_id}/{field}", summary="One field of a job (UWS)",
            response_class=PlainTextResponse)
def job_field(job_id: int, field: str, service: ServiceDep) -> PlainTextResponse:
    """``executionduration``, ``destruction``, ``quote``, ``owner`` or ``parameters``."""
    job = _job(service, job_id)
    values = {"executionduration": str(job.execution_s),
              "destruction": job_document(job, "").decode().split("<uws:destruction>")[1]
              .split("<")[0], "quote": "", "owner": "",
              "runid": str(job.parameters.get("run_id", ""))}
    if field not in values:
        raise NotFound(f"a UWS job has no {field!r}: see /tap/async/{job_id}")
    return PlainTextResponse(values[field])


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
        found = answer_adql(service.engine, request.query, request.maxrec, request.format,
                            service.query_timeout_s, service.newest_releases())
    except (TapParameterError, *TAP_ERRORS) as exc:
        return _error(str(exc))
    headers = {"Content-Disposition": f'inline; filename="result.{request.format.suffix}"'}
    return Response(found.body, media_type=request.format.media_type, headers=headers)


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


MULTIPART = ("multipart requests (UPLOAD) are not supported: send the parameters "
             "form-encoded")


async def _parameters(request: Request) -> list[tuple[str, str]] | None:
    """The query string's and a form-encoded body's (name, value) pairs; None for a
    multipart body."""
    items = list(request.query_params.multi_items())
    if request.method in ("POST", "DELETE"):
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "multipart/form-data":
            return None
        items += parse_qsl((await request.body()).decode("utf-8", "replace"),
                           keep_blank_values=True)
    return items


def _async_base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/tap/async"


def _job(service: Service, job_id: int) -> UwsJob:
    with service.engine.connect() as connection:
        job = load_job(connection, job_id)
    if job is None:
        raise NotFound(f"no TAP job {job_id}: see /tap/async")
    return job


def _jobs(request: Request) -> TapJobs | None:
    jobs: TapJobs | None = getattr(request.app.state, "tap_jobs", None)
    return jobs


NO_QUEUE = ("asynchronous queries need galcat's workers: this service was started without "
            "a job queue; use /tap/sync")


def _error(message: str, status: int = 400) -> Response:
    return Response(error_document(message), status_code=status, media_type=VOTABLE_TYPE)
