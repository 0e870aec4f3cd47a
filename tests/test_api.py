"""The Python API a notebook uses, on both backends: cone, SQL and release reads as
astropy Tables, and a typed job submitted to a real worker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

import galcat
from bench.fixtures.synthetic import sample_catalogue
from galcat.catalog import migrate
from galcat.catalog.db import get_database
from galcat.catalog.release import make_release
from galcat.catalog.settings import load_settings

GALCAT = str(Path(sys.executable).with_name("galcat"))


def test_catalog_reads_cone_sql_and_a_frozen_release(galcat_env: dict[str, str],
                                                      tmp_path: Path) -> None:
    db = get_database(load_settings())
    migrate.upgrade(db)
    sample = sample_catalogue(db)
    make_release(db, "dla", "API1", tmp_path / "API1", formats=["csv"])
    cat = galcat.Catalog()
    near = cat.cone(150.0, 2.0, 0.3)
    assert isinstance(near, Table) and len(near) > 0
    assert np.all(np.diff(near["distance_deg"]) >= 0) and np.all(near["distance_deg"] <= 0.3)
    counts = cat.sql("SELECT count(*) AS n FROM sightline")
    assert int(counts["n"][0]) == 80
    with pytest.raises(Exception, match="read-only"):
        cat.sql("DELETE FROM galaxy")
    absorbers = cat.release("API1")
    on_disk = Table.read(tmp_path / "API1" / "galcat_dla_API1_absorbers.csv", format="ascii.ecsv")
    assert len(absorbers) == len(on_disk) > 0
    assert list(absorbers.colnames) == list(on_disk.colnames)
    assert np.allclose(absorbers["z_dla"], on_disk["z_dla"])
    assert absorbers["ra"].unit == "deg"
    assert absorbers.meta["provenance"]["release_tag"] == "API1"
    sightlines = cat.release("API1", table="sightlines")
    assert len(sightlines) == 80
    with pytest.raises(ValueError, match="no table 'nope'"):
        cat.release("API1", table="nope")
    assert sample.references["dla"] in repr(absorbers.meta)


def test_catalog_refuses_a_folder_without_a_catalogue(tmp_path: Path) -> None:
    with pytest.raises(galcat.CatalogError, match="galcat init"):
        galcat.Catalog(home=tmp_path)
    assert not (tmp_path / "galcat.sqlite").exists()


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_submit_a_typed_job_and_wait(galcat_env: dict[str, str], tmp_path: Path) -> None:
    from galcat.catalog.schema import SightlineSearch

    db = get_database(load_settings())
    subprocess.run([GALCAT, "init"], check=True, capture_output=True, timeout=300)
    spectra = tmp_path / "spectra"
    subprocess.run([GALCAT, "mock", "spectra", "4", "--out", str(spectra), "--seed", "3"],
                   check=True, capture_output=True, timeout=300)
    subprocess.run([GALCAT, "ingest", "spectra", str(spectra)], check=True,
                   capture_output=True, timeout=300)
    worker = subprocess.Popen([GALCAT, "worker", "--concurrency", "1"], env=os.environ.copy(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        handle = galcat.submit(galcat.InferDla(model="dla@1", where="id IN "
                                               "(SELECT sightline_id FROM spectrum)"))
        state = handle.wait(timeout_s=300)
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=60)
    assert state.state == "done", state.error
    with db.new_session() as session:
        assert session.query(SightlineSearch).count() == 4
