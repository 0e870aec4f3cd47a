"""Releases on both backends: every format carries the right rows, units and provenance;
a frozen release re-exports byte for byte; tags are written once; diffs count by key."""

from __future__ import annotations

import hashlib
import math
import tracemalloc
import warnings
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from astropy.io import fits, votable
from astropy.table import Table
from astropy.table import meta as table_meta

from bench.fixtures.synthetic import Sample, sample_catalogue
from galcat.catalog.db import Database
from galcat.catalog.release import (
    ReleaseError,
    ReleaseExists,
    diff_releases,
    export_release,
    list_releases,
    make_release,
)
from galcat.catalog.release.build import release_filenames, write_files
from galcat.catalog.release.definitions import MORPHOLOGY_GALAXIES
from galcat.catalog.schema import Morphology, Release, ReleaseFile

MADE_AT = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def sample(db: Database) -> Sample:
    return sample_catalogue(db)


def expected_galaxies(sample: Sample, morphology: str) -> dict[int, dict[str, Any]]:
    """What the morphology release must hold, computed from the loaded values alone:
    per galaxy, the lowest image id with a prediction of ``morphology``."""
    predicted, sersic = sample.predictions[morphology], sample.predictions["sersic"]
    out = {}
    for i, galaxy_id in enumerate(sample.galaxies.ids.tolist()):
        images = sorted(int(x) for x in sample.galaxies.image_ids[i] if int(x) in predicted)
        if not images:
            continue
        image = images[0]
        fit = sersic.get(image)
        out[galaxy_id] = {
            "image_id": image, "ra": float(sample.galaxies.ra[i]),
            "p_bulge": predicted[image]["p_bulge"], "f_disk": predicted[image]["f_disk"],
            "mag": fit["mag"] if fit else math.nan,
            "out_of_profile": bool(predicted[image]["out_of_profile"]
                                   or (fit is not None and fit["out_of_profile"])),
        }
    return out


def test_every_format_has_the_rows_units_and_provenance(
        db: Database, sample: Sample, tmp_path: Path) -> None:
    out = tmp_path / "DR1"
    record = make_release(db, "morphology", "DR1", out,
                          models=[sample.references["morphology-old"]], now=MADE_AT)
    want = expected_galaxies(sample, "morphology-old")
    assert record.row_count == len(want) == len(sample.galaxies.ids)
    assert sorted(f.filename for f in record.files) == sorted(release_filenames(record))

    # MANIFEST and the release_file rows agree with the bytes on disk
    manifest = (out / "galcat_morphology_DR1_MANIFEST.sha256").read_text().splitlines()
    listed = dict(reversed(line.split("  ")) for line in manifest)
    for f in record.files:
        digest = hashlib.sha256((out / f.filename).read_bytes()).hexdigest()
        assert digest == f.sha256
        if f.format != "manifest":
            assert listed[f.filename] == digest
    with db.new_session() as session:
        stored = session.execute(sa.select(ReleaseFile.filename, ReleaseFile.sha256)).all()
    assert sorted(stored) == sorted((f.filename, f.sha256) for f in record.files)

    # FITS: checksums verify, column metadata, provenance keywords
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with fits.open(out / "galcat_morphology_DR1_galaxies.fits", checksum=True) as hdus:
            header = hdus[1].header
            assert hdus[1]._checksum_valid and hdus[1]._datasum_valid
            assert hdus[0]._checksum_valid
            data = Table(hdus[1].data)
    index = MORPHOLOGY_GALAXIES.names.index("r_eff_arcsec") + 1
    assert header[f"TUNIT{index}"] == "arcsec"
    assert header[f"TUCD{index}"] == "phys.angSize;src"
    assert "radius" in header[f"TCOMM{index}"]
    pins = {p.reference: p for p in record.models}
    assert (header["RELTAG"], header["NROWS"], header["DATE"]) == (
        "DR1", str(len(want)), "2026-03-01T12:00:00")
    ref = sample.references
    assert header["MODEL1"] == ref["morphology-old"] and header["MODEL2"] == ref["sersic"]
    assert header["MSHA1"] == pins[ref["morphology-old"]].weights_sha256
    assert header["MTRAIN1"] == pins[ref["morphology-old"]].training_fingerprint
    assert header["CODEVER"] == record.code_version
    _check_rows(data, want)

    # VOTable: astropy's validator has nothing to say; provenance in INFO
    vot = out / "galcat_morphology_DR1_galaxies.vot"
    report = votable.validate(str(vot), output=None)
    assert "found no violations" in report, report
    infos = {i.name: i.value for i in votable.parse(str(vot)).resources[0].infos}
    assert infos["release_tag"] == "DR1" and infos["model_2"] == ref["sersic"]
    assert infos["model_1_weights_sha256"] == pins[ref["morphology-old"]].weights_sha256
    table = Table.read(vot, format="votable")
    assert str(table["ra"].unit) == "deg"
    _check_rows(table, want)

    # Parquet (pyarrow; astropy's own reader needs pandas, which galcat does not install,
    # so its table_meta_yaml header is checked with astropy's parser instead)
    arrow = pq.read_table(out / "galcat_morphology_DR1_galaxies.parquet")
    field = arrow.schema.field("log_mstar")
    assert field.metadata[b"unit"] == b"dex(solMass)" and b"stellar" in field.metadata[
        b"description"]
    header_yaml = arrow.schema.metadata[b"table_meta_yaml"].decode().split("\n")
    parsed = table_meta.get_header_from_yaml(header_yaml)
    assert {c["name"]: c.get("unit") for c in parsed["datatype"]}["r_eff_arcsec"] == "arcsec"
    assert parsed["meta"]["provenance"]["model_1"] == ref["morphology-old"]
    _check_rows(Table({n: arrow.column(n).to_numpy(zero_copy_only=False)
                       for n in arrow.column_names}), want)

    # CSV: plain CSV for anyone who skips '#', ECSV with units for astropy
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ecsv = Table.read(out / "galcat_morphology_DR1_galaxies.csv", format="ascii.ecsv")
    assert str(ecsv["pa_deg"].unit) == "deg"
    assert ecsv.meta["provenance"]["release_created"] == "2026-03-01T12:00:00"
    _check_rows(ecsv, want)
    plain = Table.read(out / "galcat_morphology_DR1_galaxies.csv", format="ascii.csv",
                       comment="#")
    assert len(plain) == len(want)

    model = (out / "galcat_morphology_DR1_datamodel.md").read_text()
    assert "lowest galcat image id" in model and "`r_eff_arcsec`" in model
    assert pins[ref["sersic"]].weights_sha256 in model


