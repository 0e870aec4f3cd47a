"""Make, record, list and re-export frozen releases.

``make_release`` pins model versions, streams each public table into every
requested format at once, writes the data model and a MANIFEST, and records the
release and its files (with sha256) in one transaction; a tag is written once.
A format may write a folder (a HATS collection): each file inside it is recorded
under its path relative to the release folder (``…_hats/…/Npix=4.parquet``).
``export_release`` re-runs the recorded query with the recorded pins,
watermarks, creation time and chunk size, and checks every file's sha256
against the record, so a frozen release is rewritten byte for byte or not at all.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from galcat.catalog import __version__
from galcat.catalog.db import Database
from galcat.catalog.registry import RegistryError, resolve, sha256_file
from galcat.catalog.release.datamodel import render_datamodel
from galcat.catalog.release.definitions import CatalogueDef, catalogue
from galcat.catalog.release.formats import DEFAULT_FORMATS, FORMATS, open_writer, writer_class
from galcat.catalog.release.provenance import ModelPin, Provenance
from galcat.catalog.release.query import (
    CHUNK_ROWS,
    Pinned,
    iter_chunks,
    measure,
    select_rows,
    watermarks,
)
from galcat.catalog.release.writers import ReleaseWriteError
from galcat.catalog.schema import ModelVersion, Release, ReleaseFile

TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ReleaseError(Exception):
    """A release that cannot be made or exported, with what to do about it."""


class ReleaseExists(ReleaseError):
    """The tag is taken: releases are frozen."""


@dataclass(frozen=True)
class FileRecord:
    filename: str
    format: str
    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class ReleaseRecord:
    """A recorded release: its spec (pins, watermarks, filter, time) and files."""

    tag: str
    catalogue: str
    spec: dict[str, Any]
    row_count: int
    code_version: str
    files: list[FileRecord]

    @property
    def pinned(self) -> Pinned:
        return Pinned(self.catalogue, {k: int(v) for k, v in self.spec["pins"].items()},
                      {k: int(v) for k, v in self.spec["watermarks"].items()},
                      str(self.spec.get("where") or ""))

    @property
    def models(self) -> list[ModelPin]:
        return [ModelPin.from_dict(m) for m in self.spec["models"]]

    @property
    def created_at(self) -> str:
        return str(self.spec["created_at"])

    @property
    def table_rows(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.spec["tables"].items()}


def make_release(
    db: Database, catalogue_name: str, tag: str, out: Path,
    models: Sequence[str] = (), where: str = "", formats: Sequence[str] = DEFAULT_FORMATS,
    now: datetime | None = None,
) -> ReleaseRecord:
    """Write release ``tag`` of a public catalogue into ``out`` and record it.

    ``models`` are references (``morphology@2``) overriding the default of their task
    (the latest version of the model named like the task); ``where`` filters rows by
    public column names; ``formats`` any of ``FORMATS`` (default ``DEFAULT_FORMATS``);
    ``now`` is the creation time (default: the clock, UTC, whole seconds).
    """
    definition = catalogue(catalogue_name)
    _check_tag(tag)
    chosen = parse_formats(formats)
    created = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    with db.new_session() as session:
        if session.execute(sa.select(Release.id).where(Release.tag == tag)).first():
            raise ReleaseExists(_exists_message(tag))
    with db.readonly_engine.connect() as connection:
        session = Session(bind=connection)
        pins = resolve_models(session, definition, models)
        spec: dict[str, Any] = {
            "catalogue": definition.name,
            "pins": {p.task: p.id for p in pins},
            "models": [p.to_dict() for p in pins],
            "watermarks": watermarks(connection, {p.task: p.id for p in pins}),
            "where": where.strip(),
            "formats": chosen,
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%S"),
            "chunk_rows": CHUNK_ROWS,
            "code_version": __version__,
            "out_dir": str(out.resolve()),
        }
        record = ReleaseRecord(tag, definition.name, spec, 0, __version__, [])
        with _staging(out, release_filenames(record)) as staging:
            files, counts = write_files(connection, record, staging)
            spec["tables"] = counts
            main_rows = counts[definition.main.name]
            _record(db, tag, definition, spec, main_rows, created, files)
            _publish(staging, out, files)
    return ReleaseRecord(tag, definition.name, spec, main_rows, __version__, files)


def export_release(db: Database, tag: str, out: Path) -> ReleaseRecord:
    """Rewrite frozen release ``tag`` into ``out``; refuses if any file would differ."""
    record = load_release(db, tag)
    with db.readonly_engine.connect() as connection:
        _check_models(connection, record)
        with _staging(out, release_filenames(record)) as staging:
            files, _counts = write_files(connection, record, staging,
                                        expected_rows=record.table_rows)
            recorded = {f.filename: f for f in record.files}
            differ = [f.filename for f in files if recorded.get(f.filename) != f]
            differ += sorted(set(recorded) - {f.filename for f in files})
            if differ:
                raise ReleaseError(
                    f"release {tag} cannot be rewritten byte for byte: {', '.join(differ)} "
                    "differ from the recorded sha256 (rows of the pinned query were edited "
                    "in place since the release, or galcat's writers changed); nothing was "
                    "written")
            _publish(staging, out, files)
    return record


def load_release(db: Database, tag: str) -> ReleaseRecord:
    """The recorded release ``tag``."""
    with db.new_session() as session:
        return release_record(session, tag)


def release_record(session: Session, tag: str) -> ReleaseRecord:
    row = session.execute(sa.select(Release).where(Release.tag == tag)).scalar_one_or_none()
    if row is None:
        known = session.execute(sa.select(Release.tag).order_by(Release.id)).scalars().all()
        raise ReleaseError(f"no release {tag!r} (releases: {', '.join(known) or 'none yet'})")
    files = session.execute(sa.select(ReleaseFile).where(ReleaseFile.release_id == row.id)
                            .order_by(ReleaseFile.filename)).scalars().all()
    return ReleaseRecord(row.tag, row.catalog, dict(row.spec), row.row_count, row.code_version,
                         [FileRecord(f.filename, f.format, f.sha256, f.size_bytes)
                          for f in files])


def list_releases(db: Database) -> list[ReleaseRecord]:
    """Every release, oldest first."""
    with db.new_session() as session:
        tags = session.execute(sa.select(Release.tag).order_by(Release.id)).scalars().all()
        return [release_record(session, t) for t in tags]


def resolve_models(session: Session, definition: CatalogueDef, references: Sequence[str]
                   ) -> list[ModelPin]:
    """The pinned model version of each task the catalogue needs."""
    chosen: dict[str, ModelVersion] = {}
    try:
        for reference in references:
            version = resolve(session, reference)
            if version.task not in definition.tasks:
                raise ReleaseError(
                    f"model {version.name}@{version.version} is a {version.task!r} model; the "
                    f"{definition.name} catalogue pins {', '.join(definition.tasks)}")
            if version.task in chosen:
                raise ReleaseError(f"two models given for task {version.task!r}")
            chosen[version.task] = version
        for task in definition.tasks:
            if task not in chosen:
                chosen[task] = resolve(session, task)
    except RegistryError as exc:
        raise ReleaseError(f"{exc}; pass --model NAME@N for each of "
                           f"{', '.join(definition.tasks)}") from None
    return [ModelPin(task, v.name, v.version, v.id, v.weights_sha256,
                     v.training_fingerprint or "", v.code_version)
            for task, v in sorted(chosen.items(), key=lambda kv: definition.tasks.index(kv[0]))]


def parse_formats(formats: Sequence[str] | str) -> list[str]:
    """Formats in canonical order; ``"fits,csv"`` or a list."""
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    wanted = {f.strip().lower() for f in items if f.strip()}
    unknown = wanted - set(FORMATS)
    if unknown or not wanted:
        raise ReleaseError(f"unknown format(s) {', '.join(sorted(unknown)) or '(none)'}: "
                           f"choose from {', '.join(FORMATS)}")
    return [f for f in FORMATS if f in wanted]


def release_filenames(record: ReleaseRecord) -> dict[str, str]:
    """Every file or folder at the top of a release: name -> format (``datamodel``,
    ``manifest`` too); a HATS collection is one folder."""
    stem = f"galcat_{record.catalogue}_{record.tag}"
    names = {f"{stem}_{t.name}{writer_class(fmt).suffix}": fmt
             for t in catalogue(record.catalogue).tables for fmt in record.spec["formats"]}
    names[f"{stem}_datamodel.md"] = "datamodel"
    names[f"{stem}_MANIFEST.sha256"] = "manifest"
    return names


def write_files(connection: sa.Connection, record: ReleaseRecord, folder: Path,
                expected_rows: dict[str, int] | None = None
                ) -> tuple[list[FileRecord], dict[str, int]]:
    """Write every file of ``record`` into ``folder``; return them and the row counts."""
    definition = catalogue(record.catalogue)
    spec, pinned = record.spec, record.pinned
    stem = f"galcat_{record.catalogue}_{record.tag}"
    counts: dict[str, int] = {}
    names: dict[str, list[str]] = {fmt: [] for fmt in spec["formats"]}
    try:
        for table in definition.tables:
            n, widths = measure(connection, pinned, table)
            if expected_rows is not None and expected_rows.get(table.name) != n:
                raise ReleaseError(
                    f"release {record.tag}: table {table.name} had {expected_rows.get(table.name)}"
                    f" rows when it was made, the pinned query now gives {n} (rows were deleted "
                    "or edited since); nothing was written")
            provenance = Provenance(record.tag, record.catalogue, table.name, spec["created_at"],
                                    spec["code_version"], n, tuple(record.models), pinned.where)
            writers = []
            for fmt in spec["formats"]:
                name = f"{stem}_{table.name}{writer_class(fmt).suffix}"
                names[fmt].append(name)
                writers.append(open_writer(fmt, folder / name, table, widths, provenance))
            written = 0
            try:
                for chunk in iter_chunks(connection, select_rows(pinned, table), table,
                                         int(spec["chunk_rows"])):
                    for writer in writers:
                        writer.write(chunk)
                    written += chunk.n
            finally:
                for writer in writers:
                    writer.close()
            if written != n:
                raise ReleaseError(f"table {table.name}: {written} rows streamed but {n} counted "
                                   "(the catalogue changed while writing); try again")
            counts[table.name] = n
    except sa.exc.DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ReleaseError(f"the database refused the release query (check --where): "
                           f"{reason}") from None
    except ReleaseWriteError as exc:
        raise ReleaseError(str(exc)) from None
    datamodel = f"{stem}_datamodel.md"
    (folder / datamodel).write_text(render_datamodel(
        definition, record.tag, spec["created_at"], spec["code_version"], record.models,
        pinned.where, counts, names), encoding="utf-8")
    files = [_file_record(folder, path, fmt) for fmt, group in names.items()
             for name in group for path in _files_under(folder / name)]
    files.append(_file_record(folder, folder / datamodel, "datamodel"))
    manifest = folder / f"{stem}_MANIFEST.sha256"
    manifest.write_text("".join(f"{f.sha256}  {f.filename}\n"
                                for f in sorted(files, key=lambda f: f.filename)),
                        encoding="utf-8")
    files.append(_file_record(folder, manifest, "manifest"))
    return sorted(files, key=lambda f: f.filename), counts


def _files_under(path: Path) -> list[Path]:
    """``path`` itself, or every file in the folder ``path``."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    return [path]


