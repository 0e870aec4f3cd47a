"""The read-only HTTP service: routes, downloads with checksums, errors without traces.

Routes (GET):

- ``/`` an HTML index; ``/releases`` every release as JSON;
- ``/scs/<catalogue>`` cone search of the newest release, ``/scs/<catalogue>/<tag>``
  of a given one (see ``catalog.service.scs``);
- ``/releases/<tag>`` a release's page, ``/releases/<tag>/sky.png`` its sky plot,
  ``/releases/<tag>/files/<name>`` a file, sent only after its sha256 matches the
  record (headers ``Digest: sha-256=…`` and ``X-Checksum-SHA256``).

Everything reads through one engine that cannot write (the read-only role on
PostgreSQL, ``mode=ro`` on SQLite). An unexpected failure is logged on the
server's stderr and answered with a short message, never a traceback.
"""

from __future__ import annotations

import base64
import json
import shutil
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from galcat.catalog.registry import sha256_file
from galcat.catalog.release.build import FileRecord, ReleaseError, ReleaseRecord, release_record
from galcat.catalog.release.definitions import CATALOGUES
from galcat.catalog.release.votable import error_document
from galcat.catalog.schema import Release
from galcat.catalog.service import pages
from galcat.catalog.service.scs import (
    ConeStatements,
    ScsError,
    cone_document,
    cone_search,
    parse_cone,
)

VOTABLE_TYPE = "text/xml; content=x-votable; charset=utf-8"
CONTENT_TYPES = {"fits": "application/fits", "votable": "application/x-votable+xml",
                 "parquet": "application/vnd.apache.parquet", "csv": "text/csv; charset=utf-8",
                 "datamodel": "text/markdown; charset=utf-8",
                 "manifest": "text/plain; charset=utf-8"}


class NotFound(Exception):
    """A path or a release that does not exist (HTTP 404, with the message)."""


@dataclass
class Service:
    """What the handlers share: the read-only engine, where files live, caches."""

    engine: Engine
    folders: list[Path]
    """Extra folders to look for release files in (``<folder>/<name>`` or
    ``<folder>/<tag>/<name>``), after the folder each release was written to."""
    quiet: bool = False
    _verified: dict[tuple[str, int, int], str] = field(default_factory=dict)
    _sky: dict[str, bytes] = field(default_factory=dict)
    _records: dict[str, ReleaseRecord] = field(default_factory=dict)
    _cones: dict[str, ConeStatements] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def release(self, tag: str) -> ReleaseRecord:
        """The recorded release ``tag`` (cached: releases are frozen)."""
        with self._lock:
            cached = self._records.get(tag)
        if cached is not None:
            return cached
        with self.engine.connect() as connection:
            try:
                record = release_record(Session(bind=connection), tag)
            except ReleaseError as exc:
                raise NotFound(str(exc)) from None
        with self._lock:
            self._records[tag] = record
        return record

    def cone_statements(self, record: ReleaseRecord) -> ConeStatements:
        """The release's cone-search statement, built once."""
        with self._lock:
            built = self._cones.get(record.tag)
        if built is None:
            built = ConeStatements(record)
            with self._lock:
                built = self._cones.setdefault(record.tag, built)
        return built

    def newest(self, catalogue_name: str) -> ReleaseRecord:
        if catalogue_name not in CATALOGUES:
            raise NotFound(f"no catalogue {catalogue_name!r}: choose one of "
                           f"{', '.join(CATALOGUES)}")
        with self.engine.connect() as connection:
            tag = connection.execute(
                sa.select(Release.tag).where(Release.catalog == catalogue_name)
                .order_by(Release.id.desc()).limit(1)).scalar()
        if tag is None:
            raise NotFound(f"there is no release of the {catalogue_name} catalogue yet")
        return self.release(tag)

    def releases(self) -> list[ReleaseRecord]:
        with self.engine.connect() as connection:
            session = Session(bind=connection)
            tags = session.execute(sa.select(Release.tag).order_by(Release.id)).scalars().all()
            return [release_record(session, t) for t in tags]

    def locate(self, record: ReleaseRecord, file: FileRecord) -> Path | None:
        """The file on disk, if one with the recorded sha256 is found."""
        candidates = [Path(str(record.spec.get("out_dir", ""))) / file.filename]
        for folder in self.folders:
            candidates += [folder / file.filename, folder / record.tag / file.filename]
        for path in candidates:
            if path.is_file() and self._checksum(path) == file.sha256:
                return path
        return None

    def sky(self, record: ReleaseRecord) -> bytes:
        with self._lock:
            cached = self._sky.get(record.tag)
        if cached is None:
            with self.engine.connect() as connection:
                counts = pages.sky_counts(connection, record)
            cached = pages.sky_png(counts, f"{record.catalogue} {record.tag}: "
                                           f"{record.row_count} rows")
            with self._lock:
                self._sky[record.tag] = cached
        return cached

    def _checksum(self, path: Path) -> str:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            known = self._verified.get(key)
        if known is None:
            known = sha256_file(path)
            with self._lock:
                self._verified[key] = known
        return known


