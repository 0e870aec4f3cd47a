"""TAP over the running service on both backends, driven by pyvo: ADQL answers match
the release rows and catalog.sky.cone; TAP_SCHEMA and VOSI describe every public
column with its unit; MAXREC, formats and errors behave as TAP 1.1 and DALI say; a
query cannot reach a table TAP does not show; on PostgreSQL, cones use the sky index."""

from __future__ import annotations

import io
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pyarrow.parquet as pq
import pytest
import pyvo
import sqlalchemy as sa
from astropy import units as u
from astropy.io import votable
from astropy.table import Table
from pyvo.dal.exceptions import DALQueryError
from service_fixtures import Running

from galcat.catalog.release.definitions import CATALOGUES
from galcat.catalog.release.query import select_rows
from galcat.catalog.sky import cone
from galcat.catalog.tap.adql import translate
from galcat.catalog.tap.run import with_tables
from galcat.catalog.tap.tables import tap_tables


def _release_rows(service: Running, catalogue: str, table: str) -> list[tuple]:
    record = service.dla if catalogue == "dla" else service.morphology
    with service.db.readonly_engine.connect() as connection:
        definition = CATALOGUES[catalogue].table(table)
        return [tuple(r) for r in connection.execute(select_rows(record.pinned, definition))]


def _post(url: str, **params: str) -> tuple[int, bytes]:
    data = urllib.parse.urlencode(params).encode()
    try:
        with urllib.request.urlopen(url, data=data, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.filterwarnings("error")
def test_pyvo_sync_queries_match_the_release(service: Running) -> None:
    tap = pyvo.dal.TAPService(f"{service.base}/tap")
    got = tap.search("SELECT galaxy_id, ra, dec, f_spheroid, r_eff_arcsec FROM "
                     "morphology.galaxies ORDER BY galaxy_id").to_table()
    want = _release_rows(service, "morphology", "galaxies")
    names = CATALOGUES["morphology"].table("galaxies").names
    assert [int(v) for v in got["galaxy_id"]] == [r[names.index("galaxy_id")] for r in want]
    assert np.allclose(np.asarray(got["f_spheroid"], float),
                       [r[names.index("f_spheroid")] for r in want])
    assert str(got["ra"].unit) == "deg" and str(got["r_eff_arcsec"].unit) == "arcsec"

    absorbers = tap.search(
        "SELECT a.absorber_id, a.log_nhi, s.z_qso FROM dla.absorbers AS a "
        "JOIN dla.sightlines AS s ON a.sightline_id = s.sightline_id "
        "WHERE a.log_nhi > 20.3 ORDER BY a.absorber_id").to_table()
    rows = _release_rows(service, "dla", "absorbers")
    columns = CATALOGUES["dla"].table("absorbers").names
    strong = sorted(r[columns.index("absorber_id")] for r in rows
                    if r[columns.index("log_nhi")] > 20.3)
    assert [int(v) for v in absorbers["absorber_id"]] == strong and len(strong) > 0
    assert absorbers["log_nhi"].unit == u.dex(u.cm**-2)

    counted = tap.search("SELECT COUNT(*) AS n FROM dla.sightlines").to_table()
    assert int(counted["n"][0]) == service.dla.table_rows["sightlines"]


CONES = [(150.0, 2.0, 0.3), (149.2, 1.1, 0.5), (150.5, 2.5, 1 / 60)]


def test_adql_cones_match_catalog_cone(service: Running) -> None:
    tap = pyvo.dal.TAPService(f"{service.base}/tap")
    for ra, dec, radius in CONES:
        adql = (f"SELECT galaxy_id, DISTANCE(POINT('ICRS', ra, dec), "
                f"POINT('ICRS', {ra}, {dec})) AS d FROM morphology.galaxies "
                f"WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', {ra}, {dec}, "
                f"{radius})) ORDER BY d")
        got = tap.search(adql).to_table()
        with service.db.new_session() as session:
            want = cone(session, "galaxy", ra, dec, radius, columns=["id"])
        assert [int(v) for v in got["galaxy_id"]] == [r["id"] for r in want]
        assert np.allclose(np.asarray(got["d"], float), [r["distance_deg"] for r in want],
                           atol=1e-9)
    assert len(tap.search("SELECT * FROM morphology.galaxies WHERE 1 = CONTAINS("
                          "POINT('ICRS', ra, dec), CIRCLE('ICRS', 150, 2, 0.3))")) > 3


def test_tap_schema_and_vosi_describe_every_public_column(service: Running) -> None:
    tap = pyvo.dal.TAPService(f"{service.base}/tap")
    columns = tap.search("SELECT table_name, column_name, unit, ucd, datatype FROM "
                         "TAP_SCHEMA.columns").to_table()
    described = {(str(r["table_name"]), str(r["column_name"])): r for r in columns}
    for name, definition in CATALOGUES.items():
        for table in definition.tables:
            for column in table.columns:
                row = described[(f"{name}.{table.name}", column.name)]
                assert (str(row["ucd"]) if row["ucd"] else "") == column.ucd
    assert str(described[("dla.absorbers", "log_nhi")]["unit"]) == "[cm-2]"
    keys = tap.search("SELECT k.from_table, c.from_column FROM TAP_SCHEMA.keys AS k "
                      "JOIN TAP_SCHEMA.key_columns AS c ON k.key_id = c.key_id").to_table()
    assert ("dla.absorbers", "sightline_id") in {(str(r[0]), str(r[1])) for r in keys}

    vosi = {t.name: t for t in tap.tables}
    assert set(vosi) == {t.qualified for t in tap_tables().values()}
    assert [c.name for c in vosi["dla.absorbers"].columns] == \
        CATALOGUES["dla"].table("absorbers").names
    capabilities = urllib.request.urlopen(f"{service.base}/tap/capabilities").read()
    assert b"ivo://ivoa.net/std/TAP" in capabilities and b"ADQL" in capabilities
    available = urllib.request.urlopen(f"{service.base}/tap/availability").read()
    assert b"<vosi:available>true</vosi:available>" in available and b"DLA1" in available


def test_maxrec_formats_and_validation(service: Running) -> None:
    tap = pyvo.dal.TAPService(f"{service.base}/tap")
    limited = tap.search("SELECT * FROM morphology.galaxies", maxrec=7)
    assert len(limited) == 7 and limited.query_status == "OVERFLOW"
    assert len(tap.search("SELECT TOP 4 * FROM morphology.galaxies")) == 4

    query = "SELECT TOP 5 galaxy_id, ra, z_spec FROM morphology.galaxies ORDER BY galaxy_id"
    status, body = _post(f"{service.base}/tap/sync", LANG="ADQL", QUERY=query)
    assert status == 200
    assert "found no violations" in votable.validate(io.BytesIO(body), output=None)
    reference = votable.parse_single_table(io.BytesIO(body)).to_table()
    for fmt, read in (("csv", lambda b: Table.read(b.decode(), format="ascii.csv")),
                      ("fits", lambda b: Table.read(io.BytesIO(b), format="fits")),
                      ("parquet", lambda b: Table(pq.read_table(io.BytesIO(b)).to_pydict()))):
        status, data = _post(f"{service.base}/tap/sync", LANG="ADQL", QUERY=query,
                             RESPONSEFORMAT=fmt)
        assert status == 200, data[:300]
        table = read(data)
        assert list(table["galaxy_id"]) == list(reference["galaxy_id"]), fmt


REFUSED = [
    ("SELECT * FROM job", "schema"),
    ("SELECT * FROM public.job", "no table public.job"),
    ("SELECT * FROM dla.absorbers WHERE sightline_id IN (SELECT id FROM public.sightline)",
     "no table public.sightline"),
    ("SELEC * FROM dla.absorbers", "syntax error"),
    ("SELECT nonsense_column FROM dla.absorbers", "nonsense_column"),
]


def test_refused_queries_get_error_documents(service: Running) -> None:
    tap = pyvo.dal.TAPService(f"{service.base}/tap")
    for adql, message in REFUSED:
        with pytest.raises(DALQueryError) as refused:
            tap.search(adql)
        assert message in str(refused.value), adql
        status, body = _post(f"{service.base}/tap/sync", LANG="ADQL", QUERY=adql)
        assert status == 400 and b'name="QUERY_STATUS" value="ERROR"' in body
        assert b"Traceback" not in body
        assert "found no violations" in votable.validate(io.BytesIO(body), output=None)
    for params, message in (({"LANG": "SQL", "QUERY": "SELECT 1"}, b"LANG=SQL"),
                            ({"LANG": "ADQL"}, b"QUERY is required"),
                            ({"QUERY": "SELECT * FROM dla.absorbers", "MAXREC": "x"},
                             b"MAXREC='x'"),
                            ({"QUERY": "SELECT * FROM dla.absorbers",
                              "RESPONSEFORMAT": "image/gif"}, b"RESPONSEFORMAT")):
        status, body = _post(f"{service.base}/tap/sync", **params)
        assert status == 400 and message in body, body


def test_geometry_on_each_backend(service: Running) -> None:
    tap = pyvo.dal.TAPService(f"{service.base}/tap")
    box = ("SELECT galaxy_id FROM morphology.galaxies WHERE 1 = CONTAINS("
           "POINT('ICRS', ra, dec), BOX('ICRS', 150, 2, 0.5, 0.5))")
    if service.db.dialect == "sqlite":
        with pytest.raises(DALQueryError, match="need PostgreSQL"):
            tap.search(box)
        return
    got = {int(v) for v in tap.search(box).to_table()["galaxy_id"]}
    with service.db.new_session() as session:
        inside = {r["id"] for r in cone(session, "galaxy", 150, 2, 0.36, columns=["id"])}
    assert got and got <= inside
    translated = translate(
        "SELECT galaxy_id FROM morphology.galaxies WHERE 1 = CONTAINS(POINT('ICRS', ra, dec),"
        " CIRCLE('ICRS', 150, 2, 0.0167))", "postgresql")
    sql = with_tables(translated, {"morphology": service.morphology}, service.db.engine)
    with service.db.engine.connect() as connection:
        connection.exec_driver_sql("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in connection.exec_driver_sql(f"EXPLAIN {sql}"))
    assert "ix_galaxy_sky_spoint" in plan, plan


def test_a_query_past_the_time_limit_is_stopped(service: Running) -> None:
    service.server.service.query_timeout_s = 0.2
    status, body = _post(
        f"{service.base}/tap/sync", LANG="ADQL",
        QUERY="SELECT COUNT(*) FROM morphology.galaxies AS a, morphology.galaxies AS b, "
              "morphology.galaxies AS c, morphology.galaxies AS d")
    assert status == 400 and b"limit and was stopped" in body, body[:400]
    with service.db.new_session() as session:
        assert session.execute(sa.text("SELECT 1")).scalar() == 1
