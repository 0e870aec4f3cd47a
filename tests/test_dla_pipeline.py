"""The DLA finder through the platform: spectra ingest, infer job, quick-look scan, evaluate."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from astropy.table import Table
from conftest import shared_data

from galcat.catalog.db import Database
from galcat.catalog.ingest.spectra import ingest_spectra
from galcat.catalog.registry import register
from galcat.catalog.schema import DlaAbsorber, Sightline, SightlineSearch, Spectrum
from galcat.catalog.settings import load_settings
from galcat.workers.dla.mock_files import write_mock_spectra
from galcat.workers.handlers import HANDLERS
from galcat.workers.queue.local import run_locally
from galcat.workers.queue.specs import CalibrateDla, InferDla, TrainDla


@pytest.fixture(scope="module")
def tiny_dla(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained tiny DLA network with fixed random weights (its classifier pushed to
    fire often, so it finds absorbers), exported like a shipped model."""
    import json

    import keras

    from galcat.catalog.registry import sha256_file
    from galcat.models.dla.network import TINY_CONFIG, build_window_model

    keras.utils.set_random_seed(3)
    model = build_window_model(TINY_CONFIG)
    head = model.get_layer("is_dla")
    kernel, _bias = head.get_weights()
    head.set_weights([kernel * 5.0, np.array([1.0], np.float32)])
    folder = tmp_path_factory.mktemp("tiny-dla")
    model.save(folder / "dla.keras")
    record = {"name": "dla", "task": "dla", "weights_file": "dla.keras",
              "weights_sha256": sha256_file(folder / "dla.keras"),
              "hyperparameters": {"network": TINY_CONFIG.to_dict()}}
    (folder / "model.json").write_text(json.dumps(record))
    return folder


@pytest.fixture(scope="module")
def mock_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mock-spectra")
    write_mock_spectra(12, folder, seed=5, show_progress=False)
    return folder


def _count(db: Database, model: type) -> int:
    with db.new_session() as session:
        return int(session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one())


def test_all_real_boss_spectra_ingest(db: Database, tmp_path: Path) -> None:
    boss = shared_data("boss")
    truncated = tmp_path / "spec-3655-55240-9999.fits"
    truncated.write_bytes((boss / "spec-3655-55240-0002.fits").read_bytes()[:20_000])
    summary = ingest_spectra(db, [boss, truncated])
    assert [f.path for f in summary.failed] == [str(truncated)]
    assert "spec-3655-55240-9999.fits" in summary.failed[0].errors[0]
    assert summary.rows_loaded == 44
    assert (_count(db, Spectrum), _count(db, Sightline)) == (44, 43)
    with db.new_session() as session:
        pair = session.execute(
            sa.select(Spectrum.plate, Spectrum.fiber).join(Sightline)
            .where(Sightline.thing_id == session.execute(
                sa.select(Sightline.thing_id).join(Spectrum)
                .where(Spectrum.plate == 3657, Spectrum.fiber == 552)).scalar_one())
            .order_by(Spectrum.plate)).all()
    assert [tuple(p) for p in pair] == [(3655, 890), (3657, 552)]
    again = ingest_spectra(db, [boss])
    assert again.ok and again.rows_loaded == 0 and _count(db, Spectrum) == 44


def _refuse_fiber(db: Database, fiber: int) -> None:
    """A trigger that makes the database itself refuse spectra of one fiber."""
    with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            conn.exec_driver_sql(
                f"CREATE TRIGGER refuse_fiber BEFORE INSERT ON spectrum WHEN NEW.fiber = {fiber} "
                "BEGIN SELECT RAISE(ABORT, 'fiber refused by the test trigger'); END")
        else:
            conn.exec_driver_sql(
                "CREATE OR REPLACE FUNCTION refuse_fiber() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.fiber = {fiber} THEN "
                "RAISE EXCEPTION 'fiber refused by the test trigger'; END IF; RETURN NEW; "
                "END $$ LANGUAGE plpgsql")
            conn.exec_driver_sql("CREATE TRIGGER refuse_fiber BEFORE INSERT ON spectrum "
                                 "FOR EACH ROW EXECUTE FUNCTION refuse_fiber()")


