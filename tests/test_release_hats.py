"""HATS releases on both backends: a DLA release whose sightlines sit at the 44 real BOSS
quasars is written with ``--format parquet,hats``, opens in LSDB with its rows, units,
margin cache and provenance, cross-matches the real DRQ catalogue of plate 3655 (made a
HATS catalogue here with hats-import) by THING_ID, and re-exports byte for byte."""

from __future__ import annotations

import csv
import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import numpy as np
import pytest
import sqlalchemy as sa
from astropy.table import Table
from conftest import shared_data
from typer.testing import CliRunner

from bench.fixtures.synthetic import Sightlines, add_model_version, load_dla
from galcat.catalog.db import Database
from galcat.catalog.release import ReleaseError, export_release, load_release, make_release
from galcat.catalog.release.definitions import DLA_SIGHTLINES
from galcat.catalog.release.hats import MARGIN_THRESHOLD_ARCSEC
from galcat.catalog.schema import ReleaseFile, Sightline
from galcat.catalog.sky import healpix_29
from galcat.catalog.surveys import survey_id
from galcat.cli import app

MADE_AT = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
runner = CliRunner()


@pytest.fixture(scope="module")
def boss() -> list[dict[str, str]]:
    """The 44 real BOSS spectra: plate, MJD, fiber, THING_ID, plug position, pipeline z."""
    with open(shared_data("boss", "index.csv"), newline="") as handle:
        return sorted(csv.DictReader(handle), key=lambda row: row["file"])


