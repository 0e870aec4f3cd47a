"""IVOA Simple Cone Search routes (see ``catalog.service.scs``)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from galcat.catalog.release.build import ReleaseRecord
from galcat.catalog.release.votable import error_document
from galcat.catalog.service.routes.common import VOTABLE_TYPE, ServiceDep
from galcat.catalog.service.scs import ScsError, cone_document, cone_search, parse_cone
from galcat.catalog.service.state import NotFound, Service

router = APIRouter(tags=["cone search"])

CONE_PARAMETERS = [
    {"name": name, "in": "query", "required": name in ("RA", "DEC", "SR"),
     "description": text, "schema": {"type": kind}}
    for name, kind, text in (
        ("RA", "number", "Right ascension of the cone's centre, ICRS degrees"),
        ("DEC", "number", "Declination of the cone's centre, ICRS degrees"),
        ("SR", "number", "Cone radius, degrees (at most 10)"),
        ("VERB", "integer", "1: id and position; 2 or 3: every column"),
        ("MAXREC", "integer", "At most this many rows (nearest first)"),
        ("FORMAT", "string", "METADATA: the columns only"),
    )]
RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/xml": {}}, "description": "An SCS VOTable, or an error VOTable"}}


@router.get("/scs/{catalogue}", summary="Cone search of a catalogue's newest release",
            response_class=Response, responses=RESPONSES,
            openapi_extra={"parameters": CONE_PARAMETERS})
def newest_cone(catalogue: str, request: Request, service: ServiceDep) -> Response:
    """SCS 1.03, e.g. ``/scs/morphology?RA=150&DEC=2&SR=0.1``: rows within SR degrees
    of (RA, DEC), nearest first, with their distance."""
    return _answer(service, request, lambda: service.newest(catalogue))


@router.get("/scs/{catalogue}/{tag}", summary="Cone search of one release",
            response_class=Response, responses=RESPONSES,
            openapi_extra={"parameters": CONE_PARAMETERS})
def release_cone(catalogue: str, tag: str, request: Request, service: ServiceDep) -> Response:
    """SCS 1.03 over frozen release ``tag`` of ``catalogue``."""
    def pick() -> ReleaseRecord:
        record = service.release(tag)
        if record.catalogue != catalogue:
            raise NotFound(f"release {record.tag} is a {record.catalogue} release, not "
                           f"{catalogue}")
        return record
    return _answer(service, request, pick)


def _answer(service: Service, request: Request, pick: Callable[[], ReleaseRecord]
            ) -> Response:
    try:
        record = pick()
        query: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            query.setdefault(key, []).append(value)
        cone = parse_cone(query)
        if cone.metadata_only:
            body = cone_document(record, cone, [], False)
        else:
            with service.engine.connect() as connection:
                rows, overflow = cone_search(Session(bind=connection),
                                             service.cone_statements(record), cone)
            body = cone_document(record, cone, rows, overflow)
    except (ScsError, NotFound) as exc:
        body = error_document(str(exc))
    return Response(body, media_type=VOTABLE_TYPE)
