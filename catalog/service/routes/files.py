"""Release files, sent only after their sha256 matches the record."""

from __future__ import annotations

import base64
from pathlib import PurePosixPath

from fastapi import APIRouter
from fastapi.responses import FileResponse

from galcat.catalog.service.routes.common import ServiceDep
from galcat.catalog.service.state import NotFound

router = APIRouter(tags=["files"])

CONTENT_TYPES = {"fits": "application/fits", "votable": "application/x-votable+xml",
                 "parquet": "application/vnd.apache.parquet", "csv": "text/csv; charset=utf-8",
                 "datamodel": "text/markdown; charset=utf-8",
                 "manifest": "text/plain; charset=utf-8"}


@router.get("/releases/{tag}/files/{name:path}", summary="Download a release file",
            response_class=FileResponse)
def download(tag: str, name: str, service: ServiceDep) -> FileResponse:
    """The file, with its sha256 in ``Digest: sha-256=…`` and ``X-Checksum-SHA256``;
    404 when no file on this server has the recorded checksum."""
    record = service.release(tag)
    found = next((f for f in record.files if f.filename == name), None)
    if found is None:
        raise NotFound(f"release {record.tag} has no file {name!r}")
    path = service.locate(record, found)
    if path is None:
        raise NotFound(f"{name} (sha256 {found.sha256}) is not on this server: run "
                       f"`galcat release export {record.tag} --out DIR` into a folder "
                       "the service is given with --files")
    digest = base64.b64encode(bytes.fromhex(found.sha256)).decode()
    return FileResponse(path, media_type=CONTENT_TYPES.get(found.format,
                                                           "application/octet-stream"),
                        filename=PurePosixPath(found.filename).name,
                        headers={"Digest": f"sha-256={digest}",
                                 "X-Checksum-SHA256": found.sha256})
