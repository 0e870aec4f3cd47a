"""`galcat mock simulation` writes a manifest that `galcat ingest simulation` loads, the
same files for the same seed, and a different galaxy for another seed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from galcat.catalog.db import Database
from galcat.catalog.ingest.simulations import ingest_simulations
from galcat.catalog.schema import Camera, Image, Simulation, Snapshot
from galcat.cli import app
from galcat.workers.simulation.mock_files import write_mock_simulation

runner = CliRunner()


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(path.relative_to(folder).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def test_mock_simulation_ingests_and_is_reproducible(db: Database, tmp_path: Path) -> None:
    result = runner.invoke(app, ["mock", "simulation", "MOCK-3", "--out", str(tmp_path / "a"),
                                 "--seed", "3", "--history", "merger", "--cameras", "2"])
    assert result.exit_code == 0, result.output
    manifest = tmp_path / "a" / "MOCK-3" / "manifest.yaml"
    again = write_mock_simulation("MOCK-3", tmp_path / "b", 3, "merger", n_cameras=2)
    assert _digest(manifest.parent) == _digest(again.parent), "same seed, same files"
    other = write_mock_simulation("MOCK-3", tmp_path / "c", 4, "merger", n_cameras=2)
    assert _digest(other.parent) != _digest(manifest.parent)

    content = yaml.safe_load(manifest.read_text())
    snapshots = content["snapshots"]
    phases = [s["phase"] for s in snapshots]
    assert phases == sorted(phases, key=["pre-BN", "BN", "post-BN"].index)
    assert any(e["type"] == "merger" for s in snapshots for e in s["events"])
    assert content["simulation"]["metadata"]["history"] == "merger"

    summary = ingest_simulations(db, [manifest])
    assert summary.ok, summary.failed[0].errors if summary.failed else ""
    with db.new_session() as session:
        assert session.execute(sa.select(Simulation.name)).scalars().all() == ["MOCK-3"]
        n_snap = session.execute(sa.select(sa.func.count()).select_from(Snapshot)).scalar_one()
        assert n_snap == len(snapshots)
        pixels = session.execute(sa.select(Image.pixel_scale_arcsec, Image.zero_point_mag)
                                 .join(Camera, Image.camera_id == Camera.id)).all()
    assert len(pixels) == 2 * len(snapshots)
    assert {round(p.pixel_scale_arcsec, 3) for p in pixels} == {0.06}


def test_mock_simulation_refuses_an_unknown_history(tmp_path: Path) -> None:
    result = runner.invoke(app, ["mock", "simulation", "X", "--out", str(tmp_path),
                                 "--seed", "1", "--history", "violent"])
    assert result.exit_code == 1
    assert "choose one of compaction, merger, quiet" in result.output
