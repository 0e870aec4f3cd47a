"""The cone-search service on both backends, driven by pyvo as a real VO client:
answers match catalog.sky.cone; bad parameters get an IVOA error VOTable, never a
trace; pages, sky plots and checksummed downloads work; the service reads through
a role (PostgreSQL) or an engine (SQLite) that cannot write."""

from __future__ import annotations

import hashlib
import io
import json
import urllib.error
import urllib.request
import uuid
from email.message import Message

import pytest
import pyvo
import sqlalchemy as sa
from astropy.io import votable
from pyvo.dal.exceptions import DALQueryError
from service_fixtures import Running, drop_role

from galcat.catalog.access import ensure_readonly_role, role_url, service_engine
from galcat.catalog.db import Database
from galcat.catalog.schema import Galaxy
from galcat.catalog.sky import cone


def _get(url: str) -> tuple[int, Message, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


CONES = [(150.0, 2.0, 0.3), (149.2, 1.1, 0.5), (150.9, 2.9, 0.2), (150.5, 2.5, 1e-4)]


@pytest.mark.filterwarnings("error")  # pyvo and astropy read the answers without a warning
def test_pyvo_cone_search_matches_catalog_cone(service: Running) -> None:
    scs = pyvo.dal.SCSService(f"{service.base}/scs/morphology")
    for ra, dec, radius in CONES:
        result = scs.search(pos=(ra, dec), radius=radius)
        with service.db.new_session() as session:
            want = cone(session, "galaxy", ra, dec, radius, columns=["id"])
        got = result.to_table()
        assert [int(v) for v in got["galaxy_id"]] == [r["id"] for r in want]
        assert [float(v) for v in got["distance_deg"]] == pytest.approx(
            [r["distance_deg"] for r in want], abs=1e-12)
        if len(got):  # SCS 1.03 UCD1 words on id and position, as pyvo's records expect
            first = result[0]
            assert first.id == got["galaxy_id"][0]
            assert first.pos.ra.deg == got["ra"][0] and first.pos.dec.deg == got["dec"][0]
            assert str(got["r_eff_arcsec"].unit) == "arcsec"
    assert sum(len(scs.search(pos=c[:2], radius=c[2])) for c in CONES) > 10

    # the DLA endpoint: absorbers on the sightlines in the cone, and a minimal VERB=1
    with service.db.new_session() as session:
        near = {r["id"] for r in cone(session, "sightline", 150.0, 2.0, 0.6, columns=["id"])}
    absorbers = pyvo.dal.SCSService(f"{service.base}/scs/dla/DLA1").search(
        pos=(150.0, 2.0), radius=0.6, verbosity=1).to_table()
    by_sightline = service.sample.absorbers["sightline_id"].tolist()
    assert len(absorbers) == sum(1 for s in by_sightline if s in near) > 0
    assert absorbers.colnames == ["absorber_id", "ra", "dec", "distance_deg"]


BAD = [
    ({"RA": "abc", "DEC": "1", "SR": "0.1"}, "RA='abc' is not a number"),
    ({"RA": "1; DROP TABLE galaxy", "DEC": "1", "SR": "0.1"}, "is not a number"),
    ({"RA": "400", "DEC": "1", "SR": "0.1"}, "outside [0, 360]"),
    ({"RA": "150", "DEC": "-91", "SR": "0.1"}, "outside [-90, 90]"),
    ({"RA": "150", "DEC": "2", "SR": "0"}, "greater than 0"),
    ({"RA": "150", "DEC": "2", "SR": "45"}, "at most 10"),
    ({"RA": "150", "DEC": "nan", "SR": "1"}, "not a finite number"),
    ({"DEC": "2", "SR": "1"}, "RA is required"),
    ({"RA": "150", "DEC": "2", "SR": "1", "VERB": "7"}, "VERB=7"),
]


def test_bad_parameters_get_an_error_votable(service: Running) -> None:
    for params, message in BAD:
        query = pyvo.dal.scs.SCSQuery(f"{service.base}/scs/morphology")
        for key, value in params.items():
            query[key] = value
        with pytest.raises(DALQueryError) as refused:
            query.execute()
        assert message in str(refused.value), params
        status, _, body = _get(query.queryurl + "?" + "&".join(
            f"{k}={urllib.request.quote(v)}" for k, v in params.items()))
        assert status == 200 and b'name="QUERY_STATUS" value="ERROR"' in body
        assert b"Traceback" not in body
        assert "found no violations" in votable.validate(io.BytesIO(body), output=None)
    with service.db.new_session() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Galaxy)).scalar() == 120


