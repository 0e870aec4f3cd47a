"""What the routers share: the ``Service`` dependency and the VOTable media type."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from galcat.catalog.service.state import Service

VOTABLE_TYPE = "text/xml; content=x-votable; charset=utf-8"


async def get_service(request: Request) -> Service:
    """The app's shared ``Service`` (engine, folders, caches)."""
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]
