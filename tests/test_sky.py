"""Cone search against brute force on 100k points, poles and the RA=0/360 seam included."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
import sqlalchemy as sa
from astropy.coordinates import Latitude, Longitude, SkyCoord

from galcat.catalog.db import Database
from galcat.catalog.schema import Galaxy
from galcat.catalog.sky import angular_distance_deg, cone, cone_ranges, healpix_29
from galcat.catalog.surveys import survey_id

N_POINTS = 100_000


def _points(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n_uniform = int(N_POINTS * 0.7)
    ra = rng.uniform(0, 360, n_uniform)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n_uniform)))
    n_pole = int(N_POINTS * 0.1)
    pole_ra = rng.uniform(0, 360, n_pole)
    pole_dec = rng.choice([-1, 1], n_pole) * (90 - rng.uniform(0, 2, n_pole))
    n_seam = N_POINTS - n_uniform - n_pole
    seam_ra = np.mod(rng.uniform(-1, 1, n_seam), 360.0)
    seam_dec = rng.uniform(-60, 60, n_seam)
    return np.concatenate([ra, pole_ra, seam_ra]), np.concatenate([dec, pole_dec, seam_dec])


CONES = [
    (0.0, 90.0, 0.5), (123.0, -90.0, 1.0), (0.0, 89.99, 0.02), (200.0, -89.7, 0.4),
    (0.0, 0.0, 1 / 60), (0.0, 10.0, 0.3), (359.95, -20.0, 0.2), (0.02, 45.0, 1.0),
    (359.999, 0.5, 1 / 3600), (180.0, 0.0, 5.0), (90.0, 30.0, 30.0), (10.0, -85.0, 7.0),
]


@pytest.fixture
def sky(db: Database) -> tuple[Database, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(29)
    ra, dec = _points(rng)
    pix = healpix_29(ra, dec)
    with db.session() as session:
        sid = survey_id(session, "random-sky")
        db.bulk_upsert(
            session, Galaxy.__table__,
            ["survey_id", "external_id", "ra_deg", "dec_deg", "healpix_29"],
            ((sid, str(i), float(r), float(d), int(p))
             for i, (r, d, p) in enumerate(zip(ra, dec, pix, strict=True))),
            key=("survey_id", "external_id"),
        )
    random_cones = [(float(r), float(d), float(s)) for r, d, s in zip(
        rng.uniform(0, 360, 20), np.degrees(np.arcsin(rng.uniform(-1, 1, 20))),
        10 ** rng.uniform(-2.5, 0.5, 20), strict=True)]
    return db, ra, dec, np.array(CONES + random_cones)


def test_cone_matches_brute_force(sky) -> None:
    db, ra, dec, cones = sky
    catalog = SkyCoord(ra * u.deg, dec * u.deg)
    total_found = 0
    with db.new_session() as session:
        for c_ra, c_dec, radius in cones:
            truth = np.flatnonzero(
                catalog.separation(SkyCoord(c_ra * u.deg, c_dec * u.deg)).deg <= radius)
            rows = cone(session, "galaxy", c_ra, c_dec, radius, columns=["external_id"])
            found = sorted(int(r["external_id"]) for r in rows)
            assert found == sorted(truth.tolist()), (c_ra, c_dec, radius)
            distances = [r["distance_deg"] for r in rows]
            assert distances == sorted(distances)
            total_found += len(found)
    assert total_found > 10_000


def test_ranges_cover_the_cone_tightly() -> None:
    rng = np.random.default_rng(7)
    for c_ra, c_dec, radius in CONES:
        ranges = np.array(cone_ranges(c_ra, c_dec, radius))
        pix_ra = np.mod(c_ra + rng.uniform(-1, 1, 20_000) * min(radius * 3, 180), 360)
        pix_dec = np.clip(c_dec + rng.uniform(-1, 1, 20_000) * radius * 1.5, -90, 90)
        inside = angular_distance_deg(c_ra, c_dec, pix_ra, pix_dec) <= radius
        pix = healpix_29(pix_ra[inside], pix_dec[inside])
        idx = np.searchsorted(ranges[:, 0], pix, side="right") - 1
        assert np.all(idx >= 0) and np.all(pix < ranges[idx, 1])
        assert len(ranges) < 64


def test_ranges_are_the_cells_of_cdshealpix_public_cone_search() -> None:
    """cone_ranges calls cdshealpix's compiled cone search directly; it must give the
    cells its public, astropy-typed wrapper gives, wherever the cone is."""
    import cdshealpix.nested as public

    rng = np.random.default_rng(11)
    cones = [*CONES, (359.99, 0.0, 0.5), (0.0, 89.9, 2.0), (123.0, -90.0, 0.1),
             (10.0, 10.0, 180.0), (200.0, 30.0, 1e-5)]
    cones += list(zip(rng.uniform(0, 360, 200), np.degrees(np.arcsin(rng.uniform(-1, 1, 200))),
                      10 ** rng.uniform(-4, 1.3, 200), strict=True))
    for c_ra, c_dec, radius in cones:
        depth = int(np.clip(np.floor(np.log2(np.sqrt(np.pi / 3) / np.radians(radius))), 0, 27))
        cells, depths, _ = public.cone_search(Longitude(c_ra % 360 * u.deg),
                                              Latitude(c_dec * u.deg), radius * u.deg,
                                              depth=depth, depth_delta=2)
        shift = 2 * (29 - depths.astype(np.int64))
        lo, hi = cells.astype(np.int64) << shift, (cells.astype(np.int64) + 1) << shift
        ranges = np.array(cone_ranges(c_ra, c_dec, radius))
        where = np.searchsorted(ranges[:, 0], lo, side="right") - 1
        assert np.all(where >= 0) and np.all(hi <= ranges[where, 1]), (c_ra, c_dec, radius)
        assert int(np.sum(ranges[:, 1] - ranges[:, 0])) == int(np.sum(hi - lo))


def test_distance_agrees_with_astropy() -> None:
    rng = np.random.default_rng(3)
    ra1, ra2 = rng.uniform(0, 360, (2, 5000))
    dec1, dec2 = np.degrees(np.arcsin(rng.uniform(-1, 1, (2, 5000))))
    ours = angular_distance_deg(ra1, dec1, ra2, dec2)
    theirs = SkyCoord(ra1 * u.deg, dec1 * u.deg).separation(SkyCoord(ra2 * u.deg, dec2 * u.deg))
    np.testing.assert_allclose(ours, theirs.deg, atol=1e-10)


@pytest.mark.parametrize("bad", [(0, 91, 1), (0, 0, 0), (0, 0, -1), (float("nan"), 0, 1)])
def test_bad_cone_is_refused(bad) -> None:
    with pytest.raises(ValueError):
        cone_ranges(*bad)


def test_cone_rows_are_typed_as_the_orm_types_them(db: Database) -> None:
    """cone() reads through the driver; every column comes back as the ORM would give it
    (JSON as a dict, NULL as None, 64-bit integers whole)."""
    from galcat.catalog.schema import Sightline

    with db.session() as session:
        sid = survey_id(session, "typed")
        session.add(Galaxy(survey_id=sid, external_id="g1", ra_deg=10.0, dec_deg=-5.0,
                           healpix_29=int(healpix_29(10.0, -5.0)[0]), z_spec=None,
                           z_phot=0.5, extra={"field": "COSMOS", "flags": [1, 2]}))
        session.add(Sightline(survey_id=sid, external_id="q1", plate=3655, mjd=55240,
                              fiber=12, thing_id=2**62 + 7, ra_deg=10.0, dec_deg=-5.0,
                              healpix_29=int(healpix_29(10.0, -5.0)[0]), z_qso=2.5))
    with db.new_session() as session:
        for model, table in ((Galaxy, "galaxy"), (Sightline, "sightline")):
            orm = session.execute(sa.select(model)).scalar_one()
            [found] = cone(session, table, 10.0, -5.0, 0.01)
            expected = {c.name: getattr(orm, c.key) for c in model.__table__.columns}
            assert found.pop("distance_deg") < 1e-9
            assert found == expected
            assert all(type(found[k]) is type(v) for k, v in expected.items())
