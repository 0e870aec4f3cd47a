"""Galaxy jobs end to end: tiny trained models, inference into typed tables on both
backends, fine-tuning on a label set, quick-look scans, evaluation, mocks and fits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from astropy.table import Table
from typer.testing import CliRunner

from galcat.catalog import migrate
from galcat.catalog.db import Database, forget_databases, get_database
from galcat.catalog.ingest.images import ingest_images
from galcat.catalog.registry import artifact_path, register
from galcat.catalog.schema import Image, ModelVersion, Morphology, SersicFit
from galcat.catalog.settings import load_settings
from galcat.cli import app

keras = pytest.importorskip("keras")

from galcat.models.galaxy.mockset import TRAIN_STREAM, data_fingerprint, mock_galaxies  # noqa: E402
from galcat.workers.galaxy.scan import write_mock_galaxies  # noqa: E402
from galcat.workers.handlers import HANDLERS  # noqa: E402
from galcat.workers.queue.local import run_locally  # noqa: E402
from galcat.workers.queue.specs import (  # noqa: E402
    FinetuneMorphology,
    InferMorphology,
    InferSersic,
    TrainMorphology,
    TrainSersic,
)

runner = CliRunner()
TINY = {"filters": (4, 8), "dense_units": 8, "epochs": 2, "batch_size": 32,
        "learning_rate": 3e-3, "run_eagerly": True}
MODELS = ("sersic", "morphology")
INFER = {"sersic": InferSersic, "morphology": InferMorphology}


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Both networks trained by their real training jobs (tiny), in a scratch catalog."""
    home = tmp_path_factory.mktemp("train-home")
    settings = load_settings({"GALCAT_HOME": str(home)})
    migrate.upgrade(get_database(settings))
    out: dict[str, dict[str, Any]] = {}
    for task in MODELS:
        spec = {"sersic": TrainSersic, "morphology": TrainMorphology}[task]
        handle = run_locally(settings, spec(seed=3, n=64, n_eval=32, **TINY), HANDLERS)
        state = handle.status()
        assert state.state == "done", state.error
        with get_database(settings).new_session() as session:
            version = session.execute(sa.select(ModelVersion).where(
                ModelVersion.name == task)).scalar_one()
        out[task] = {"weights": artifact_path(settings.artifacts_dir, version.weights_sha256),
                     "hyperparameters": version.hyperparameters, "metrics": version.metrics,
                     "fingerprint": version.training_fingerprint, "message": state.message}
    forget_databases()
    return out


def _register(db: Database, trained: dict[str, dict[str, Any]]) -> None:
    with db.session() as session:
        for task in MODELS:
            t = trained[task]
            register(session, load_settings().artifacts_dir, task, task, t["weights"],
                     t["hyperparameters"], t["fingerprint"], t["metrics"])


def _png(path: Path) -> Path:
    from PIL import Image as Pil

    rng = np.random.default_rng(0)
    Pil.fromarray(rng.integers(0, 255, (80, 80, 3), dtype=np.uint8)).save(path)
    return path


def test_training_records_seed_fingerprint_and_held_out_metrics(trained) -> None:
    sersic, morphology = trained["sersic"], trained["morphology"]
    assert sersic["hyperparameters"]["seed"] == 3
    assert sersic["hyperparameters"]["n_train_mocks"] == 64
    assert sersic["hyperparameters"]["config"]["filters"] == [4, 8]
    images, truth = mock_galaxies(64, 3, TRAIN_STREAM, kind_fractions={"sersic": 1.0})
    assert sersic["fingerprint"] == data_fingerprint(images, truth)
    held = sersic["metrics"]["held_out"]
    assert held["mag_max"] == 23.0 and 0 < held["n_scored"] <= 32
    assert set(held["targets_met"]) == {"mag_median_abs", "r_eff_rel_median_abs",
                                        "sersic_n_rel_median_abs", "axis_ratio_median_abs"}
    assert held["mag_median_abs"] < 0.3
    assert "median |dmag|" in sersic["message"]
    assert morphology["fingerprint"] != sersic["fingerprint"]
    scores = morphology["metrics"]["held_out"]
    assert 0.0 <= scores["bd_accuracy"] <= 1.0
    assert len(scores["bd_confusion_true_by_predicted"]) == 3