def test_a_file_the_database_refuses_costs_only_itself(db: Database, mock_files: Path) -> None:
    _refuse_fiber(db, 7)
    try:
        summary = ingest_spectra(db, [mock_files], batch_size=5)
    finally:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS refuse_fiber" +
                                 ("" if db.dialect == "sqlite" else " ON spectrum"))
    refused = next(mock_files.glob("spec-*-0007.fits"))
    assert [Path(f.path).name for f in summary.failed] == [refused.name]
    assert "fiber refused by the test trigger" in summary.failed[0].errors[0]
    assert summary.rows_loaded == 11
    with db.new_session() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Sightline).where(
            Sightline.fiber == 7)).scalar_one() == 0, "nothing of the refused file is kept"
    assert (_count(db, Spectrum), _count(db, Sightline)) == (11, 11)
    again = ingest_spectra(db, [mock_files])
    assert again.ok and again.rows_loaded == 1


def test_infer_job_matches_the_quick_look_scan(
    db: Database, galcat_env: dict[str, str], tiny_dla: Path, mock_files: Path, tmp_path: Path
) -> None:
    from galcat.workers.dla.scan import scan_dla

    assert ingest_spectra(db, [mock_files]).ok
    with db.session() as session:
        register(session, load_settings().artifacts_dir, "dla", "dla", tiny_dla / "dla.keras",
                 {"network": __import__("json").loads(
                     (tiny_dla / "model.json").read_text())["hyperparameters"]["network"]},
                 None, None)
    for _ in range(2):
        state = run_locally(load_settings(), InferDla(model="dla", shard_size=5),
                            HANDLERS).status()
        assert state.state == "done" and state.shards == {"done": 3}
    assert _count(db, SightlineSearch) == 12
    with db.new_session() as session:
        stored = session.execute(
            sa.select(Sightline.thing_id, DlaAbsorber.z_dla, DlaAbsorber.log_nhi, DlaAbsorber.type)
            .join(Sightline).order_by(Sightline.thing_id, DlaAbsorber.z_dla)).all()
    scanned = scan_dla([mock_files], tmp_path / "scan" / "dlas.ecsv", *_tiny(tiny_dla))
    table = Table.read(scanned.absorbers_path)
    table.sort(["thing_id", "z_dla"])
    assert len(stored) == len(table) == scanned.n_absorbers > 0
    np.testing.assert_allclose([s.z_dla for s in stored], table["z_dla"], rtol=0, atol=1e-9)
    np.testing.assert_allclose([s.log_nhi for s in stored], table["log_nhi"], atol=1e-5)
    assert [s.type for s in stored] == list(table["type"])
    where = Table.read(scanned.sightlines_path)
    assert len(where) == 12 and np.all(where["z_min"] < where["z_max"])


def test_scan_reports_unreadable_files_and_keeps_the_rest(
    tiny_dla: Path, mock_files: Path, tmp_path: Path
) -> None:
    from galcat.workers.dla.scan import scan_dla

    folder = tmp_path / "in"
    shutil.copytree(mock_files, folder)
    (folder / "spec-0000-00000-0000.fits").write_bytes(b"not a fits file")
    result = scan_dla([folder], tmp_path / "out.csv", *_tiny(tiny_dla))
    assert result.n_spectra == 12
    assert len(result.errors) == 1 and "spec-0000-00000-0000.fits" in result.errors[0]


def test_scan_searches_each_quasar_once_in_the_spectrum_infer_uses(
    db: Database, tiny_dla: Path, tmp_path: Path
) -> None:
    from galcat.catalog.formats.spectra import read_spectrum
    from galcat.catalog.pixels import best_spectra
    from galcat.workers.dla.scan import scan_dla

    boss = shared_data("boss")
    pair = [boss / "spec-3655-55240-0890.fits", boss / "spec-3657-55244-0552.fits"]
    records = [read_spectrum(p) for p in pair]
    assert records[0].thing_id == records[1].thing_id > 0
    result = scan_dla([*pair, boss / "spec-3655-55240-0002.fits"], tmp_path / "d.csv",
                      *_tiny(tiny_dla))
    where = Table.read(result.sightlines_path)
    assert (result.n_repeats, result.n_spectra, len(where)) == (1, 2, 2)
    best = max(records, key=lambda r: r.snr_median or -1.0)
    assert Path(best.source_path).name in list(where["source_file"])
    assert ingest_spectra(db, pair).ok
    with db.new_session() as session:
        sightline_id = session.execute(sa.select(Sightline.id)).scalar_one()
        chosen = session.get(Spectrum, best_spectra(session, [sightline_id])[sightline_id])
    assert chosen is not None and Path(chosen.source_path).name == Path(best.source_path).name