def _check_rows(table: Table, want: dict[int, dict[str, Any]]) -> None:
    ids = [int(v) for v in table["galaxy_id"]]
    assert ids == sorted(want)
    for name in ("image_id", "ra", "p_bulge", "f_disk", "mag", "out_of_profile"):
        got = np.ma.filled(np.ma.asarray(table[name]).astype(float), np.nan)
        expected = np.array([want[i][name] for i in ids], dtype=float)
        np.testing.assert_array_equal(got, expected, err_msg=name)


def test_export_rewrites_byte_for_byte(db: Database, sample: Sample, tmp_path: Path) -> None:
    first = make_release(db, "dla", "DLA1", tmp_path / "a", where="z_qso > 2.5", now=MADE_AT)
    assert first.table_rows["sightlines"] == int(np.sum(sample.sightlines.z_qso > 2.5))
    # later rows from the same pinned model never creep into the frozen release
    from bench.fixtures.synthetic import load_dla, load_sightlines

    more = load_sightlines(db, 30, seed=99, survey="later")
    load_dla(db, sample.models["dla"], more, seed=98)
    exported = export_release(db, "DLA1", tmp_path / "b")
    assert exported.files == first.files
    for f in first.files:
        assert (tmp_path / "a" / f.filename).read_bytes() == \
            (tmp_path / "b" / f.filename).read_bytes(), f.filename
    assert not [p for p in (tmp_path / "b").iterdir() if p.name.startswith(".")]


def test_export_refuses_a_release_whose_rows_were_edited(
        db: Database, sample: Sample, tmp_path: Path) -> None:
    make_release(db, "morphology", "DR1", tmp_path / "a", formats="fits")
    with db.session() as session:
        session.execute(sa.update(Morphology).where(
            Morphology.model_version_id == sample.models["morphology-new"])
            .values(p_bulge=Morphology.p_bulge * 0.5))
    with pytest.raises(ReleaseError, match="byte for byte"):
        export_release(db, "DR1", tmp_path / "b")
    assert not list((tmp_path / "b").glob("galcat_*"))


def test_a_tag_is_written_once(db: Database, sample: Sample, tmp_path: Path) -> None:
    make_release(db, "morphology", "DR1", tmp_path / "a", formats="csv")
    with pytest.raises(ReleaseExists, match="already exists"):
        make_release(db, "dla", "DR1", tmp_path / "b", formats="csv")
    assert not (tmp_path / "b").exists() or not list((tmp_path / "b").iterdir())
    with db.new_session() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Release)).scalar() == 1
    with pytest.raises(ReleaseError, match="already has"):
        export_release(db, "DR1", tmp_path / "a")


