"""Model registry: weights are content-addressed on disk and kept in the catalog, so a
worker on another host (an empty local store) fetches them, hash-checked."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from galcat.catalog.db import Database
from galcat.catalog.registry import (
    RegistryError,
    artifact_path,
    register,
    resolve,
    verified_weights,
)
from galcat.catalog.schema import ModelVersion


def _register(db: Database, store: Path, tmp_path: Path) -> str:
    weights = tmp_path / "w.keras"
    weights.write_bytes(b"not really keras, but bytes with a hash" * 100)
    with db.session() as session:
        return register(session, store, "toy", "toy", weights, {}, None, None).weights_sha256


def test_a_worker_with_an_empty_store_fetches_weights_from_the_catalog(
    db: Database, tmp_path: Path
) -> None:
    sha = _register(db, tmp_path / "host-a", tmp_path)
    other_host = tmp_path / "host-b"
    with db.new_session() as session:
        version = resolve(session, "toy@1")
        with pytest.raises(RegistryError, match="missing"):
            verified_weights(other_host, version)
        path = verified_weights(other_host, version, session)
    assert path == artifact_path(other_host, sha)
    assert path.read_bytes() == artifact_path(tmp_path / "host-a", sha).read_bytes()


def test_weights_in_the_catalog_that_do_not_match_their_hash_are_refused(
    db: Database, tmp_path: Path
) -> None:
    _register(db, tmp_path / "host-a", tmp_path)
    with db.session() as session:
        session.execute(sa.update(ModelVersion).values(weights_blob=b"tampered"))
    with db.new_session() as session:
        version = resolve(session, "toy@1")
        with pytest.raises(RegistryError, match="do not match"):
            verified_weights(tmp_path / "host-b", version, session)
    assert not list((tmp_path / "host-b").rglob("*.keras"))


def test_shipped_models_register_once_and_again_when_recalibrated(
    db: Database, tmp_path: Path
) -> None:
    import json

    from galcat.catalog.registry import sha256_file
    from galcat.models.shipped import RECORD
    from galcat.workers.registry import register_shipped

    folder = tmp_path / "shipped" / "toy"
    folder.mkdir(parents=True)
    (folder / "toy.keras").write_bytes(b"weights" * 100)
    record = {"name": "toy", "task": "toy", "weights_file": "toy.keras",
              "weights_sha256": sha256_file(folder / "toy.keras"),
              "hyperparameters": {"scale": 1.0}, "command": "galcat train toy --seed 1"}
    (folder / RECORD).write_text(json.dumps(record))
    store = tmp_path / "store"
    with db.session() as session:
        assert [v.version for v in register_shipped(session, store, folder.parent)] == [1]
    with db.session() as session:
        assert register_shipped(session, store, folder.parent) == []
    record.update(hyperparameters={"scale": 1.1}, command="galcat train toy-calibration")
    (folder / RECORD).write_text(json.dumps(record))
    with db.session() as session:
        added = register_shipped(session, store, folder.parent)
        assert [(v.version, v.hyperparameters["scale"]) for v in added] == [(2, 1.1)]
    record.update(hyperparameters={"scale": 1.1, "error_model": [1.0]})
    (folder / RECORD).write_text(json.dumps(record))
    with db.session() as session:
        added = register_shipped(session, store, folder.parent)
        assert [v.version for v in added] == [3], "same weights and command, new calibration"
    with db.session() as session:
        assert register_shipped(session, store, folder.parent) == []
