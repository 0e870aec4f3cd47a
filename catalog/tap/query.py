"""One ADQL query from text to the bytes of its answer, shared by TAP's synchronous
route and its asynchronous jobs."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from galcat.catalog.release.build import ReleaseRecord, release_record
from galcat.catalog.schema import Release
from galcat.catalog.tap.adql import AdqlError, translate
from galcat.catalog.tap.output import Format, FormatError, write_answer
from galcat.catalog.tap.run import TapQueryError, result_columns, run_query, with_tables
from galcat.catalog.tap.tables import tap_tables

TAP_ERRORS = (AdqlError, FormatError, TapQueryError)
"""What a query can do wrong; each message says what (answered as an error document)."""


@dataclass(frozen=True)
class TapAnswer:
    body: bytes
    format: Format
    rows: int
    overflow: bool
    releases: dict[str, str]
    """Catalogue -> release tag the query read."""


def newest_release_tags(connection: sa.Connection) -> dict[str, str]:
    """The tag of the newest release of each catalogue that has one."""
    newest = sa.select(Release.catalog, sa.func.max(Release.id).label("id")) \
        .group_by(Release.catalog).subquery()
    found = connection.execute(sa.select(Release.catalog, Release.tag)
                               .join(newest, newest.c.id == Release.id)).all()
    return {catalogue: tag for catalogue, tag in found}


def newest_releases(connection: sa.Connection) -> dict[str, ReleaseRecord]:
    """The newest release of each catalogue that has one."""
    session = Session(bind=connection)
    return {catalogue: release_record(session, tag)
            for catalogue, tag in newest_release_tags(connection).items()}


def answer_adql(engine: Engine, adql: str, maxrec: int, fmt: Format, timeout_s: float,
                releases: dict[str, ReleaseRecord]) -> TapAnswer:
    """At most ``maxrec`` rows of ``adql`` over ``releases`` (catalogue -> release), written
    as ``fmt``; raises one of ``TAP_ERRORS`` with what was wrong."""
    known = tap_tables()
    translated = translate(adql, engine.dialect.name, known)
    sql = with_tables(translated, releases, engine)
    result = run_query(engine, sql, maxrec, timeout_s)
    columns = result_columns(translated, result, known)
    used = sorted({t.catalogue for t in translated.tables if t.catalogue and
                   t.catalogue in releases})
    tags = {c: releases[c].tag for c in used}
    infos = [("QUERY", adql), *((f"release_{c}", tag) for c, tag in tags.items())]
    body = write_answer(fmt, columns, result.rows, infos, f"galcat TAP: {adql}",
                        result.overflow)
    return TapAnswer(body, fmt, len(result.rows), result.overflow, tags)