class Handler(BaseHTTPRequestHandler):
    """Routes one GET request; see the module docstring."""

    server: ServiceServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/") if p]
        try:
            if parts[:1] == ["scs"]:
                self._scs(parts[1:], parse_qs(url.query, keep_blank_values=True))
            else:
                self._route(parts)
        except NotFound as exc:
            if parts[:1] == ["scs"]:
                self._send(HTTPStatus.OK, error_document(str(exc)), VOTABLE_TYPE)
            else:
                self._send(HTTPStatus.NOT_FOUND, f"{exc}\n".encode(), "text/plain; charset=utf-8")
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception:
            traceback.print_exc(file=sys.stderr)
            message = b"internal error: the service log has the details\n"
            if parts[:1] == ["scs"]:
                self._send(HTTPStatus.OK, error_document("internal error: the service log has "
                                                         "the details"), VOTABLE_TYPE)
            else:
                self._send(HTTPStatus.INTERNAL_SERVER_ERROR, message, "text/plain")

    def _route(self, parts: list[str]) -> None:
        service = self.server.service
        if not parts:
            self._send(HTTPStatus.OK, pages.index_page(service.releases()), "text/html")
        elif parts == ["releases"]:
            body = json.dumps([_release_json(r) for r in service.releases()], indent=1)
            self._send(HTTPStatus.OK, body.encode(), "application/json")
        elif parts[0] == "releases" and len(parts) == 2:
            record = service.release(parts[1])
            available = all(service.locate(record, f) for f in record.files)
            self._send(HTTPStatus.OK, pages.release_page(record, available), "text/html")
        elif parts[0] == "releases" and parts[2:] == ["sky.png"]:
            self._send(HTTPStatus.OK, service.sky(service.release(parts[1])), "image/png")
        elif parts[0] == "releases" and len(parts) == 4 and parts[2] == "files":
            self._download(service.release(parts[1]), parts[3])
        else:
            raise NotFound(f"no page {self.path.split('?')[0]!r}: see / for what there is")

    def _scs(self, parts: list[str], query: dict[str, list[str]]) -> None:
        service = self.server.service
        if len(parts) not in (1, 2):
            raise NotFound("cone search lives at /scs/<catalogue> or /scs/<catalogue>/<tag>")
        record = service.newest(parts[0]) if len(parts) == 1 else service.release(parts[1])
        if record.catalogue != parts[0]:
            raise NotFound(f"release {record.tag} is a {record.catalogue} release, not "
                           f"{parts[0]}")
        try:
            request = parse_cone(query)
            if request.metadata_only:
                body = cone_document(record, request, [], False)
            else:
                with service.engine.connect() as connection:
                    rows, overflow = cone_search(Session(bind=connection),
                                                 service.cone_statements(record), request)
                body = cone_document(record, request, rows, overflow)
        except ScsError as exc:
            body = error_document(str(exc))
        self._send(HTTPStatus.OK, body, VOTABLE_TYPE)

    def _download(self, record: ReleaseRecord, name: str) -> None:
        found = next((f for f in record.files if f.filename == name), None)
        if found is None:
            raise NotFound(f"release {record.tag} has no file {name!r}")
        path = self.server.service.locate(record, found)
        if path is None:
            raise NotFound(f"{name} (sha256 {found.sha256}) is not on this server: run "
                           f"`galcat release export {record.tag} --out DIR` into a folder "
                           "the service is given with --files")
        digest = base64.b64encode(bytes.fromhex(found.sha256)).decode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", CONTENT_TYPES.get(found.format,
                                                         "application/octet-stream"))
        self.send_header("Content-Length", str(found.size_bytes))
        self.send_header("Content-Disposition", f'attachment; filename="{found.filename}"')
        self.send_header("Digest", f"sha-256={digest}")
        self.send_header("X-Checksum-SHA256", found.sha256)
        self.end_headers()
        with open(path, "rb") as handle:
            shutil.copyfileobj(handle, self.wfile, 1 << 20)

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.service.quiet:
            super().log_message(format, *args)


class ServiceServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], service: Service,
                 handler: Callable[..., BaseHTTPRequestHandler] = Handler) -> None:
        super().__init__(address, handler)
        self.service = service


def _release_json(record: ReleaseRecord) -> dict[str, Any]:
    return {"tag": record.tag, "catalogue": record.catalogue, "created": record.created_at,
            "rows": record.table_rows, "models": [m.to_dict() for m in record.models],
            "where": record.spec.get("where") or "", "page": f"/releases/{record.tag}",
            "cone_search": f"/scs/{record.catalogue}/{record.tag}",
            "files": [{"name": f.filename, "format": f.format, "sha256": f.sha256,
                       "bytes": f.size_bytes,
                       "url": f"/releases/{record.tag}/files/{f.filename}"}
                      for f in record.files]}
