"""What every route of the service shares: the read-only engine, where release files
live, and caches of what never changes (frozen releases, checksums, sky plots)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from galcat.catalog.registry import sha256_file
from galcat.catalog.release.build import FileRecord, ReleaseError, ReleaseRecord, release_record
from galcat.catalog.release.definitions import CATALOGUES
from galcat.catalog.schema import Release
from galcat.catalog.service import pages
from galcat.catalog.service.scs import ConeStatements
from galcat.catalog.tap.query import newest_release_tags

NEWEST_TTL_S = 2.0
"""How long the service trusts its answer to "which release is the newest", seconds."""


class NotFound(Exception):
    """A path or a release that does not exist (HTTP 404, with the message)."""


@dataclass
class Service:
    """The read-only engine, the folders to find release files in, and caches."""

    engine: Engine
    folders: list[Path]
    """Extra folders to look for release files in (``<folder>/<name>`` or
    ``<folder>/<tag>/<name>``), after the folder each release was written to."""
    quiet: bool = False
    query_timeout_s: float = 60.0
    """Longest a TAP query may run, seconds."""
    _verified: dict[tuple[str, int, int], str] = field(default_factory=dict)
    _sky: dict[str, bytes] = field(default_factory=dict)
    _records: dict[str, ReleaseRecord] = field(default_factory=dict)
    _cones: dict[str, ConeStatements] = field(default_factory=dict)
    _newest: tuple[float, dict[str, str]] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

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
        """The newest release of a catalogue."""
        if catalogue_name not in CATALOGUES:
            raise NotFound(f"no catalogue {catalogue_name!r}: choose one of "
                           f"{', '.join(CATALOGUES)}")
        tag = self.newest_tags().get(catalogue_name)
        if tag is None:
            raise NotFound(f"there is no release of the {catalogue_name} catalogue yet")
        return self.release(tag)

    def newest_releases(self) -> dict[str, ReleaseRecord]:
        """The newest release of each catalogue that has one."""
        return {catalogue: self.release(tag) for catalogue, tag in self.newest_tags().items()}

    def newest_tags(self) -> dict[str, str]:
        """Catalogue -> tag of its newest release, read at most every
        ``NEWEST_TTL_S`` seconds (a new release is served within that time)."""
        now = time.monotonic()
        with self._lock:
            if self._newest is not None and now - self._newest[0] < NEWEST_TTL_S:
                return self._newest[1]
        with self.engine.connect() as connection:
            found = newest_release_tags(connection)
        with self._lock:
            self._newest = (now, found)
        return found

    def releases(self) -> list[ReleaseRecord]:
        """Every release, oldest first."""
        with self.engine.connect() as connection:
            tags = list(connection.execute(sa.select(Release.tag).order_by(Release.id))
                        .scalars())
        return [self.release(t) for t in tags]

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
        """The release's sky plot as PNG bytes (drawn once)."""
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
