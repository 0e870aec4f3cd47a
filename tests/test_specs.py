"""Typed job specs: every kind round-trips through its stored parameters, refuses what
it does not know, and prints a command line that submits the same spec again."""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from galcat.workers.handlers import HANDLERS
from galcat.workers.queue.specs import (
    CalibrateDla,
    FinetuneMorphology,
    InferDla,
    InferEnvironment,
    InferMorphology,
    InferPhases,
    InferSersic,
    InferShard,
    IngestFiles,
    IngestShard,
    JobSpec,
    MeasureEnvironment,
    RedshiftTile,
    SortRedshifts,
    SpecError,
    TapQuery,
    TrainDla,
    TrainEnvironment,
    TrainMorphology,
    TrainPhases,
    TrainSersic,
)

EXAMPLES: list[JobSpec] = [
    TrainDla(seed=3, sightlines=40, epochs=2, n_eval=9, name="dla-x", base="dla@2",
             learning_rate=3e-4, fresh_each_epoch=True, log_nhi_loss_weight=2.5),
    CalibrateDla(base="dla@1", sightlines=300, seed=5, n_eval=20, name="dla-cal"),
    TrainSersic(seed=2, n=128, epochs=3, n_eval=64, filters=(4, 8), batch_size=16,
                learning_rate=2e-3, name="sersic-x"),
    TrainMorphology(seed=4, n=100, epochs=5, filters=(8,), name="morph-x"),
    FinetuneMorphology(labels="my-votes", base="morphology@2", epochs=3, seed=9,
                       whole_network=True, name="tuned"),
    InferDla(model="dla@3", where="z_qso > 2.5", shard_size=50),
    InferSersic(model="sersic@1", where="id < 10"),
    InferMorphology(model="morphology-tuned@1", shard_size=7),
    InferShard(task="dla", object_ids=(4, 5, 6)),
    TrainPhases(simulations="name LIKE 'T%'", held_out="name = 'H1'", seed=2, epochs=3,
                filters=(4, 8), images_only=True, name="phases-x"),
    InferPhases(model="phases@1", where="camera_id IS NOT NULL", shard_size=9),
    SortRedshifts(where="dec_deg > 0", reference_where="z_spec < 1", cell_arcmin=12.0,
                  overlap=0.75, min_reference=4, kernel_dz=0.002, seed=3, tile_cells=5,
                  name="sort-x"),
    TrainEnvironment(seed=2, n=5000, field_deg=2.0, z_min=0.3, z_max=0.9, sigma_z=0.05,
                     spec_fraction=0.2, epochs=2, batch_size=128, width=16, max_arcmin=8.0,
                     name="env-x"),
    InferEnvironment(model="environment-z@1", where="z_phot < 1", seed=2, tile_arcmin=30.0),
    RedshiftTile(row=3, column=4, size_arcmin=80.0, where="id > 2", seed=1),
    MeasureEnvironment(redshifts="sort@1", where="z_phot < 1", radius_mpc_h=2.0, dv_km_s=500.0,
                       nth=3, name="env-m"),
    TapQuery(query="SELECT TOP 3 * FROM dla.absorbers", maxrec=10, format="csv",
             execution_s=30.0, retention_days=1.0),
    IngestFiles(what="spectra", paths=("/data/boss", "/data/more/*.fits"), survey="boss",
                shard_files=50),
    IngestShard(what="images", paths=("/data/a.fits", "/data/a.weight.fits"), survey="hsc"),
]


def test_every_kind_has_an_example_and_a_handler() -> None:
    assert {type(s).kind for s in EXAMPLES} == set(HANDLERS)
    assert all(HANDLERS[s.kind].spec is type(s) for s in EXAMPLES)


@pytest.mark.parametrize("spec", EXAMPLES, ids=lambda s: s.kind)
def test_round_trip_through_stored_parameters(spec: JobSpec) -> None:
    import json

    stored = json.loads(json.dumps(spec.to_params()))
    assert type(spec).from_params(stored) == spec
    assert type(spec).from_params({**stored}) is not spec


@pytest.mark.parametrize("spec", EXAMPLES, ids=lambda s: s.kind)
def test_unknown_and_mistyped_parameters_are_refused(spec: JobSpec) -> None:
    stored = spec.to_params()
    with pytest.raises(SpecError, match=r"unknown parameter 'n_evl'"):
        type(spec).from_params({**stored, "n_evl": 3})
    first = dataclasses.fields(spec)[0].name
    with pytest.raises(SpecError, match=rf"parameter '{first}' is"):
        type(spec).from_params({**stored, first: {"not": "valid"}})


def test_an_ingest_job_of_an_unknown_kind_is_refused() -> None:
    with pytest.raises(SpecError, match="what must be one of spectra, images"):
        IngestFiles.from_params({"what": "labels", "paths": ["/x"]})
    with pytest.raises(SpecError, match="'paths' is 1, not tuple"):
        IngestShard.from_params({"what": "spectra", "paths": 1})


def test_required_parameters_are_named() -> None:
    with pytest.raises(SpecError, match="'labels' is required"):
        FinetuneMorphology.from_params({})
    assert TrainDla.from_params({}) == TrainDla()


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A SQLite catalogue holding every model the examples name."""
    from galcat.catalog import migrate
    from galcat.catalog.db import forget_databases, get_database
    from galcat.catalog.registry import register
    from galcat.catalog.settings import load_settings

    monkeypatch.setenv("GALCAT_HOME", str(tmp_path))
    monkeypatch.delenv("GALCAT_DATABASE_URL", raising=False)
    forget_databases()
    settings = load_settings()
    db = get_database(settings)
    migrate.upgrade(db)
    weights = tmp_path / "w.keras"
    weights.write_bytes(b"not really weights")
    with db.session() as session:
        for name, task, versions in (("dla", "dla", 3), ("sersic", "sersic", 1),
                                     ("morphology", "morphology", 2),
                                     ("morphology-tuned", "morphology", 1),
                                     ("phases", "phases", 1), ("environment-z", "redshift", 1),
                                     ("sort", "sort", 1)):
            for _ in range(versions):
                register(session, settings.artifacts_dir, name, task, weights, {}, None, None)
    yield
    forget_databases()


@pytest.mark.parametrize("spec", [s for s in EXAMPLES if s.verb], ids=lambda s: s.kind)
def test_command_line_submits_the_same_spec(spec: JobSpec, registry: None,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from galcat.cli import app

    submitted: list[Any] = []

    class Handle:
        id = 1

    def fake_submit(given: JobSpec, settings: Any = None) -> Handle:
        submitted.append(given)
        return Handle()

    monkeypatch.setattr("galcat.workers.queue.jobs.submit", fake_submit)
    command = spec.command()
    assert command is not None and command.startswith("galcat ")
    result = CliRunner().invoke(app, shlex.split(command)[1:])
    assert result.exit_code == 0, result.output
    assert submitted == [spec]