def _file_record(folder: Path, path: Path, fmt: str) -> FileRecord:
    return FileRecord(path.relative_to(folder).as_posix(), fmt, sha256_file(path),
                      path.stat().st_size)


def _check_tag(tag: str) -> None:
    if not TAG.match(tag):
        raise ReleaseError(f"tag {tag!r} must be 1-64 letters, digits, '.', '_' or '-', "
                           "starting with a letter or digit")


def _exists_message(tag: str) -> str:
    return (f"release {tag} already exists and releases are frozen: choose a new tag, or "
            f"rewrite its files with `galcat release export {tag} --out DIR`")


def _check_models(connection: sa.Connection, record: ReleaseRecord) -> None:
    for pin in record.models:
        row = connection.execute(sa.select(ModelVersion.name, ModelVersion.version,
                                           ModelVersion.weights_sha256)
                                 .where(ModelVersion.id == pin.id)).first()
        if row is None or tuple(row) != (pin.name, pin.version, pin.weights_sha256):
            raise ReleaseError(f"release {record.tag} is pinned to {pin.reference} "
                               f"(weights {pin.weights_sha256[:12]}…), which is no longer in "
                               "the catalogue as recorded")


def _record(db: Database, tag: str, definition: CatalogueDef, spec: dict[str, Any],
            rows: int, created: datetime, files: list[FileRecord]) -> None:
    try:
        with db.session() as session:
            release = Release(catalog=definition.name, tag=tag, spec=spec, row_count=rows,
                              code_version=__version__, created_at=created)
            session.add(release)
            session.flush()
            session.add_all(ReleaseFile(release_id=release.id, filename=f.filename,
                                        format=f.format, sha256=f.sha256,
                                        size_bytes=f.size_bytes) for f in files)
    except sa.exc.IntegrityError:
        raise ReleaseExists(_exists_message(tag)) from None


