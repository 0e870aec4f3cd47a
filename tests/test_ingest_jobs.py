"""`galcat ingest spectra|images --jobs`: files fanned out in shards to real workers, each
file all in or all out, a bad file named and the rest loaded, a rerun that loads nothing
again; a worker killed under a shard costs no file twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from worker_fixtures import PAIRS, Workers

from galcat.catalog.db import Database
from galcat.catalog.schema import Image, Job, Spectrum
from galcat.workers.dla.mock_files import write_mock_spectra
from galcat.workers.galaxy.scan import write_mock_galaxies

GALCAT = str(Path(sys.executable).with_name("galcat"))
N_SPECTRA, N_IMAGES = 60, 40


def _galcat(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GALCAT, *args], env={**os.environ, **env, "COLUMNS": "200"},
                          capture_output=True, text=True, timeout=300)


def _count(db: Database, table: type) -> int:
    with db.new_session() as session:
        return int(session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


@PAIRS
def test_spectra_and_images_ingest_through_workers(
    db: Database, env: dict[str, str], workers: Workers, tmp_path: Path
) -> None:
    spectra = tmp_path / "spectra"
    write_mock_spectra(N_SPECTRA, spectra, 5, show_progress=False)
    bad = spectra / "spec-0000-00000-0000.fits"
    bad.write_bytes(b"SIMPLE  =                    T" + b"\0" * 100)
    images = tmp_path / "images"
    write_mock_galaxies(N_IMAGES, images, 5)
    workers.start(concurrency=2)

    first = _galcat(env, "ingest", "spectra", str(spectra), "--jobs", "--shard-files", "16")
    assert first.returncode == 1, first.stdout + first.stderr
    assert f"refused {bad}" in first.stderr and "Traceback" not in first.stderr
    assert f"{N_SPECTRA} of {N_SPECTRA + 1} files loaded" in first.stderr
    assert _count(db, Spectrum) == N_SPECTRA
    with db.new_session() as session:
        shards = session.execute(sa.select(sa.func.count()).where(
            Job.kind == "ingest_shard", Job.state == "done")).scalar_one()
    assert shards == 4, "61 files in shards of 16"

    bad.unlink()
    again = _galcat(env, "ingest", "spectra", str(spectra), "--jobs")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{N_SPECTRA} of {N_SPECTRA} files loaded (0 new rows" in again.stdout
    assert _count(db, Spectrum) == N_SPECTRA

    loaded = _galcat(env, "ingest", "images", str(images), "--jobs", "--shard-files", "15",
                     "--survey", "mock")
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert _count(db, Image) == N_IMAGES

    refused = _galcat(env, "ingest", "images", str(images), "--jobs", "--hdu", "1")
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert "--jobs loads images with --survey only" in refused.stderr


@pytest.mark.parametrize(("database_url", "broker_url"), [("postgresql", "redis")],
                         indirect=True)
def test_a_worker_killed_under_an_ingest_shard_loads_no_file_twice(
    db: Database, env: dict[str, str], workers: Workers, tmp_path: Path
) -> None:
    spectra = tmp_path / "spectra"
    write_mock_spectra(N_SPECTRA, spectra, 6, show_progress=False)
    first = workers.start()
    command = subprocess.Popen(
        [GALCAT, "ingest", "spectra", str(spectra), "--jobs", "--shard-files", "4"],
        env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while _count(db, Spectrum) == 0:
        assert time.monotonic() < deadline, "no shard loaded anything"
        time.sleep(0.02)
    assert command.poll() is None, "the ingest was still running when its worker was killed"
    os.killpg(first.pid, signal.SIGKILL)
    workers.start()
    out, err = command.communicate(timeout=240)
    assert command.returncode == 0, out + err
    assert _count(db, Spectrum) == N_SPECTRA
    with db.new_session() as session:
        distinct = session.execute(sa.select(sa.func.count(sa.distinct(Spectrum.sha256))))\
            .scalar_one()
    assert distinct == N_SPECTRA
