"""Image and label ingest: every real galaxy file, de-duplication, located errors, vote tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from astropy.table import Table
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from galcat.catalog.db import Database
from galcat.catalog.formats.columns import parse_iau_name
from galcat.catalog.formats.images import read_image
from galcat.catalog.formats.labels import gz2_parent
from galcat.catalog.formats.profile_writer import write_profile_fits
from galcat.catalog.ingest import images as images_ingest
from galcat.catalog.ingest.images import ingest_images
from galcat.catalog.ingest.labels import LabelOutcome, ingest_labels
from galcat.catalog.schema import Galaxy, Image, ImagePixels, Label
from galcat.catalog.sky import cone, healpix_29
from galcat.catalog.surveys import survey_id
from galcat.cli import app
from galcat.vocabulary import GZ2_TREE

runner = CliRunner()
RING_CATALOGUE = ("zoobot_rings", "example_ring_catalog_basic_png.csv")


def _count(db: Database, model: type) -> int:
    with db.new_session() as session:
        return int(session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one())


def _mock_fits(folder: Path, names: list[str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(names))
    return [write_profile_fits(folder / name, rng.normal(size=(64, 64)).astype("float32"),
                               {"zero_point": 25.94, "psf_fwhm_arcsec": 0.18,
                                "sky_sigma": 1.0, "MAG": 20.0 + i})
            for i, name in enumerate(names)]


def test_every_real_galaxy_file_ingests_once(db: Database, shared_galaxies: Path) -> None:
    files = sorted(p for p in shared_galaxies.rglob("*") if p.is_file() and p.suffix != ".csv")
    catalogue = shared_galaxies.joinpath(*RING_CATALOGUE)
    summary = ingest_images(db, files, survey="real", catalogue=catalogue)
    assert summary.ok, [f.errors for f in summary.failed]
    loaded = {Path(f.path).name for f in summary.files}
    attached = {Path(k).name: Path(v).name for k, v in summary.attached.items()}
    assert loaded | set(attached) == {p.name for p in files}
    assert attached == {
        "abell_2744_dwarf_galaxy_f105w_rms.fits.gz": "abell_2744_dwarf_galaxy_f105w.fits.gz",
        "decals_dr9_psf_59.1067_-30.4848.fits": "decals_dr9_cutout_59.1067_-30.4848.fits",
        "gal1_sig.npy": "gal1_im.npy", "gal1_mask.npy": "gal1_im.npy",
        "gal1_psf.npy": "gal1_im.npy"}
    assert summary.linked == 12 and len(summary.unmatched) == len(loaded) - 12
    with db.new_session() as session:
        images = {Path(i.source_path).name: i for i in session.scalars(sa.select(Image))}
        assert set(images) == loaded
        dwarf = images["abell_2744_dwarf_galaxy_f105w.fits.gz"]
        assert dwarf.zero_point_mag == pytest.approx(26.27, abs=0.01)
        assert dwarf.pixel_scale_arcsec == pytest.approx(0.06, rel=1e-4)
        assert "RA---TAN" in (dwarf.wcs_header or "") and dwarf.extra["has_rms"]
        pixels = session.get(ImagePixels, dwarf.id)
        assert pixels is not None and pixels.rms is not None
        source = read_image(shared_galaxies / "petrofit" / dwarf.source_path.split("/")[-1])
        np.testing.assert_array_equal(np.frombuffer(pixels.data, np.float32).reshape(200, 200),
                                      source.pixels)
        decals = images["decals_dr9_cutout_59.1067_-30.4848.fits"]
        assert (decals.channels, decals.bands) == (3, "g,r,z")
        assert decals.extra["psf_shape"] == [63, 63, 3]
        assert 0.6 < (decals.psf_fwhm_arcsec or 0) < 2.0
        hsc = images["gal1_im.npy"]
        hsc_pixels = session.get(ImagePixels, hsc.id)
        assert hsc_pixels is not None and hsc_pixels.rms is not None
        rms = np.frombuffer(hsc_pixels.rms, np.float32)
        mask = np.load(shared_galaxies / "pysersic" / "gal1_mask.npy").ravel() != 0
        assert np.all(np.isinf(rms[mask])) and np.all(np.isfinite(rms[~mask]))
        ring = images["J000411.19+020924.0.png"]
        galaxy = session.get(Galaxy, ring.galaxy_id)
        assert galaxy is not None and galaxy.external_id == "J000411.19+020924.0"
        assert (galaxy.ra_deg, galaxy.dec_deg) == pytest.approx((1.046625, 2.1566667), abs=1e-6)
        label = session.execute(sa.select(Label).where(Label.object_id == galaxy.id)).scalar_one()
        assert label.label_set == "example_ring_catalog_basic_png"
        assert label.values["ring"] == 1.0 and label.object_kind == "galaxy"
    counts = [_count(db, m) for m in (Image, ImagePixels, Galaxy, Label)]
    again = ingest_images(db, files, survey="real", catalogue=catalogue)
    assert again.ok and again.rows_loaded == 0
    assert sum(f.rows_merged for f in again.files) == len(loaded)
    assert [_count(db, m) for m in (Image, ImagePixels, Galaxy, Label)] == counts


def test_a_corrupt_image_is_named_and_the_rest_load(galcat_env: dict[str, str],
                                                    tmp_path: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    good = _mock_fits(tmp_path / "in", ["a.fits", "b.fits"])
    broken = tmp_path / "in" / "broken.fits"
    broken.write_bytes(b"SIMPLE  =  not really FITS" * 50)
    result = runner.invoke(app, ["ingest", "images", str(good[0]), str(broken), str(good[1])])
    assert result.exit_code == 1
    assert "broken.fits: not a readable FITS image" in result.output
    assert "2 of 3 files loaded (2 new rows)" in result.output
    db = Database.for_url(galcat_env["GALCAT_DATABASE_URL"])
    try:
        with db.new_session() as session:
            names = session.execute(sa.select(Image.source_path)).scalars().all()
    finally:
        db.dispose()
    assert sorted(Path(n).name for n in names) == ["a.fits", "b.fits"]


def _kaggle_row(rng: np.random.Generator) -> dict[str, float]:
    out: dict[str, float] = {}
    for column in GZ2_TREE.columns:
        question = column.split(".")[0]
        same = [c for c in GZ2_TREE.columns if c.split(".")[0] == question]
        parent = gz2_parent(column)
        if column == same[0]:
            shares = rng.dirichlet(np.ones(len(same)))
            scale = 1.0 if parent is None else out[parent]
            out.update({c: float(s * scale) for c, s in zip(same, shares, strict=True)})
    return out


def test_an_image_the_database_refuses_costs_only_itself(db: Database, tmp_path: Path) -> None:
    files = _mock_fits(tmp_path / "images", [f"cutout_{i}.fits" for i in range(7)])
    with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_image BEFORE INSERT ON image "
                "WHEN substr(NEW.source_path, -13) = 'cutout_3.fits' "
                "BEGIN SELECT RAISE(ABORT, 'image refused by the test trigger'); END")
        else:
            conn.exec_driver_sql(
                "CREATE OR REPLACE FUNCTION refuse_image() RETURNS trigger AS $$ BEGIN "
                "IF right(NEW.source_path, 13) = 'cutout_3.fits' THEN "
                "RAISE EXCEPTION 'image refused by the test trigger'; END IF; RETURN NEW; "
                "END $$ LANGUAGE plpgsql")
            conn.exec_driver_sql("CREATE TRIGGER refuse_image BEFORE INSERT ON image "
                                 "FOR EACH ROW EXECUTE FUNCTION refuse_image()")
    try:
        summary = ingest_images(db, files, batch_size=3)
    finally:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS refuse_image" +
                                 ("" if db.dialect == "sqlite" else " ON image"))
    assert [Path(f.path).name for f in summary.failed] == ["cutout_3.fits"]
    assert "image refused by the test trigger" in summary.failed[0].errors[0]
    assert summary.rows_loaded == 6
    assert _count(db, Image) == _count(db, ImagePixels) == 6, "nothing half-written"
    again = ingest_images(db, files)
    assert again.ok and again.rows_loaded == 1 and _count(db, Image) == 7


def _snapshot(db: Database) -> dict[str, list[tuple]]:
    """Rows of the tables an image ingest writes, by content (ids replaced by keys)."""
    with db.new_session() as session:
        gal = {g.id: (g.external_id, round(g.ra_deg, 9), round(g.dec_deg, 9))
               for g in session.scalars(sa.select(Galaxy))}
        images = session.scalars(sa.select(Image)).all()
        return {
            "galaxy": sorted(gal.values()),
            "image": sorted((Path(i.source_path or "").name, i.sha256, gal.get(i.galaxy_id),
                             sorted((i.extra or {}).items()), i.wcs_header) for i in images),
            "label": sorted((gal[r.object_id], r.label_set, sorted(r.values.items()))
                            for r in session.scalars(sa.select(Label))),
            "pixels": sorted((r.data, r.rms) for r in session.scalars(sa.select(ImagePixels))),
        }


_store_batch = images_ingest._store_batch


def _one_at_a_time(db: Database, session: Session, items: list[Any], *args: Any) -> Any:
    """Refuses a batch of several images, so that each is written on its own."""
    if len(items) > 1:
        raise RuntimeError("batch refused by the test")
    return _store_batch(db, session, items, *args)


def _clear(db: Database) -> None:
    with db.engine.begin() as conn:
        for table in ("label", "image_pixels", "image", "galaxy", "survey"):
            conn.exec_driver_sql(f"DELETE FROM {table}")


def test_batched_catalogue_writes_equal_one_image_at_a_time(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = _mock_fits(tmp_path / "images", [f"cutout_{i}.fits" for i in range(7)])
    copy = files[0].with_name("copy_0.fits")
    copy.write_bytes(files[1].read_bytes())
    files.append(copy)
    names = [f.name for f in files]
    Table({"file": names, "objid": ["G0", "G1", "G2", "G3", "G4", "G5", "G6", "G5"],
           "ra": [10.0 + 0.01 * i for i in range(8)], "dec": [-5.0 - 0.01 * i for i in range(8)],
           "mass": [9.0 + 0.1 * i for i in range(8)]}).write(tmp_path / "cat.ecsv")
    snapshots = []
    for alone in (True, False):
        _clear(db)
        with monkeypatch.context() as patch:
            if alone:
                patch.setattr(images_ingest, "_store_batch", _one_at_a_time)
            summary = ingest_images(db, files, survey="s", catalogue=tmp_path / "cat.ecsv")
        assert summary.ok and summary.rows_loaded == 7 and summary.linked == 8
        assert [f.rows_merged for f in summary.files] == [0] * 7 + [1]
        snapshots.append(_snapshot(db))
    assert snapshots[0] == snapshots[1]
    by_name = {row[0]: row for row in snapshots[0]["image"]}
    assert by_name["cutout_1.fits"][2][0] == "G1"
    assert dict(by_name["cutout_1.fits"][3])["catalogue_row"] == 8
    assert ("G5", 10.07, -5.07) in snapshots[0]["galaxy"]


def test_a_refused_image_leaves_no_galaxy_or_labels(db: Database, tmp_path: Path) -> None:
    files = _mock_fits(tmp_path / "images", [f"cutout_{i}.fits" for i in range(5)])
    Table({"file": [f.name for f in files], "ra": [10.0 + 0.01 * i for i in range(5)],
           "dec": [-5.0] * 5, "mass": [9.0 + 0.1 * i for i in range(5)]}
          ).write(tmp_path / "cat.ecsv")
    with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_pixels BEFORE INSERT ON image_pixels "
                "WHEN NEW.image_id = (SELECT id FROM image WHERE substr(source_path, -13) "
                "= 'cutout_3.fits') BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
        else:
            conn.exec_driver_sql(
                "CREATE OR REPLACE FUNCTION refuse_pixels() RETURNS trigger AS $$ BEGIN "
                "IF (SELECT right(source_path, 13) FROM image WHERE id = NEW.image_id) "
                "= 'cutout_3.fits' THEN RAISE EXCEPTION 'refused by the test'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql")
            conn.exec_driver_sql("CREATE TRIGGER refuse_pixels BEFORE INSERT ON image_pixels "
                                 "FOR EACH ROW EXECUTE FUNCTION refuse_pixels()")
    try:
        summary = ingest_images(db, files, survey="s", catalogue=tmp_path / "cat.ecsv",
                                batch_size=5)
    finally:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS refuse_pixels" +
                                 ("" if db.dialect == "sqlite" else " ON image_pixels"))
    assert [Path(f.path).name for f in summary.failed] == ["cutout_3.fits"]
    assert summary.rows_loaded == 4 and summary.linked == 4
    snap = _snapshot(db)
    assert [g[0] for g in snap["galaxy"]] == ["cutout_0", "cutout_1", "cutout_2", "cutout_4"]
    assert [lab[0][0] for lab in snap["label"]] == ["cutout_0", "cutout_1", "cutout_2",
                                                      "cutout_4"]
    assert len(snap["image"]) == len(snap["pixels"]) == 4


def test_nearest_galaxies_in_one_query_equal_cone(db: Database) -> None:
    rng = np.random.default_rng(5)
    ra = np.concatenate([rng.uniform(0.0, 360.0, 40), [359.99995, 0.00002, 120.0, 120.0002]])
    dec = np.concatenate([rng.uniform(-89.0, 89.0, 40), [10.0, 10.0, 89.99995, 89.99991]])
    with db.session() as session:
        sid = survey_id(session, "near")
        session.execute(sa.insert(Galaxy), [
            {"survey_id": sid, "external_id": f"g{i}", "ra_deg": float(a), "dec_deg": float(d),
             "healpix_29": int(healpix_29(np.array([a]), np.array([d]))[0])}
            for i, (a, d) in enumerate(zip(ra, dec, strict=True))])
    offsets = rng.normal(scale=0.6 / 3600.0, size=(len(ra), 2))
    centres = [(float((a + da / max(np.cos(np.radians(d)), 1e-3)) % 360.0),
                float(np.clip(d + dd, -90.0, 90.0)))
               for a, d, (da, dd) in zip(ra, dec, offsets, strict=True)]
    centres += [(float(rng.uniform(0, 360)), float(rng.uniform(-90, 90))) for _ in range(10)]
    with db.new_session() as session:
        want = []
        for c_ra, c_dec in centres:
            near = cone(session, "galaxy", c_ra, c_dec, 1.0 / 3600.0, columns=["id"], limit=1)
            want.append(int(near[0]["id"]) if near else None)
        got = images_ingest._nearest_galaxies(session, centres, chunk=7)
    assert got == want
    assert sum(g is not None for g in got) > 20 and got[-10:] == [None] * 10


def test_gz2_kaggle_and_gz2_catalogue_labels(db: Database, tmp_path: Path) -> None:
    files = _mock_fits(tmp_path / "img", ["100008.fits", "100023.fits"])
    assert ingest_images(db, files).ok
    rng = np.random.default_rng(1)
    rows = [_kaggle_row(rng) for _ in range(3)]
    kaggle = Table(rows=[{"GalaxyID": gid, **r} for gid, r in
                         zip((100008, 100023, 999999), rows, strict=True)])
    kaggle.write(tmp_path / "training_solutions_rev1.csv", format="ascii.csv")
    summary = ingest_labels(db, [tmp_path / "training_solutions_rev1.csv"], "gz2", "image")
    assert summary.ok, summary.failed
    outcome = summary.files[0]
    assert isinstance(outcome, LabelOutcome)
    assert (outcome.rows_loaded, outcome.unmatched, outcome.style) == (2, 1, "gz2")
    with db.new_session() as session:
        labels = session.execute(sa.select(Label).order_by(Label.object_id)).scalars().all()
    assert [list(lab.values) for lab in labels] == [list(GZ2_TREE.columns)] * 2
    assert labels[0].values["Class8.7"] == pytest.approx(rows[0]["Class8.7"])

    kaggle["Class1.1"][1] = 0.5
    kaggle.write(tmp_path / "training_solutions_rev1.csv", format="ascii.csv", overwrite=True)
    assert ingest_labels(db, [tmp_path / "training_solutions_rev1.csv"], "gz2", "image").ok
    with db.new_session() as session:
        again = session.execute(sa.select(Label).order_by(Label.object_id)).scalars().all()
    assert len(again) == 2 and again[1].values["Class1.1"] == 0.5

    kaggle["Class3.2"][0] = 1.3
    kaggle.write(tmp_path / "bad.csv", format="ascii.csv")
    bad = ingest_labels(db, [tmp_path / "bad.csv"], "gz2-bad", "image")
    assert not bad.ok
    assert "bad.csv, row 1, column 'Class3.2': vote fraction 1.3 is outside [0, 1]" in \
        bad.files[0].errors[0]
    assert _count(db, Label) == 2

    with db.session() as session:
        session.add(Galaxy(survey_id=survey_id(session, "sdss"), external_id="5877229817",
                           ra_deg=150.0, dec_deg=2.0,
                           healpix_29=int(healpix_29(np.array([150.0]), np.array([2.0]))[0])))
    gz2 = Table({"dr7objid": [1], "ra": [150.0 + 0.5 / 3600], "dec": [2.0],
                 "t01_smooth_or_features_a01_smooth_fraction": [0.2],
                 "t01_smooth_or_features_a02_features_or_disk_fraction": [0.7],
                 "t01_smooth_or_features_a03_star_or_artifact_fraction": [0.1],
                 "t01_smooth_or_features_a02_features_or_disk_weighted_fraction": [0.9],
                 "t02_edgeon_a04_yes_fraction": [0.25], "t02_edgeon_a05_no_fraction": [0.75],
                 "t02_edgeon_a05_no_count": [30]})
    gz2.write(tmp_path / "gz2_hart16.fits")
    summary = ingest_labels(db, [tmp_path / "gz2_hart16.fits"], "gz2-hart", "galaxy",
                            gz2_variant="fraction")
    assert summary.ok, summary.failed
    with db.new_session() as session:
        values = session.execute(sa.select(Label.values).where(
            Label.label_set == "gz2-hart")).scalar_one()
    assert values == pytest.approx({"Class1.1": 0.2, "Class1.2": 0.7, "Class1.3": 0.1,
                                    "Class2.1": 0.175, "Class2.2": 0.525})


def test_candels_and_sersic_tables(db: Database, tmp_path: Path) -> None:
    files = _mock_fits(tmp_path / "img", ["g1.fits", "g2.fits"])
    assert ingest_images(db, files).ok
    candels = Table({"FILE": ["g1.fits", "g2.fits"], "F_SPHEROID": [0.8, 0.1],
                     "F_DISK": [0.2, 0.9], "F_IRR": [0.0, 0.1], "F_PS": [0.0, 0.0],
                     "F_UNC": [0.0, 0.0]})
    candels.write(tmp_path / "kartaltepe.fits")
    summary = ingest_labels(db, [tmp_path / "kartaltepe.fits"], "candels", "image")
    outcome = summary.files[0]
    assert summary.ok and isinstance(outcome, LabelOutcome) and outcome.style == "candels"
    sersic = Table({"image": ["g1", "g2"], "mag": [21.0, 22.5], "re": [10.0, 5.0],
                    "n": [4.0, 1.0], "q": [0.5, 1.5], "pa": [190.0, 20.0]})
    sersic.write(tmp_path / "galfit.csv", format="ascii.csv")
    ambiguous = ingest_labels(db, [tmp_path / "galfit.csv"], "galfit", "image")
    assert "column 're': cannot tell whether the radius is in arcsec or pixels" in \
        ambiguous.files[0].errors[0]
    bad_q = ingest_labels(db, [tmp_path / "galfit.csv"], "galfit", "image", re_unit="pixel",
                          pixel_scale_arcsec=0.06)
    assert bad_q.files[0].errors == [
        f"{tmp_path / 'galfit.csv'}, row 2, column 'q': axis ratio 1.5 is outside (0, 1]"]
    sersic["q"][1] = 0.9
    sersic.write(tmp_path / "galfit.csv", format="ascii.csv", overwrite=True)
    assert ingest_labels(db, [tmp_path / "galfit.csv"], "galfit", "image", re_unit="pixel",
                         pixel_scale_arcsec=0.06).ok
    with db.new_session() as session:
        got = dict(session.execute(sa.select(Label.label_set, Label.values).where(
            Label.object_id == 1)).all())
    assert got["candels"] == {"f_spheroid": 0.8, "f_disk": 0.2, "f_irr": 0.0, "f_ps": 0.0,
                              "f_unc": 0.0}
    assert got["galfit"] == pytest.approx({"mag": 21.0, "r_eff_arcsec": 0.6, "sersic_n": 4.0,
                                           "axis_ratio": 0.5, "pa_deg": 10.0})


def test_iau_names_parse() -> None:
    assert parse_iau_name("J004735.97-005410.2") == pytest.approx(
        (11.8998750, -0.9028333), abs=1e-6)
    assert parse_iau_name("SDSS J150113.98+084208.1") == pytest.approx(
        (225.3082500, 8.7022500), abs=1e-6)
    assert parse_iau_name("NGC 1300") is None
