"""Simulation manifests: a good one lands whole (snapshots, cameras, images linked), a
malformed one is refused with the line and field at fault and leaves nothing, and the
metadata joins predictions-style queries on both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from galcat.catalog.db import Database
from galcat.catalog.formats.profile_writer import write_profile_fits
from galcat.catalog.ingest.simulations import ingest_simulations
from galcat.catalog.schema import Camera, Image, ImagePixels, Simulation, Snapshot
from galcat.cli import app

runner = CliRunner()
TABLES = (Simulation, Snapshot, Camera, Image, ImagePixels)


def _counts(db: Database) -> dict[str, int]:
    with db.new_session() as session:
        return {t.__tablename__: int(session.execute(
            sa.select(sa.func.count()).select_from(t)).scalar_one()) for t in TABLES}


def _manifest(folder: Path, name: str = "VELA-T1", n_snapshots: int = 3, n_cameras: int = 2,
              seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    snapshots = []
    for i in range(n_snapshots):
        a = 0.20 + 0.02 * i
        cameras = []
        for c in range(n_cameras):
            image = f"a{a:.3f}/cam{c:02d}.fits"
            (folder / image).parent.mkdir(parents=True, exist_ok=True)
            write_profile_fits(folder / image, rng.normal(size=(32, 32)).astype("float32"),
                               {"zero_point": 25.94, "psf_fwhm_arcsec": 0.18, "sky_sigma": 1.0})
            cameras.append({"index": c, "theta_deg": 90.0 * c, "phi_deg": 10.0,
                            "inclination_deg": 30.0 + c, "image": image})
        snapshots.append({
            "index": i, "scale_factor": a, "log_m_star_insitu_1kpc": 9.0 + 0.1 * i,
            "log_m_gas_10kpc": 10.0, "sfr_1kpc_msun_yr": 2.0 + i, "inflow_msun_yr": 5.0,
            "phase": ["pre-BN", "BN", "post-BN"][min(i, 2)],
            "compaction_cause": None if i == 0 else "merger",
            "time_since_merger_gyr": None if i == 0 else 0.1 * i,
            "events": [{"type": "merger", "mass_ratio": 0.5, "wet": True}] if i == 1 else [],
            "cameras": cameras})
    return {"format": "galcat-simulation/1",
            "simulation": {"name": name, "code": "ART", "resolution_pc": 17.5,
                           "metadata": {"history": "merger"}},
            "snapshots": snapshots}


def _write(folder: Path, manifest: dict[str, Any], name: str = "manifest.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return path


def test_a_manifest_lands_whole_and_once(db: Database, tmp_path: Path) -> None:
    path = _write(tmp_path, _manifest(tmp_path))
    summary = ingest_simulations(db, [path])
    assert summary.ok, summary.failed[0].errors if summary.failed else ""
    assert _counts(db) == {"simulation": 1, "snapshot": 3, "camera": 6, "image": 6,
                           "image_pixels": 6}
    with db.new_session() as session:
        sim = session.execute(sa.select(Simulation)).scalar_one()
        assert (sim.name, sim.code, sim.resolution_pc, sim.extra) == \
            ("VELA-T1", "ART", 17.5, {"history": "merger"})
        snap = session.execute(sa.select(Snapshot).where(Snapshot.snapshot_index == 1)).scalar_one()
        assert snap.redshift == pytest.approx(1 / 0.22 - 1)
        assert snap.time_gyr == pytest.approx(1.77, abs=0.02), "Planck18 age at z = 3.55"
        assert snap.events == [{"type": "merger", "mass_ratio": 0.5, "wet": True}]
        assert (snap.phase, snap.compaction_cause, snap.time_since_merger_gyr) == \
            ("BN", "merger", pytest.approx(0.1))
        linked = session.execute(sa.select(sa.func.count()).select_from(Image).join(
            Camera, Image.camera_id == Camera.id)).scalar_one()
        assert linked == 6
    again = ingest_simulations(db, [path])
    assert again.ok and again.files[0].rows_merged == 6 and again.rows_loaded == 0
    assert _counts(db)["image"] == 6


def test_snapshot_metadata_joins_its_images_in_sql(db: Database, tmp_path: Path) -> None:
    ingest_simulations(db, [_write(tmp_path, _manifest(tmp_path))])
    _names, rows = db.readonly_query(
        "SELECT s.snapshot_index, count(i.id) FROM snapshot s "
        "JOIN camera c ON c.snapshot_id = s.id JOIN image i ON i.camera_id = c.id "
        "WHERE s.compaction_cause = 'merger' AND s.sfr_1kpc_msun_yr > 2.5 "
        "GROUP BY s.snapshot_index ORDER BY s.snapshot_index")
    assert [tuple(r) for r in rows] == [(1, 2), (2, 2)]


MISTAKES = [
    (lambda m: m["snapshots"][1].update(log_m_gas_1kpc="lots"),
     "snapshots[1].log_m_gas_1kpc: expected a finite number, got 'lots'"),
    (lambda m: m["snapshots"][2]["cameras"][1].update(theta_deg=400),
     "snapshots[2].cameras[1].theta_deg: 400 is out of range (0 to 180 degrees)"),
    (lambda m: m["snapshots"][0].update(redhsift=3.0),
     "snapshots[0].redhsift: unknown field"),
    (lambda m: m["snapshots"][1].update(redshift=9.0),
     "snapshots[1].redshift: 9.0 disagrees with scale_factor"),
    (lambda m: m["snapshots"][2]["cameras"][0].update(image="missing.fits"),
     "snapshots[2].cameras[0].image: no such file"),
    (lambda m: m["snapshots"][2]["cameras"][1].update(index=0),
     "snapshots[2].cameras: index 0 is used twice"),
    (lambda m: m["snapshots"][1].update(compaction_cause="tides"),
     "'tides' is not one of inflow, merger"),
    (lambda m: m["snapshots"][1].update(events=[{"type": "merger", "mass_ratio": 3}]),
     "snapshots[1].events[0].mass_ratio"),
    (lambda m: m["simulation"].pop("name"), "the field 'name' is missing"),
]


@pytest.mark.parametrize(("mistake", "message"), MISTAKES)
def test_a_malformed_manifest_is_refused_with_line_and_field(
    db: Database, tmp_path: Path, mistake: Any, message: str
) -> None:
    manifest = _manifest(tmp_path)
    mistake(manifest)
    path = _write(tmp_path, manifest)
    summary = ingest_simulations(db, [path])
    assert not summary.ok
    error = summary.failed[0].errors[0]
    assert message in error and f"{path}: line " in error, error
    assert set(_counts(db).values()) == {0}, "nothing partial is kept"


def test_a_damaged_image_refuses_its_manifest_and_keeps_the_others(
    db: Database, tmp_path: Path
) -> None:
    bad_folder, good_folder = tmp_path / "bad", tmp_path / "good"
    bad_folder.mkdir()
    good_folder.mkdir()
    bad = _write(bad_folder, _manifest(bad_folder, "BAD"))
    (bad_folder / "a0.220" / "cam01.fits").write_bytes(b"SIMPLE  =                    T" * 3)
    good = _write(good_folder, _manifest(good_folder, "GOOD", seed=1))
    result = runner.invoke(app, ["ingest", "simulation", str(bad), str(good)],
                           env={"GALCAT_DATABASE_URL": db.url,
                                "GALCAT_HOME": str(tmp_path / "home")})
    assert result.exit_code == 1, result.output
    assert "snapshot 1 camera 1" in result.output and "Traceback" not in result.output
    with db.new_session() as session:
        assert session.execute(sa.select(Simulation.name)).scalars().all() == ["GOOD"]
    assert _counts(db)["image"] == 6


def test_another_manifest_for_a_known_simulation_needs_replace(
    db: Database, tmp_path: Path
) -> None:
    first, second = tmp_path / "v1", tmp_path / "v2"
    first.mkdir()
    second.mkdir()
    ingest_simulations(db, [_write(first, _manifest(first))])
    newer = _write(second, _manifest(second, n_snapshots=2, seed=5))
    refused = ingest_simulations(db, [newer])
    assert "pass --replace" in refused.failed[0].errors[0]
    assert _counts(db)["snapshot"] == 3
    assert ingest_simulations(db, [newer], replace=True).ok
    assert _counts(db) == {"simulation": 1, "snapshot": 2, "camera": 4, "image": 4,
                           "image_pixels": 4}


def test_bad_yaml_names_its_line(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_text("format: galcat-simulation/1\nsimulation: {name: X\nsnapshots: []\n")
    error = ingest_simulations(db, [path]).failed[0].errors[0]
    assert "not valid YAML" in error and "line 3" in error, error
