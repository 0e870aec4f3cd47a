"""Object pages: one row of a release's main table (an absorber, a galaxy) with its
figures, drawn by the science views the app was given (``create_app(object_views=…)``)."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from galcat.catalog.release.build import ReleaseRecord
from galcat.catalog.service import pages
from galcat.catalog.service.objects import ObjectView, Row, main_table, release_row
from galcat.catalog.service.routes.common import ServiceDep
from galcat.catalog.service.state import NotFound

router = APIRouter(tags=["object pages"])

NO_VIEWS = ("object pages need the science views, which this service was started without: "
            "run `galcat serve`, or build the app with create_app(service, object_views="
            "galcat.workers.service_views.science_views())")


@router.get("/releases/{tag}/objects/{object_id}", response_class=HTMLResponse,
            summary="One object's page")
def object_page(tag: str, object_id: str, request: Request, service: ServiceDep
                ) -> HTMLResponse:
    """An absorber or a galaxy of release ``tag`` by its main id (``absorber_id``,
    ``galaxy_id``): its values with errors, the data and model the values come from,
    and links to its neighbours in the catalogue."""
    record = service.release(tag)
    view = object_view(request, record)
    with service.engine.connect() as connection:
        row = _row(connection, record, view, object_id)
        page = view.page(connection, record, row)
    return HTMLResponse(pages.object_page(record, int(row[main_table(record).main_id]), page))


@router.get("/releases/{tag}/objects/{object_id}/{figure}.png", response_class=Response,
            summary="A figure of an object's page (PNG)",
            responses={200: {"content": {"image/png": {}}}})
def object_figure(tag: str, object_id: str, figure: str, request: Request,
                  service: ServiceDep) -> Response:
    """One figure named on the object's page, e.g. ``spectrum.png``."""
    record = service.release(tag)
    view = object_view(request, record)
    with service.engine.connect() as connection:
        row = _row(connection, record, view, object_id)
        png = view.figure(connection, record, row, figure)
        if png is None:
            page = view.page(connection, record, row)
            known = {f.name: f for f in page.figures}
            if figure in known and known[figure].missing:
                raise NotFound(f"{page.title}: no {figure} figure: {known[figure].missing}")
            raise NotFound(f"{page.title} has no figure {figure!r}: choose one of "
                           f"{', '.join(f'{n}.png' for n in known)}")
    return Response(png, media_type="image/png")


def object_views(request: Request) -> Mapping[str, ObjectView]:
    """The views the app was given, by catalogue name (empty: none)."""
    views: Mapping[str, ObjectView] = request.app.state.object_views
    return views


def object_view(request: Request, record: ReleaseRecord) -> ObjectView:
    views = object_views(request)
    if not views:
        raise NotFound(NO_VIEWS)
    view = views.get(record.catalogue)
    if view is None:
        raise NotFound(f"release {record.tag} is a {record.catalogue} release: object pages "
                       f"exist for {' and '.join(sorted(views))} releases")
    return view


def _row(connection: sa.Connection, record: ReleaseRecord, view: ObjectView,
         object_id: str) -> Row:
    main_id = main_table(record).main_id
    try:
        number = int(object_id)
    except ValueError:
        raise NotFound(f"{object_id!r} is not an id: {view.noun} ids are whole numbers, the "
                       f"{main_id} column of release {record.tag}") from None
    row = release_row(connection, record, number)
    if row is None:
        raise NotFound(f"release {record.tag} has no {view.noun} with {main_id} {number}: "
                       f"its page /releases/{record.tag} lists the first rows; cone search "
                       "and TAP find the others")
    return row