@pytest.fixture(scope="module")
def drq(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real DRQ quasar catalogue of plate 3655 as a HATS catalogue, made with hats-import."""
    from dask.distributed import Client
    from hats_import.catalog.arguments import ImportArguments
    from hats_import.pipeline import pipeline_with_client

    source = Table.read(shared_data("catalogs", "picca_cat_for_clustering_plate3655.fits.gz"))
    folder = tmp_path_factory.mktemp("drq")
    source[["THING_ID", "RA", "DEC", "Z", "PLATE", "MJD", "FIBERID"]].write(
        folder / "drq.parquet")
    args = ImportArguments(output_path=folder, output_artifact_name="drq_3655",
                           input_file_list=[folder / "drq.parquet"], file_reader="parquet",
                           ra_column="RA", dec_column="DEC", highest_healpix_order=5,
                           tmp_dir=folder / "tmp", progress_bar=False)
    with Client(processes=False, n_workers=1, threads_per_worker=1,
                dashboard_address="127.0.0.1:0", worker_dashboard_address="127.0.0.1:0"
                ) as client:
        pipeline_with_client(args, client)
    return folder / "drq_3655"


def load_boss_sightlines(db: Database, rows: list[dict[str, str]]) -> Sightlines:
    """One sightline per real BOSS spectrum, at its plug position, with its THING_ID."""
    ra = np.array([float(r["plug_ra"]) for r in rows])
    dec = np.array([float(r["plug_dec"]) for r in rows])
    z_qso = np.array([float(r["z_pipeline"]) for r in rows])
    pixels = healpix_29(ra, dec)
    with db.session() as session:
        sid = survey_id(session, "boss-dr12", kind="spectroscopy")
        db.bulk_upsert(session, cast(sa.Table, Sightline.__table__),
                       ["survey_id", "external_id", "plate", "mjd", "fiber", "thing_id",
                        "ra_deg", "dec_deg", "healpix_29", "z_qso"],
                       ((sid, r["file"].removesuffix(".fits"), int(r["plate"]), int(r["mjd"]),
                         int(r["fiber"]), int(r["thing_id"]), float(ra[i]), float(dec[i]),
                         int(pixels[i]), float(z_qso[i])) for i, r in enumerate(rows)),
                       key=("survey_id", "external_id"))
        ids = session.execute(sa.select(Sightline.id).where(Sightline.survey_id == sid)
                              .order_by(Sightline.external_id)).scalars().all()
    return Sightlines(np.asarray(ids, dtype=np.int64), ra, dec, z_qso)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the writer is the
# same on both backends, and test_release streams releases from both
def test_hats_release_opens_in_lsdb_and_crossmatches_real_quasars(
        db: Database, galcat_env: dict[str, str], boss: list[dict[str, str]], drq: Path,
        tmp_path: Path) -> None:
    import hats
    import lsdb
    from distributed import default_client

    sightlines = load_boss_sightlines(db, boss)
    absorbers = load_dla(db, add_model_version(db, "dla", "dla"), sightlines, seed=3)
    out = tmp_path / "BOSS1"
    result = runner.invoke(app, ["release", "dla", "--tag", "BOSS1", "--out", str(out),
                                 "--format", "parquet,hats"])
    assert result.exit_code == 0, result.output
    with pytest.raises(ValueError):
        default_client()  # hats-import's dask cluster ended with the call
    record = load_release(db, "BOSS1")

    # every file of both collections is recorded, in the MANIFEST and the release_file rows
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert on_disk == {f.filename for f in record.files}
    hats_files = {f.filename for f in record.files if f.format == "hats"}
    assert "galcat_dla_BOSS1_sightlines_hats/collection.properties" in hats_files
    assert "galcat_dla_BOSS1_absorbers_hats/absorbers/hats.properties" in hats_files
    assert any(n.startswith("galcat_dla_BOSS1_sightlines_hats/sightlines/dataset/Norder=")
               for n in hats_files)
    manifest = (out / "galcat_dla_BOSS1_MANIFEST.sha256").read_text().splitlines()
    listed = dict(reversed(line.split("  ")) for line in manifest)
    for name in hats_files:
        assert listed[name] == hashlib.sha256((out / name).read_bytes()).hexdigest(), name
    with db.new_session() as session:
        stored = set(session.execute(sa.select(ReleaseFile.filename)).scalars())
    assert stored == on_disk

    # LSDB opens the collection with its margin, rows, columns, units and provenance
    catalog = lsdb.open_catalog(out / "galcat_dla_BOSS1_sightlines_hats")
    assert catalog.name == "galcat_dla_BOSS1_sightlines"
    assert catalog.margin is not None
    assert catalog.margin.hc_structure.catalog_info.margin_threshold == MARGIN_THRESHOLD_ARCSEC
    rows = catalog.compute()
    assert list(rows.columns) == DLA_SIGHTLINES.names
    assert sorted(rows["sightline_id"]) == sorted(sightlines.ids.tolist())
    assert sorted(rows["thing_id"]) == sorted(int(r["thing_id"]) for r in boss)
    schema = catalog.original_schema
    assert schema is not None
    assert schema.field("ra").metadata[b"unit"] == b"deg"
    assert schema.field("z_min").metadata[b"ucd"] == b"src.redshift"
    pin = record.models[0]
    for properties in (catalog.hc_structure.catalog_info.extra_dict(),
                       hats.read_hats(out / "galcat_dla_BOSS1_sightlines_hats")
                       .collection_properties.extra_dict()):
        assert properties["galcat_release_tag"] == "BOSS1"
        assert properties["galcat_table"] == "sightlines"
        assert properties["galcat_row_count"] == "44"
        assert properties["galcat_model_1"] == pin.reference
        assert properties["galcat_model_1_weights_sha256"] == pin.weights_sha256
        assert properties["galcat_margin_threshold_arcsec"] == "10"
    absorber_rows = lsdb.open_catalog(out / "galcat_dla_BOSS1_absorbers_hats").compute()
    assert len(absorber_rows) == len(absorbers["sightline_id"]) > 0
    keys = zip(absorbers["sightline_id"].tolist(), absorbers["absorber_index"].tolist(),
               strict=True)
    log_nhi = dict(zip(keys, absorbers["log_nhi"].tolist(), strict=True))
    for row in absorber_rows.itertuples():
        assert row.log_nhi == log_nhi[(row.sightline_id, row.absorber_index)]

    # the real DRQ quasars find their sightlines (two spectra of one quasar: two neighbours)
    quasars = lsdb.open_catalog(drq)
    matched = quasars.crossmatch(catalog, n_neighbors=2, radius_arcsec=1.0,
                                 suffix_method="overlapping_columns").compute()
    assert len(matched) == len(boss)
    assert (matched["THING_ID"] == matched["thing_id"]).all()
    assert matched["_dist_arcsec"].max() < 1.0
    assert sorted(zip(matched["plate"], matched["fiber"], strict=True)) == sorted(
        (int(r["plate"]), int(r["fiber"])) for r in boss)

    # the frozen release, HATS collections included, is rewritten byte for byte
    mirror = tmp_path / "mirror"
    export_release(db, "BOSS1", mirror)
    assert {p.relative_to(mirror).as_posix() for p in mirror.rglob("*") if p.is_file()} \
        == on_disk
    for f in record.files:
        assert hashlib.sha256((mirror / f.filename).read_bytes()).hexdigest() == f.sha256, \
            f.filename


def test_an_empty_table_is_refused_as_hats(db: Database, tmp_path: Path) -> None:
    add_model_version(db, "dla", "dla")
    with pytest.raises(ReleaseError, match="HATS catalogue cannot be empty"):
        make_release(db, "dla", "EMPTY", tmp_path / "out", formats="parquet,hats", now=MADE_AT)
    assert not list((tmp_path / "out").iterdir())