def test_pins_filters_and_errors(db: Database, sample: Sample, tmp_path: Path) -> None:
    latest = make_release(db, "morphology", "L", tmp_path, formats="parquet",
                          where="dec > 2 AND p_bulge > 0.3")
    assert [m.reference for m in latest.models] == [sample.references["morphology-new"],
                                                   sample.references["sersic"]]
    want = {g for g, row in expected_galaxies(sample, "morphology-new").items()
            if row["p_bulge"] > 0.3
            and sample.galaxies.dec[list(sample.galaxies.ids).index(g)] > 2}
    rows = pq.read_table(tmp_path / "galcat_morphology_L_galaxies.parquet")
    assert set(rows.column("galaxy_id").to_pylist()) == want
    with pytest.raises(ReleaseError, match="refused the release query"):
        make_release(db, "morphology", "bad", tmp_path / "x", where="no_such_column > 1")
    with pytest.raises(ReleaseError, match="is a 'dla' model"):
        make_release(db, "morphology", "bad", tmp_path / "x", models=[sample.references["dla"]])
    with pytest.raises(ReleaseError, match="no model morphology@9"):
        make_release(db, "morphology", "bad", tmp_path / "x", models=["morphology@9"])
    with pytest.raises(ReleaseError, match="unknown format"):
        make_release(db, "morphology", "bad", tmp_path / "x", formats="fits,hdf5")
    with pytest.raises(ReleaseError, match="tag"):
        make_release(db, "morphology", "../DR1", tmp_path / "x")
    assert [r.tag for r in list_releases(db)] == ["L"]


def test_diff_counts_by_key(db: Database, sample: Sample, tmp_path: Path) -> None:
    make_release(db, "morphology", "DR1", tmp_path, models=[sample.references["morphology-old"]],
                 formats="csv")
    make_release(db, "morphology", "DR2", tmp_path, formats="csv")
    old = expected_galaxies(sample, "morphology-old")
    new = expected_galaxies(sample, "morphology-new")
    [diff] = diff_releases(db, "DR1", "DR2", atol=0.0)
    assert diff.removed == len(set(old) - set(new)) > 0
    assert diff.added == 0
    assert diff.changed + diff.unchanged == len(set(old) & set(new))
    bulge_changes = sum(1 for g in set(old) & set(new) if old[g]["p_bulge"] != new[g]["p_bulge"])
    assert diff.changed_columns["p_bulge"] == bulge_changes
    [loose] = diff_releases(db, "DR1", "DR2", atol=0.5)
    assert loose.changed_columns.get("p_bulge", 0) == sum(
        1 for g in set(old) & set(new) if abs(old[g]["p_bulge"] - new[g]["p_bulge"]) > 0.5)
    [same] = diff_releases(db, "DR2", "DR2")
    assert (same.added, same.removed, same.changed) == (0, 0, 0)


def test_writers_do_not_depend_on_chunking(db: Database, sample: Sample, tmp_path: Path
                                           ) -> None:
    """FITS, VOTable and CSV bytes are the same whatever the chunk size (the FITS
    checksum and the base64 lines carry over between chunks)."""
    made = make_release(db, "dla", "A", tmp_path / "a", formats="fits,votable,csv")
    small = replace(made, spec={**made.spec, "chunk_rows": 7})
    (tmp_path / "b").mkdir()
    with db.readonly_engine.connect() as connection:
        files, _ = write_files(connection, small, tmp_path / "b")
    assert {f.filename: f.sha256 for f in files if f.format in ("fits", "votable", "csv")} == \
        {f.filename: f.sha256 for f in made.files if f.format in ("fits", "votable", "csv")}