def test_infer_writes_one_row_per_image_and_reruns_do_not_duplicate(
    db: Database, galcat_env: dict[str, str], tmp_path: Path, trained
) -> None:
    files, truth_path = write_mock_galaxies(3, tmp_path / "mocks", seed=5,
                                            kind_fractions={"sersic": 1.0})
    assert ingest_images(db, [*files, _png(tmp_path / "zoo.png")]).ok
    _register(db, trained)
    settings = load_settings()
    truth = Table.read(truth_path)
    for task, table in (("sersic", SersicFit), ("morphology", Morphology)):
        for _ in range(2):
            handle = run_locally(settings, INFER[task](model=f"{task}@1"), HANDLERS)
            assert handle.status().state == "done"
            with db.new_session() as session:
                rows = session.execute(sa.select(table, Image.source_path).join(
                    Image, Image.id == table.image_id)).all()
            assert len(rows) == 4 and len({r[0].image_id for r in rows}) == 4
        flags = {Path(r.source_path).name: r[0].out_of_profile for r in rows}
        assert flags == {**{f.name: False for f in files}, "zoo.png": True}
        if task == "sersic":
            mags = {Path(r.source_path).name: r[0].mag for r in rows}
            for row in truth:
                assert mags[row["file"]] == pytest.approx(row["mag"], abs=0.3)
        else:
            total = [r[0].p_bulge + r[0].p_disk + r[0].p_bulge_disk for r in rows]
            np.testing.assert_allclose(total, 1.0, atol=1e-5)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_finetune_on_a_label_set_registers_a_new_morphology_model(
    db: Database, galcat_env: dict[str, str], tmp_path: Path, trained
) -> None:
    files, truth_path = write_mock_galaxies(6, tmp_path / "mocks", seed=8)
    assert ingest_images(db, files, catalogue=truth_path, label_set="my-votes").ok
    _register(db, trained)
    settings = load_settings()
    handle = run_locally(settings, FinetuneMorphology(
        labels="my-votes", epochs=1, run_eagerly=True, base="morphology@1"), HANDLERS)
    state = handle.status()
    assert state.state == "done", state.error
    with db.new_session() as session:
        tuned = session.execute(sa.select(ModelVersion).where(
            ModelVersion.name == "morphology-my-votes")).scalar_one()
    assert tuned.task == "morphology" and tuned.version == 1
    assert tuned.hyperparameters["finetuned_from"] == "morphology@1"
    assert tuned.hyperparameters["label_columns"] == ["f_spheroid", "f_disk", "f_irr",
                                                      "f_ps", "f_unc"]
    assert tuned.hyperparameters["train_head_only"] is True
    assert tuned.metrics["n_images"] == 6 and len(tuned.training_fingerprint or "") == 64
    assert run_locally(settings, InferMorphology(model="morphology-my-votes"),
                       HANDLERS).status().state == "done"
    with db.new_session() as session:
        n = session.execute(sa.select(sa.func.count()).select_from(Morphology).where(
            Morphology.model_version_id == tuned.id)).scalar_one()
    assert n == 6
    failed = run_locally(settings, FinetuneMorphology(labels="nobody", base="morphology@1"),
                         HANDLERS).status()
    assert failed.state == "failed" and "no image in the catalog has labels" in (failed.error
                                                                                 or "")


def test_scan_writes_a_row_per_readable_file_and_names_the_bad_one(tmp_path: Path,
                                                                   trained) -> None:
    files, truth_path = write_mock_galaxies(3, tmp_path, seed=2, kind_fractions={"sersic": 1.0})
    broken = tmp_path / "broken.fits"
    broken.write_bytes(b"\x00" * 2880)
    out = tmp_path / "sersic.csv"
    result = runner.invoke(app, ["scan", "sersic", *map(str, files), str(broken), "--out",
                                 str(out), "--model", str(trained["sersic"]["weights"])])
    assert result.exit_code == 1 and "broken.fits" in result.output
    table = Table.read(out, format="ascii.csv")
    assert [Path(f).name for f in table["file"]] == [f.name for f in files]
    assert [str(v) for v in table["out_of_profile"]] == ["False"] * 3
    truth = Table.read(truth_path)
    assert np.all(np.abs(table["mag"] - truth["mag"]) < 0.3)
    out = tmp_path / "morphology.ecsv"
    result = runner.invoke(app, ["scan", "morphology", str(tmp_path), "--out", str(out),
                                 "--model", str(trained["morphology"]["weights"])])
    assert result.exit_code == 1
    table = Table.read(out)
    assert len(table) == 3 and {"f_spheroid", "p_bulge_disk", "out_of_profile"} <= set(
        table.colnames)


def test_evaluate_writes_tables_and_plots(tmp_path: Path, trained) -> None:
    result = runner.invoke(app, ["evaluate", "sersic", "--model",
                                 str(trained["sersic"]["weights"]), "--n", "16", "--n-fit", "2",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = Table.read(tmp_path / "sersic_summary.ecsv")
    assert set(summary["method"]) == {"emulator", "emulator_on_fitter_images", "fitter"}
    fitter = summary[summary["method"] == "fitter"]
    assert list(fitter["parameter"]) == ["mag", "r_eff_rel", "sersic_n_rel", "axis_ratio"]
    assert fitter["median_abs"][0] < 0.1
    assert summary.meta["fitter_seconds_per_galaxy"] > summary.meta[
        "emulator_seconds_per_galaxy"]
    result = runner.invoke(app, ["evaluate", "morphology", "--model",
                                 str(trained["morphology"]["weights"]), "--n", "24",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    morph = Table.read(tmp_path / "morphology_summary.ecsv")
    assert len(morph) == 6 and 0 <= morph["top1_accuracy"][-1] <= 1
    for name in ("sersic_truth_vs_prediction", "sersic_residuals_vs_mag",
                 "morphology_fractions", "morphology_bulge_disk_confusion"):
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_mock_files_fit_back_to_their_truth(tmp_path: Path) -> None:
    result = runner.invoke(app, ["mock", "galaxies", "2", "--out", str(tmp_path), "--seed", "4",
                                 "--kinds", "sersic"])
    assert result.exit_code == 0, result.output
    truth = Table.read(tmp_path / "truth.ecsv")
    again = runner.invoke(app, ["mock", "galaxies", "2", "--out", str(tmp_path), "--seed", "4"])
    assert again.exit_code == 1 and "exists" in again.output
    bright = truth[int(np.argmin(truth["mag"]))]
    out = tmp_path / "fit.csv"
    result = runner.invoke(app, ["fit", "sersic", str(tmp_path / bright["file"]), "--out",
                                 str(out)])
    assert result.exit_code == 0, result.output
    fit = Table.read(out, format="ascii.csv")[0]
    assert fit["mag"] == pytest.approx(bright["mag"], abs=0.05)
    assert fit["r_eff_arcsec"] == pytest.approx(bright["r_eff_arcsec"], rel=0.1)
    assert fit["psf_fwhm_arcsec"] == pytest.approx(bright["psf_fwhm_arcsec"])