def test_best_observations_ranks_unmeasured_lowest_and_keeps_unidentified() -> None:
    from galcat.workers.dla.scan import best_observations

    spectra = [(7, None), (7, 3.0), (None, 1.0), (8, float("nan")), (-1, 2.0), (7, 9.0),
               (8, 0.5)]
    assert best_observations(spectra) == [2, 4, 5, 6]


def test_evaluate_writes_tables_and_plots(tiny_dla: Path, tmp_path: Path) -> None:
    from galcat.workers.dla.evaluate import evaluate_dla

    model, network = _tiny(tiny_dla)
    result = evaluate_dla(model, network, tmp_path, n_sightlines=40, seed=1)
    names = {p.name for p in result.files}
    assert {"dla_summary.ecsv", "completeness_vs_log_nhi.png", "completeness_vs_snr.png"} <= names
    summary = Table.read(tmp_path / "dla_summary.ecsv")
    assert summary["model"][0] == "galcat" and summary["n_true_dla"][0] > 0
    assert 0 <= summary["completeness_hi"][0] <= 1


def test_evaluate_on_a_survey_redshift_distribution(tiny_dla: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from galcat.cli import app

    Table({"Z": [2.31, 2.42, 6.5, np.nan]}).write(tmp_path / "qsos.csv")
    out = tmp_path / "eval"
    result = CliRunner().invoke(app, ["evaluate", "dla", "--n", "30", "--seed", "2",
                                      "--model", str(tiny_dla), "--out", str(out),
                                      "--z-qso-from", str(tmp_path / "qsos.csv")])
    assert result.exit_code == 0, result.output
    by_z = Table.read(out / "dla_binned_z_qso.ecsv")
    summary = Table.read(out / "dla_summary.ecsv")
    assert by_z["n_sightlines"][0] == summary["n_sightlines"][0] > 0
    assert by_z["n_sightlines"][1:].sum() == 0
    Table({"name": ["a"]}).write(tmp_path / "none.csv")
    bad = CliRunner().invoke(app, ["evaluate", "dla", "--model", str(tiny_dla),
                                   "--z-qso-from", str(tmp_path / "none.csv")])
    assert bad.exit_code == 1 and "no quasar redshift column" in bad.output


def test_parks18_like_mocks_follow_the_anchors_test_set() -> None:
    from galcat.catalog.formats.parks18 import TRUTH_FILE, read_parks18_truth
    from galcat.models.dla.mock import generate_mock_sightlines
    from galcat.workers.dla.evaluate import parks18_like_population

    folder = shared_data("parks18")
    config = parks18_like_population(folder)
    parks = read_parks18_truth(folder / TRUTH_FILE)
    assert config.extra_absorbers_mean == pytest.approx(parks.size / 10_000 - 1.0)
    mock = generate_mock_sightlines(400, 11, config)
    dlas = mock.truth[mock.truth["kind"] == "DLA"]
    assert not np.any(mock.truth["kind"] == "SUBDLA")
    assert np.all(np.isin(mock.z_qso, config.z_qso_sample))
    assert np.all(np.isin(dlas["log_nhi"], parks["log_nhi"]))
    has_room = np.unique(dlas["sightline"]).size
    assert has_room >= 0.95 * 400
    assert dlas.size / has_room == pytest.approx(parks.size / 10_000, abs=0.08)


def test_evaluate_like_parks18_from_the_command_line(tiny_dla: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from galcat.cli import app

    parks18 = shared_data("parks18")
    out = tmp_path / "eval"
    args = ["evaluate", "dla", "--n", "30", "--seed", "2", "--model", str(tiny_dla),
            "--out", str(out), "--parks18", str(parks18)]
    result = CliRunner().invoke(app, [*args, "--like-parks18"])
    assert result.exit_code == 0, result.output
    summary = Table.read(out / "dla_summary.ecsv")
    assert summary["n_true_dla"][0] >= summary["n_sightlines"][0]
    both = CliRunner().invoke(app, [*args, "--like-parks18", "--z-qso-from", str(out)])
    assert both.exit_code == 1 and "choose one of" in both.output
    absent = CliRunner().invoke(app, [*args[:-2], "--parks18", str(tmp_path / "nowhere"),
                                      "--like-parks18"])
    assert absent.exit_code == 1 and "is absent" in absent.output


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_train_dla_job_registers_a_model_and_can_continue_it(
    db: Database, galcat_env: dict[str, str]
) -> None:
    from galcat.catalog.schema import ModelVersion

    settings = load_settings()
    first = run_locally(settings, TrainDla(
        seed=4, sightlines=24, validation_sightlines=8, chunk_sightlines=12, epochs=1,
        network="tiny", name="dla-tiny", n_eval=8), HANDLERS)
    assert first.status().state == "done", first.status().error
    again = run_locally(settings, TrainDla(
        name="dla-tiny", n_eval=8, learning_rate=1e-4, log_nhi_loss_weight=3.0, seed=5,
        sightlines=12, epochs=2, fresh_each_epoch=True, base="dla-tiny@1"), HANDLERS)
    assert again.status().state == "done", again.status().error
    with db.new_session() as session:
        v1, v2 = session.execute(sa.select(ModelVersion).where(
            ModelVersion.name == "dla-tiny").order_by(ModelVersion.version)).scalars().all()
    assert (v1.version, v2.version) == (1, 2)
    assert v2.hyperparameters["continued_from"] == "dla-tiny@1"
    assert v2.metrics["continued_from"]["weights_sha256"] == v1.weights_sha256
    assert v2.weights_sha256 != v1.weights_sha256
    assert v2.training_fingerprint != v1.training_fingerprint
    net1, net2 = v1.hyperparameters["network"], v2.hyperparameters["network"]
    assert net2["learning_rate"] == pytest.approx(1e-4)
    assert net2["log_nhi_loss_weight"] == 3.0 and net1["log_nhi_loss_weight"] == 1.0
    changed = {"learning_rate", "log_nhi_loss_weight"}
    assert {k: v for k, v in net2.items() if k not in changed} == \
        {k: v for k, v in net1.items() if k not in changed}
    assert "completeness_dla" in v2.metrics["held_out_snr_ge_5"]
    assert v2.hyperparameters["fresh_each_epoch"] and len(v2.metrics["history"]["loss"]) == 2


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_calibration_job_registers_the_same_weights_with_a_fitted_calibration(
    db: Database, galcat_env: dict[str, str]
) -> None:
    from galcat.catalog.schema import ModelVersion
    from galcat.models.shipped import shipped_model

    settings = load_settings()
    shipped = shipped_model("dla")
    record = shipped.record
    raw_network = {**record["hyperparameters"]["network"], "log_nhi_calibration": [],
                   "error_model": []}
    with db.session() as session:
        register(session, settings.artifacts_dir, "dla-cal", "dla", shipped.verified_weights(),
                 {**record["hyperparameters"], "network": raw_network},
                 record.get("training_fingerprint"), {})
    job = run_locally(settings, CalibrateDla(base="dla-cal@1", name="dla-cal", seed=3,
                                             sightlines=1000, n_eval=400), HANDLERS)
    assert job.status().state == "done", job.status().error
    with db.new_session() as session:
        v1, v2 = session.execute(sa.select(ModelVersion).where(
            ModelVersion.name == "dla-cal").order_by(ModelVersion.version)).scalars().all()
    assert v2.weights_sha256 == v1.weights_sha256
    assert v2.hyperparameters["calibrated_from"] == "dla-cal@1"
    knots = v2.hyperparameters["network"]["log_nhi_calibration"]
    assert len(knots) >= 2 and knots == v2.metrics["calibration"]["knots"]
    fitted = ("log_nhi_calibration", "error_model")
    assert {k: v for k, v in v2.hyperparameters["network"].items()
            if k not in fitted} == {k: v for k, v in raw_network.items() if k not in fitted}
    assert len(v2.hyperparameters["network"]["error_model"]) == 6 + 2 * 12
    pulls = v2.metrics["held_out_uncertainties"]
    raw_pull = v2.metrics["calibration"]["log_nhi_pull_before"]["sigma"]
    assert raw_pull > 1.5
    assert 0.8 <= pulls["log_nhi_pull"]["sigma"] <= 1.2, pulls["log_nhi_pull"]
    assert 0.8 <= pulls["z_pull"]["sigma"] <= 1.2, pulls["z_pull"]
    before = v2.metrics["calibration"]["bias_before"]
    after = v2.metrics["calibration"]["bias_after_in_sample"]
    filled = [i for i, row in enumerate(before) if row["n"] >= 30]
    assert filled
    assert max(abs(after[i]["mean"]) for i in filled) < max(abs(before[i]["mean"]) for i in filled)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_training_on_from_a_calibrated_model_drops_the_stale_calibration(
    db: Database, galcat_env: dict[str, str], tiny_dla: Path
) -> None:
    import json

    from galcat.catalog.schema import ModelVersion

    settings = load_settings()
    record = json.loads((tiny_dla / "model.json").read_text())
    network = {**record["hyperparameters"]["network"],
               "log_nhi_calibration": [[20.0, 20.1], [21.0, 21.2]]}
    with db.session() as session:
        register(session, settings.artifacts_dir, "dla-tiny-cal", "dla", tiny_dla / "dla.keras",
                 {"network": network}, None, {})
    job = run_locally(settings, TrainDla(name="dla-tiny-cal", n_eval=8, seed=5, sightlines=12,
                                         epochs=1, base="dla-tiny-cal@1"), HANDLERS)
    assert job.status().state == "done", job.status().error
    with db.new_session() as session:
        v2 = session.execute(sa.select(ModelVersion).where(
            ModelVersion.name == "dla-tiny-cal", ModelVersion.version == 2)).scalar_one()
    assert v2.hyperparameters["network"]["log_nhi_calibration"] == []


def test_precision_bound_from_the_command_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from galcat.cli import app

    out = tmp_path / "bound"
    result = CliRunner().invoke(app, ["evaluate", "dla-bound", "--n", "60", "--seed", "3",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "completeness as DLA of an unbiased estimator" in result.output
    table = Table.read(out / "dla_precision_bound.ecsv")
    assert len(table) > 0 and np.all(table["log_nhi"] >= 20.3) and np.all(table["snr"] >= 5)
    photon, forest, both = (np.asarray(table[f"sigma_log_nhi_{a}"])
                            for a in ("photon", "forest", "forest_continuum"))
    assert np.all(photon < forest) and np.all(forest < both)
    summary = Table.read(out / "dla_precision_bound_summary.ecsv")
    assert list(summary["ideal_completeness_dla"]) == sorted(summary["ideal_completeness_dla"],
                                                              reverse=True)
    assert (out / "dla_precision_bound.png").stat().st_size > 0
    empty = CliRunner().invoke(app, ["evaluate", "dla-bound", "--n", "1", "--seed", "3",
                                     "--out", str(out)])
    assert empty.exit_code == 1 and "use more sightlines" in empty.output
    Table({"Z": [2.31, 2.42]}).write(tmp_path / "qsos.csv")
    survey = CliRunner().invoke(app, ["evaluate", "dla-bound", "--n", "80", "--seed", "3",
                                      "--out", str(out),
                                      "--z-qso-from", str(tmp_path / "qsos.csv")])
    assert survey.exit_code == 0, survey.output
    z_qso = Table.read(out / "dla_precision_bound.ecsv")["z_qso"]
    assert len(z_qso) > 0 and set(np.round(z_qso, 2)) <= {2.31, 2.42}


def _tiny(folder: Path) -> tuple[Any, Any]:
    """The tiny DLA model folder opened as scans open models."""
    from galcat.workers.dla.scan import open_dla

    model, network, _ = open_dla(load_settings(), folder)
    return model, network