def test_metadata_and_unknown_catalogue(service: Running) -> None:
    status, _, body = _get(f"{service.base}/scs/morphology?FORMAT=METADATA")
    assert status == 200 and b'name="galaxy_id"' in body and b"<TR>" not in body
    status, _, body = _get(f"{service.base}/scs/nebulae?RA=1&DEC=1&SR=1")
    assert b'value="ERROR"' in body and b"no catalogue 'nebulae'" in body
    status, _, body = _get(f"{service.base}/scs/dla/DR1?RA=1&DEC=1&SR=1")
    assert b'value="ERROR"' in body and b"is a morphology release" in body


def test_pages_plots_and_downloads(service: Running) -> None:
    status, _, body = _get(service.base + "/")
    assert status == 200 and b"/releases/DR1" in body and b"/scs/dla" in body
    status, _, body = _get(service.base + "/releases")
    listing = {r["tag"]: r for r in json.loads(body)}
    assert listing["DR1"]["rows"] == {"galaxies": 120}
    assert {f["name"]: f["sha256"] for f in listing["DLA1"]["files"]} == {
        f.filename: f.sha256 for f in service.dla.files}

    status, _, body = _get(service.base + "/releases/DR1")
    page = body.decode()
    assert status == 200 and "galaxies: 120 rows" in page and "sky.png" in page
    assert service.morphology.models[0].weights_sha256 in page
    for f in service.morphology.files:
        assert f"/releases/DR1/files/{f.filename}" in page and f.sha256 in page
    status, headers, png = _get(service.base + "/releases/DR1/sky.png")
    assert status == 200 and png.startswith(b"\x89PNG") and headers["Content-Type"] == "image/png"

    for f in service.morphology.files:
        status, headers, data = _get(f"{service.base}/releases/DR1/files/{f.filename}")
        assert status == 200 and hashlib.sha256(data).hexdigest() == f.sha256
        assert headers["X-Checksum-SHA256"] == f.sha256 and headers["Digest"].startswith(
            "sha-256=")

    tampered = service.files / "DLA1" / "galcat_dla_DLA1_absorbers.csv"
    tampered.write_text(tampered.read_text().replace("DLA", "XXX"))
    status, _, body = _get(f"{service.base}/releases/DLA1/files/{tampered.name}")
    assert status == 404 and b"not on this server" in body
    status, _, body = _get(f"{service.base}/releases/DR1/files/..%2F..%2Fetc%2Fpasswd")
    assert status == 404 and b"has no file" in body
    status, _, body = _get(f"{service.base}/releases/NOPE")
    assert status == 404 and b"no release 'NOPE'" in body and b"Traceback" not in body


def test_the_service_cannot_write(db: Database) -> None:
    """On PostgreSQL the read-only role may read every table, present and future, and
    write none; on SQLite there are no roles and the service uses the mode=ro engine,
    whose authorizer refuses a write before it runs."""
    role = f"galcat_reader_{uuid.uuid4().hex[:8]}"
    if db.dialect != "postgresql":
        assert ensure_readonly_role(db, role) is None
        assert service_engine(db, role) is db.pooled_readonly_engine
        with pytest.raises(sa.exc.DatabaseError, match="not authorized"), \
                db.pooled_readonly_engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM survey")
        return
    assert ensure_readonly_role(db, role) == role
    assert ensure_readonly_role(db, role) == role  # idempotent
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE later_table (x integer)")
        conn.exec_driver_sql("INSERT INTO later_table VALUES (1)")
    engine = service_engine(db, role)
    plain = sa.create_engine(role_url(db, role))  # no read-only transaction: the role itself
    try:
        assert engine.url.username == role
        with plain.connect() as conn:
            assert conn.exec_driver_sql("SELECT current_user").scalar() == role
            assert conn.exec_driver_sql("SELECT count(*) FROM later_table").scalar() == 1
            assert conn.exec_driver_sql("SELECT count(*) FROM galaxy").scalar() == 0
        for statement in ("INSERT INTO survey (name, kind, created_at) VALUES ('x', 'catalog', "
                          "now())", "UPDATE galaxy SET z_spec = 1", "DELETE FROM later_table",
                          "CREATE TABLE sneaky (a integer)", "DROP TABLE later_table"):
            with pytest.raises(sa.exc.DBAPIError) as refused, plain.begin() as conn:
                conn.exec_driver_sql("SET TRANSACTION READ WRITE")
                conn.exec_driver_sql(statement)
            assert getattr(refused.value.orig, "sqlstate", None) in ("42501", "42P01"), statement
    finally:
        engine.dispose()
        plain.dispose()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE later_table")
        drop_role(db, role)