class _staging:
    """A hidden folder inside ``out`` to write into; removed afterwards.

    Refuses up front when ``out`` already holds a file of the release.
    """

    def __init__(self, out: Path, names: dict[str, str]) -> None:
        self.out = out
        clashes = [n for n in names if (out / n).exists()]
        if clashes:
            raise ReleaseError(f"{out} already has {', '.join(sorted(clashes))}: choose an "
                               "empty --out folder or remove them")
        self.path: Path | None = None

    def __enter__(self) -> Path:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            self.path = Path(tempfile.mkdtemp(prefix=".galcat-release-", dir=self.out))
        except OSError as exc:
            raise self._refusal(exc) from exc
        return self.path

    def __exit__(self, kind: object, exc: BaseException | None, trace: object) -> None:
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
        if isinstance(exc, OSError):
            raise self._refusal(exc) from exc

    def _refusal(self, exc: OSError) -> ReleaseError:
        """A failed write (disk full, no permission) as one line naming the folder."""
        return ReleaseError(f"cannot write the release into {self.out}: "
                            f"{exc.strerror or exc}; nothing was left there")


def _publish(staging: Path, out: Path, files: list[FileRecord]) -> None:
    for top in sorted({f.filename.split("/")[0] for f in files}):
        os.replace(staging / top, out / top)
