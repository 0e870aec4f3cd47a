"""Alembic owns the schema: up, down, up again, and no drift from the ORM."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from galcat.catalog import migrate
from galcat.catalog.db import Database
from galcat.catalog.schema import compared_by_autogenerate, metadata
from galcat.catalog.schema_version import SCHEMA_HEAD, schema_revision


def test_up_down_up(db: Database) -> None:
    assert migrate.current_revision(db) == migrate.head_revision(db)
    assert schema_revision(db) == SCHEMA_HEAD == migrate.head_revision(db)
    migrate.downgrade(db, "base")
    assert migrate.current_revision(db) is None and schema_revision(db) is None
    assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(db)
    assert migrate.current_revision(db) == migrate.head_revision(db)
    assert set(metadata.tables) <= set(sa.inspect(db.engine).get_table_names())


def test_orm_and_migrations_agree(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_object": compared_by_autogenerate})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_sqlite_connection_settings(tmp_path) -> None:
    db = Database.for_url(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
    db.dispose()


UNTYPED_JOBS = [
    ("train", {"task": "dla", "name": "dla", "n_eval": 8, "command": "galcat train dla",
               "recipe": {"seed": 4, "n_train_sightlines": 24, "epochs": 1,
                          "fresh_each_epoch": False}, "learning_rate": 3e-4}),
    ("train", {"task": "dla_calibration", "name": "dla", "n_eval": 10, "seed": 7,
               "n_sightlines": 100, "command": "galcat train dla-calibration"}),
    ("train", {"task": "sersic", "seed": 2, "n": 64, "n_eval": 32, "name": "sersic",
               "config": {"filters": [4, 8], "batch_size": 32, "learning_rate": 0.003,
                          "epochs": 2}}),
    ("train", {"task": "morphology", "labels": "my-votes", "seed": 1, "epochs": 3,
               "whole_network": False, "name": None, "command": "c"}),
    ("infer", {"task": "sersic", "shard_size": 5, "where": "id < 3"}),
    ("infer_shard", {"task": "dla", "object_ids": [1, 2], "throttle_s": 0}),
]


def test_typed_jobs_migration_rewrites_untyped_rows_both_ways(db: Database) -> None:
    from galcat.catalog.schema import Job, ModelVersion
    from galcat.workers.handlers import HANDLERS

    migrate.downgrade(db, "0002")
    with db.session() as session:
        dla = ModelVersion(name="dla", version=2, task="dla", weights_sha256="0" * 64,
                           hyperparameters={}, code_version="test")
        session.add(dla)
        session.flush()
        uses_model = {"dla_calibration", "morphology"}
        session.add_all([Job(kind=k, parameters=p, model_version_id=dla.id if
                             p["task"] in uses_model or k == "infer" else None)
                         for k, p in UNTYPED_JOBS])
    migrate.upgrade(db)
    with db.new_session() as session:
        rows = [(j.kind, j.parameters) for j in session.query(Job).order_by(Job.id)]
    assert [k for k, _ in rows] == ["train_dla", "calibrate_dla", "train_sersic",
                                    "finetune_morphology", "infer_sersic", "infer_shard"]
    specs = [HANDLERS[k].spec.from_params(p) for k, p in rows]
    assert (specs[0].sightlines, specs[0].epochs, specs[0].learning_rate) == (24, 1, 3e-4)
    assert (specs[1].sightlines, specs[1].seed, specs[1].base) == (100, 7, "dla@2")
    assert (specs[2].filters, specs[2].epochs, specs[2].learning_rate) == ((4, 8), 2, 0.003)
    assert (specs[3].labels, specs[3].epochs, specs[3].base) == ("my-votes", 3, "dla@2")
    assert (specs[4].where, specs[4].shard_size, specs[4].model) == ("id < 3", 5, "dla@2")
    assert specs[0].base is None
    assert specs[5].object_ids == (1, 2)
    migrate.downgrade(db, "0002")
    with db.new_session() as session:
        kinds = [(j.kind, j.parameters.get("task")) for j in session.query(Job).order_by(Job.id)]
    assert kinds == [("train", "dla"), ("train", "dla_calibration"), ("train", "sersic"),
                     ("train", "morphology"), ("infer", "sersic"), ("infer_shard", "dla")]
    migrate.upgrade(db)


def test_pixel_blobs_are_stored_uncompressed_on_postgresql(postgres_url: str) -> None:
    """0005 sets STORAGE EXTERNAL (no pglz on incompressible floats); 0004 restores it."""
    import uuid

    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    name = f"galcat_storage_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    db = Database.for_url(sa.engine.make_url(postgres_url).set(database=name)
                          .render_as_string(hide_password=False))
    query = ("SELECT attname, attstorage FROM pg_attribute WHERE attrelid = "
             "'spectrum_pixels'::regclass AND attname IN ('loglam', 'flux', 'ivar', 'mask')")
    try:
        migrate.upgrade(db)
        with db.engine.connect() as conn:
            assert {s for _, s in conn.exec_driver_sql(query)} == {"e"}
        migrate.downgrade(db, "0004")
        with db.engine.connect() as conn:
            assert {s for _, s in conn.exec_driver_sql(query)} == {"x"}
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
