"""IVOA Simple Cone Search (SCS 1.03) over a frozen release.

``GET /scs/<catalogue>[/<tag>]?RA=&DEC=&SR=[&VERB=1|2|3][&MAXREC=][&FORMAT=METADATA]``
answers with a VOTable of the release's rows within SR degrees of (RA, DEC), nearest
first, with their distance. Parameter names are case-insensitive; values are parsed
as numbers and reach the database only as bound parameters (the cone's HEALPix
ranges, then the ids found), never as SQL text. Bad values get an error VOTable
(``QUERY_STATUS`` = ``ERROR``, and SCS 1.03's ``INFO name="Error"``) that says what
was wrong.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape

import sqlalchemy as sa
from sqlalchemy.orm import Session

from galcat.catalog.release.build import ReleaseRecord
from galcat.catalog.release.definitions import Column, TableDef, catalogue
from galcat.catalog.release.query import select_rows
from galcat.catalog.release.votable import tabledata_cell, tabledata_document
from galcat.catalog.sky import cone

MAX_SR_DEG = 10.0
DEFAULT_MAXREC = 100_000
DISTANCE = Column("distance_deg", "float64", "deg", "pos.angDistance",
                  "Angular distance from the cone centre")


class ScsError(Exception):
    """A request the service refuses; the message goes into the error VOTable."""


@dataclass(frozen=True)
class ConeRequest:
    ra: float
    dec: float
    sr: float
    verb: int = 2
    maxrec: int = DEFAULT_MAXREC
    metadata_only: bool = False


def parse_cone(query: Mapping[str, Sequence[str]]) -> ConeRequest:
    """Validated cone parameters from a parsed query string (``parse_qs`` output)."""
    params: dict[str, str] = {}
    for name, values in query.items():
        key = name.upper()
        if key in params or len(values) != 1:
            raise ScsError(f"parameter {key} is given more than once")
        params[key] = values[0]
    if params.get("FORMAT", "").upper() == "METADATA":
        return ConeRequest(0.0, 0.0, 0.0, 3, 0, metadata_only=True)
    ra = _number(params, "RA")
    dec = _number(params, "DEC")
    sr = _number(params, "SR")
    if not 0.0 <= ra <= 360.0:
        raise ScsError(f"RA={ra:g} is outside [0, 360] degrees")
    if not -90.0 <= dec <= 90.0:
        raise ScsError(f"DEC={dec:g} is outside [-90, 90] degrees")
    if not 0.0 < sr <= MAX_SR_DEG:
        raise ScsError(f"SR={sr:g} must be greater than 0 and at most {MAX_SR_DEG:g} degrees")
    verb = int(_number(params, "VERB")) if "VERB" in params else 2
    if verb not in (1, 2, 3):
        raise ScsError(f"VERB={params['VERB']} must be 1, 2 or 3")
    maxrec = DEFAULT_MAXREC
    if "MAXREC" in params:
        value = _number(params, "MAXREC")
        if value < 0 or value != int(value):
            raise ScsError(f"MAXREC={params['MAXREC']} must be a non-negative integer")
        maxrec = min(int(value), DEFAULT_MAXREC)
    return ConeRequest(ra % 360.0, dec, sr, verb, maxrec)


@lru_cache(maxsize=64)
def response_columns(table: TableDef, verb: int) -> tuple[Column, ...]:
    """VERB=1: id and position; 2 and 3: every public column. Distance always last.

    SCS 1.03 requires the UCD1 words ``ID_MAIN``, ``POS_EQ_RA_MAIN`` and
    ``POS_EQ_DEC_MAIN`` on the id and position fields (pyvo's ``SCSRecord.id`` and
    ``.pos`` look for them), so those three fields carry them instead of their UCD1+
    names; every other field keeps its UCD1+ word. (astropy's validator, which knows
    only UCD1+, flags exactly those three in a cone-search answer; release files carry
    UCD1+ throughout and validate cleanly.)
    """
    scs_ucd = {table.main_id: "ID_MAIN", "ra": "POS_EQ_RA_MAIN", "dec": "POS_EQ_DEC_MAIN"}
    chosen = [c for c in table.columns if verb > 1 or c.name in scs_ucd]
    return (*(replace(c, ucd=scs_ucd.get(c.name, c.ucd)) for c in chosen), DISTANCE)


class ConeStatements:
    """The cone-search SELECT of one release, built once: the release's rows whose
    positional-table id is in an expanding bound parameter ``ids``."""

    def __init__(self, record: ReleaseRecord) -> None:
        self.record = record
        self.table = catalogue(record.catalogue).main
        self.statement = select_rows(record.pinned, self.table,
                                     positions=sa.bindparam("ids", expanding=True))
        self.position_id = POSITION_IDS[self.table.position_table]


POSITION_IDS = {"galaxy": "galaxy_id", "sightline": "sightline_id"}
IDS_PER_QUERY = 5000


def cone_search(session: Session, statements: ConeStatements, request: ConeRequest
                ) -> tuple[list[tuple[Any, ...]], bool]:
    """Rows of the release's main table in the cone, nearest first (then by key), with
    their distance appended; and whether MAXREC cut the answer short.

    The positions come from ``catalog.sky.cone`` (HEALPix ranges, exact distance), the
    release's rows for them from its pinned query, ``IDS_PER_QUERY`` ids at a time.
    """
    try:
        near = cone(session, statements.table.position_table, request.ra, request.dec,
                    request.sr, columns=["id"])
    except ValueError as exc:
        raise ScsError(str(exc)) from None
    distance = {r["id"]: r["distance_deg"] for r in near}
    ids = list(distance)
    at = statements.table.names.index(statements.position_id)
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(ids), IDS_PER_QUERY):
        part = ids[start:start + IDS_PER_QUERY]
        found += [(*row, distance[row[at]])
                  for row in session.execute(statements.statement, {"ids": part})]
    found.sort(key=lambda row: row[-1])  # stable: key order among equal distances
    return found[: request.maxrec], len(found) > request.maxrec


def cone_document(record: ReleaseRecord, request: ConeRequest,
                  rows: Sequence[tuple[Any, ...]], overflow: bool) -> bytes:
    """The SCS response VOTable (TABLEDATA) for ``rows`` from ``cone_search``."""
    table = catalogue(record.catalogue).main
    columns = response_columns(table, request.verb)
    positions = [*(table.names.index(c.name) for c in columns[:-1]), len(table.names)]
    infos = [("release_tag", record.tag), ("catalogue", record.catalogue),
             ("release_created", record.created_at),
             *((f"model_{i}", m.reference) for i, m in enumerate(record.models, start=1))]
    description = (f"galcat {record.catalogue} release {record.tag}: "
                   f"{table.title}" if request.metadata_only else
                   f"galcat {record.catalogue} release {record.tag}: {table.title} within "
                   f"{request.sr:g} deg of ({request.ra:g}, {request.dec:g})")
    head, body, tail = _document_parts(table, request.verb, tuple(infos))
    status = "OVERFLOW" if overflow else "OK"
    cells = "".join(f"     <TR>{''.join(f'<TD>{tabledata_cell(row[p])}</TD>' for p in positions)}"
                    "</TR>\n" for row in rows)
    return (head.replace(_STATUS, status).replace(_DESCRIPTION, escape(description))
            + body + cells + tail).encode("utf-8")


_STATUS, _DESCRIPTION = "\x00status\x00", "\x00description\x00"


@lru_cache(maxsize=256)
def _document_parts(table: TableDef, verb: int, infos: tuple[tuple[str, str], ...]
                    ) -> tuple[str, str, str]:
    """The response VOTable cut around its rows, written once per release and VERB:
    the head (with the status and description to fill in), and what comes after."""
    document = tabledata_document(table, response_columns(table, verb), [], infos,
                                  _DESCRIPTION, _STATUS).decode("utf-8")
    head, rest = document.split("    <TABLEDATA>\n", 1)
    return head, "    <TABLEDATA>\n", rest


def _number(params: Mapping[str, str], name: str) -> float:
    if name not in params:
        raise ScsError(f"parameter {name} is required (degrees)" if name != "VERB"
                       else "VERB is required")
    text = params[name].strip()
    try:
        value = float(text)
    except ValueError:
        raise ScsError(f"{name}={text!r} is not a number") from None
    if not math.isfinite(value):
        raise ScsError(f"{name}={text!r} is not a finite number")
    return value
