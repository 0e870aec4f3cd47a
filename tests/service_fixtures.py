"""The running service over a small sample catalogue, on both backends: a morphology
release (DR1, every format) and a DLA release (DLA1, CSV), served by uvicorn through the
read-only role on PostgreSQL, with the science views' object pages."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.fixtures.synthetic import Sample, sample_catalogue
from galcat.catalog.access import ensure_readonly_role
from galcat.catalog.db import Database
from galcat.catalog.release import ReleaseRecord, make_release
from galcat.catalog.service import ServiceServer, make_server, serve_in_thread
from galcat.workers.service_views import science_views


@dataclass
class Running:
    base: str
    db: Database
    sample: Sample
    morphology: ReleaseRecord
    dla: ReleaseRecord
    files: Path
    role: str | None
    server: ServiceServer


def drop_role(db: Database, role: str) -> None:
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f"DROP OWNED BY {role}")
        conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")


@pytest.fixture
def service(db: Database, tmp_path: Path) -> Iterator[Running]:
    sample = sample_catalogue(db)
    files = tmp_path / "files"
    morphology = make_release(db, "morphology", "DR1", files / "DR1",
                              models=[sample.references["morphology-old"]])  # every galaxy
    dla = make_release(db, "dla", "DLA1", files / "DLA1", formats="csv")
    role = f"galcat_reader_{uuid.uuid4().hex[:8]}" if db.dialect == "postgresql" else None
    if role:
        assert ensure_readonly_role(db, role) == role
    server = make_server(db, port=0, role=role or "galcat_reader", quiet=True,
                         object_views=science_views())
    if role:
        assert server.service.engine.url.username == role
    serve_in_thread(server)
    try:
        yield Running(f"http://127.0.0.1:{server.server_port}", db, sample, morphology, dla,
                      files, role, server)
    finally:
        server.shutdown()
        server.server_close()
        if server.service.engine is not db.readonly_engine:
            server.service.engine.dispose()
        if role:
            drop_role(db, role)
