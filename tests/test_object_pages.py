"""Object pages on both backends: an absorber's and a galaxy's page show the catalogued
values with their errors and PNG figures drawn from stored pixels; release pages link
to them and carry snippets that run; unknown objects get a 404 that says what to do,
never a traceback; the models drawn agree with the data they were made from."""

from __future__ import annotations

import html
import re
import struct
import urllib.error
import urllib.request
from email.message import Message

import numpy as np
import pytest
import sqlalchemy as sa
from service_fixtures import Running
from sqlalchemy.orm import Session

from bench.fixtures.object_pixels import ObjectPixels, add_object_pixels
from galcat.catalog.schema import DlaAbsorber
from galcat.catalog.service import ServiceServer, serve_in_thread
from galcat.catalog.service.objects import release_row
from galcat.catalog.service.routes.objects import NO_VIEWS

PNG = b"\x89PNG\r\n\x1a\n"


def _get(url: str) -> tuple[int, Message, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def _values(page: str) -> dict[str, tuple[str, str]]:
    """The values table of an object page: column -> (value, error) as printed."""
    cells = re.findall(r"<tr><td><code>([^<]+)</code></td><td>([^<]*)</td><td>([^<]*)</td>",
                       page)
    return {name: (html.unescape(value), error) for name, value, error in cells}


def _png_size(body: bytes) -> tuple[int, int]:
    assert body.startswith(PNG)
    width, height = struct.unpack(">II", body[16:24])
    return width, height


def _figures(service: Running, page: str) -> dict[str, bytes]:
    out = {}
    for src in re.findall(r'<img src="(/releases/[^"]+/objects/[^"]+\.png)"', page):
        status, headers, body = _get(service.base + src)
        assert status == 200 and headers["Content-Type"] == "image/png", body[:200]
        assert min(_png_size(body)) > 200
        out[src.rsplit("/", 1)[1]] = body
    return out


@pytest.fixture
def pixels(service: Running) -> ObjectPixels:
    return add_object_pixels(service.db, service.sample)


def test_object_pages_show_values_with_errors_and_figures(service: Running,
                                                          pixels: ObjectPixels) -> None:
    absorber_id = pixels.absorbers[0]
    with service.db.new_session() as session:
        stored = session.get(DlaAbsorber, absorber_id)
        assert stored is not None
        sightline_id, index = stored.sightline_id, stored.absorber_index
    a = service.sample.absorbers
    i = int(np.nonzero((a["sightline_id"] == sightline_id) & (a["absorber_index"] == index))[0][0])

    status, headers, body = _get(f"{service.base}/releases/DLA1/objects/{absorber_id}")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    page = body.decode()
    values = _values(page)
    assert float(values["z_dla"][0]) == pytest.approx(a["z_dla"][i], rel=1e-6)
    assert float(values["log_nhi"][0]) == pytest.approx(a["log_nhi"][i], rel=1e-6)
    assert float(values["log_nhi"][1]) == pytest.approx(a["log_nhi_err"][i], rel=1e-3)
    assert float(values["confidence"][0]) == pytest.approx(a["confidence"][i], rel=1e-6)
    assert values["type"][0] == a["type"][i]
    assert "z_dla_err" not in values and "log_nhi_err" not in values

    assert set(_figures(service, page)) == {"spectrum.png", "sightline.png"}
    assert "one confidence per reported absorber" in page
    on_sightline = [int(k) for k in
                    np.nonzero(a["sightline_id"] == sightline_id)[0]]
    linked = set(re.findall(r'href="/releases/DLA1/objects/(\d+)"', page))
    assert len(linked) == len(on_sightline) and str(absorber_id) in linked

    galaxy_id, image_id = next(iter(pixels.galaxies.items()))
    sersic = service.sample.predictions["sersic"][image_id]
    morphology = service.sample.predictions["morphology-old"][image_id]

    status, _, body = _get(f"{service.base}/releases/DR1/objects/{galaxy_id}")
    assert status == 200
    page = body.decode()
    values = _values(page)
    assert float(values["mag"][0]) == pytest.approx(sersic["mag"], rel=1e-6)
    assert float(values["mag"][1]) == pytest.approx(sersic["mag_err"], rel=1e-3)
    assert float(values["r_eff_arcsec"][1]) == pytest.approx(sersic["r_eff_err"], rel=1e-3)
    assert float(values["f_spheroid"][0]) == pytest.approx(morphology["f_spheroid"], rel=1e-6)
    assert int(values["image_id"][0]) == image_id
    assert set(_figures(service, page)) == {"images.png", "morphology.png"}


def test_models_drawn_agree_with_the_pixels_they_describe(service: Running,
                                                          pixels: ObjectPixels) -> None:
    from galcat.workers.dla.object_view import absorber_regions, sightline_data
    from galcat.workers.galaxy.object_view import catalogued_model, stored_stamp

    engine = service.server.service.engine
    with engine.connect() as connection:
        for galaxy_id, image_id in pixels.galaxies.items():
            row = release_row(connection, service.morphology, galaxy_id)
            assert row is not None
            stamp = stored_stamp(Session(bind=connection), image_id)
            assert stamp is not None and stamp.sky_sigma is not None
            drawn = catalogued_model(stamp, row)
            pulls = drawn.residual / stamp.sky_sigma
            assert abs(pulls.std() - 1) < 0.1 and abs(pulls.mean()) < 0.1
        for absorber_id in pixels.absorbers:
            row = release_row(connection, service.dla, absorber_id)
            assert row is not None
            regions = absorber_regions(sightline_data(connection, service.dla, row), row)
            lya = regions["Lya"]
            assert lya is not None and regions["Lyb"] is not None
            core = (lya.model < 0.1 * lya.continuum) & np.isfinite(lya.flux)
            if row["log_nhi"] >= 20.3:
                assert core.sum() >= 5
            if core.any():
                assert abs(np.median(lya.flux[core])) < 3 * np.median(lya.error[core])
            assert lya.model_low is not None and lya.model_high is not None
            assert np.all(lya.model_high <= lya.model_low + 1e-9)


def test_release_pages_link_objects_and_their_snippets_run(service: Running) -> None:
    status, _, body = _get(f"{service.base}/releases/DLA1")
    assert status == 200
    page = body.decode()
    linked = re.findall(r'<a href="/releases/DLA1/objects/(\d+)">', page)
    with service.db.new_session() as session:
        first = list(session.execute(
            sa.select(DlaAbsorber.id).order_by(DlaAbsorber.sightline_id,
                                               DlaAbsorber.absorber_index).limit(50)).scalars())
    assert [int(x) for x in linked] == first
    assert "TOPCAT" in page and f"{service.base}/scs/dla/DLA1" in page
    assert "lsdb.open_catalog(&#x27;galcat_dla_DLA1_absorbers_hats&#x27;)" in page

    python = html.unescape(re.findall(r"<pre>(import pyvo.*?)</pre>", page, re.S)[0])
    namespace: dict[str, object] = {}
    exec(python, namespace)
    assert len(namespace["rows"]) == min(100, service.dla.row_count)  # type: ignore[arg-type]
    assert "absorber_id" in namespace["near"].colnames  # type: ignore[attr-defined]

    status, _, body = _get(f"{service.base}/releases/DR1")
    assert status == 200 and '<a href="/releases/DR1/objects/' in body.decode()


NOT_FOUND = [
    ("/releases/DLA1/objects/999999", "release DLA1 has no absorber with absorber_id 999999"),
    ("/releases/DLA1/objects/abc", "'abc' is not an id: absorber ids are whole numbers"),
    ("/releases/DR1/objects/-1", "release DR1 has no galaxy with galaxy_id -1"),
    ("/releases/NOPE/objects/1", "NOPE"),
    ("/releases/DLA1/objects/999999/spectrum.png", "has no absorber"),
]


def test_what_cannot_be_shown_gets_a_404_that_says_why(service: Running,
                                                       pixels: ObjectPixels) -> None:
    cases = [*NOT_FOUND,
             (f"/releases/DLA1/objects/{pixels.absorbers[0]}/nope.png",
              "has no figure 'nope': choose one of spectrum.png, sightline.png")]
    without_pixels = int(service.sample.galaxies.ids[-1])
    cases.append((f"/releases/DR1/objects/{without_pixels}/images.png",
                  "are not stored in this catalogue"))
    for path, message in cases:
        status, headers, body = _get(service.base + path)
        text = body.decode()
        assert status == 404, (path, text)
        assert message in text, (path, text)
        assert "Traceback" not in text and headers["Content-Type"].startswith("text/plain")
    status, _, body = _get(f"{service.base}/releases/DR1/objects/{without_pixels}")
    assert status == 200 and "are not stored in this catalogue" in body.decode()

    plain = ServiceServer(service.server.service)
    serve_in_thread(plain)
    base = f"http://127.0.0.1:{plain.server_port}"
    try:
        status, _, body = _get(f"{base}/releases/DLA1/objects/1")
        assert status == 404 and body.decode().strip() == NO_VIEWS
        status, _, body = _get(f"{base}/releases/DLA1")
        assert status == 200 and "/objects/" not in body.decode()
        assert "no object pages for this catalogue" in body.decode()
    finally:
        plain.shutdown()
        plain.server_close()