def test_memory_does_not_grow_with_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                        ) -> None:
    """Peak Python memory while writing 4x more rows stays about the same (SQLite,
    500-row chunks read and written, so both sizes are many chunks; a first untraced
    release imports the writers and fills caches)."""
    import galcat.catalog.release.build as build
    import galcat.catalog.release.scan as scan
    from bench.fixtures.synthetic import add_model_version, load_galaxies, load_morphology
    from galcat.catalog import migrate

    monkeypatch.setattr(build, "CHUNK_ROWS", 500)
    monkeypatch.setattr(scan, "READ_ROWS", 500)
    databases = []
    for n in (3_000, 12_000):
        db = Database.for_url(f"sqlite:///{tmp_path / f'm{n}.sqlite'}")
        migrate.upgrade(db)
        galaxies = load_galaxies(db, n, seed=n)
        load_morphology(db, add_model_version(db, "morphology", "morphology"),
                        galaxies.image_ids[:, 0], seed=1)
        add_model_version(db, "sersic", "sersic")
        databases.append(db)
    make_release(databases[0], "morphology", "warm-up", tmp_path / "warm-up")
    peaks = []
    for i, db in enumerate(databases):
        tracemalloc.start()
        try:
            make_release(db, "morphology", "M", tmp_path / f"out{i}")
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
            db.dispose()
    print(f"peak traced memory: {peaks[0] / 2**20:.1f} MiB ({3_000} rows), "
          f"{peaks[1] / 2**20:.1f} MiB ({12_000} rows)")
    assert peaks[1] < 1.5 * peaks[0], peaks  # growing with rows would be about 4x


def test_streamed_chunks_match_the_rows_sqlalchemy_returns(db: Database, sample: Sample) -> None:
    """The driver path (COPY on PostgreSQL, the bare cursor on SQLite) and the spool
    ``measure`` keeps give the values SQLAlchemy's own rows give, awkward strings,
    nulls and empty strings included, in chunks of exactly ``chunk_rows``."""
    from galcat.catalog.release.definitions import DLA
    from galcat.catalog.release.query import (
        Pinned,
        iter_chunks,
        measure,
        select_rows,
        to_chunk,
        watermarks,
    )
    from galcat.catalog.schema import Sightline

    with db.session() as session:
        session.execute(sa.update(Sightline).where(Sightline.id == 3).values(
            external_id='a,"b"\nc', plate=None, mjd=None, z_qso=None))
        session.execute(sa.update(Sightline).where(Sightline.id == 4).values(external_id=""))
    pins = {"dla": sample.models["dla"]}
    table = DLA.table("sightlines")
    with db.readonly_engine.connect() as connection:
        spec = Pinned("dla", pins, watermarks(connection, pins))
        want = to_chunk(table, connection.execute(select_rows(spec, table)).all())
        streamed = list(iter_chunks(connection, select_rows(spec, table), table, 7))
        rows, widths = measure(connection, spec, table)
        spooled = list(iter_chunks(connection, select_rows(spec, table), table, 7))
        stopped = iter_chunks(connection, select_rows(spec, table), table, 7)
        assert next(stopped).n == 7
        stopped.close()  # a reader that stops early leaves the connection usable
        assert connection.execute(sa.select(sa.func.count()).select_from(Sightline)).scalar()
    assert rows == want.n == sum(c.n for c in streamed)
    assert widths["object_id"] == max(len(v) for v in want.values["object_id"])
    for chunks in (streamed, spooled):
        assert [c.n for c in chunks[:-1]] == [7] * (len(chunks) - 1)
        for column in table.columns:
            got = [v for c in chunks for v in (
                c.values[column.name].to_pylist() if column.dtype == "str"
                else c.values[column.name].tolist())]
            nulls = np.concatenate([np.zeros(c.n, bool) if c.nulls[column.name] is None
                                    else c.nulls[column.name] for c in chunks])
            expected = want.values[column.name]
            want_nulls = (np.zeros(want.n, bool) if want.nulls[column.name] is None
                          else want.nulls[column.name])
            np.testing.assert_array_equal(nulls, want_nulls, err_msg=column.name)
            keep = ~want_nulls
            assert np.array_equal(np.asarray(got, dtype=object)[keep],
                                  np.asarray(list(expected), dtype=object)[keep]), column.name


def test_fixed_width_strings_from_lists_and_arrow_arrays() -> None:
    import pyarrow as pa

    from galcat.catalog.release.definitions import Column
    from galcat.catalog.release.writers import ReleaseWriteError, fixed_width

    column = Column("survey", "str")
    values = ["sdss", "", "a b ", "x" * 6]
    want = np.array([b"sdss", b"", b"a b ", b"xxxxxx"], dtype="S6")
    assert fixed_width(column, values, 6).tobytes() == want.tobytes()
    sliced = pa.array(["zz", *values])[1:]
    assert fixed_width(column, sliced, 6).tobytes() == want.tobytes()
    assert fixed_width(column, [], 3).shape == (0,)
    with pytest.raises(ReleaseWriteError, match="longer than the 5 characters"):
        fixed_width(column, values, 5)
    with pytest.raises(ReleaseWriteError, match="not ASCII"):
        fixed_width(column, ["Sérsic"], 6)
