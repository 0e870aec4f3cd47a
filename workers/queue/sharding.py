"""Sharded inference: a parent job fans out into shards of ``settings.shard_size`` objects;
each shard upserts its predictions keyed by (model_version, object)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from galcat.catalog.db import Database
from galcat.catalog.schema import ModelVersion
from galcat.catalog.schema.base import utcnow
from galcat.workers.model_io import load_model
from galcat.workers.queue.doorbell import ring
from galcat.workers.queue.lifecycle import JOB, JobContext
from galcat.workers.queue.specs import InferShard, InferSpec, JobSpec

CHUNK = 512


Rows = list[dict[str, Any]]


def upsert_rows(table: sa.Table, key: str) -> Callable[[Database, Session, int, Rows], None]:
    """A writer that upserts prediction rows keyed by (model_version_id, ``key``)."""

    def write(db: Database, session: Session, version_id: int, rows: Rows) -> None:
        db.upsert(session, table, [{**r, "model_version_id": version_id} for r in rows],
                  key=("model_version_id", key))

    return write


def load_keras(settings: Any, version: ModelVersion) -> Any:
    """The default loader: the version's Keras model."""
    return load_model(settings, version)


@dataclass(frozen=True)
class InferenceTask:
    """How one kind of model meets the catalog.

    ``object_table``: whose ids the job shards; ``load``: (settings, model_version) →
    whatever ``predict`` needs; ``predict``: (loaded, session, ids) → prediction rows;
    ``write``: (db, session, model_version_id, rows), run in the shard's final
    transaction, must be idempotent (a redone shard may write again).
    """

    object_table: sa.Table
    predict: Callable[[Any, Session, list[int]], Rows]
    write: Callable[[Database, Session, int, Rows], None]
    load: Callable[[Any, ModelVersion], Any] = load_keras
    done_table: sa.Table | None = None
    done_key: str | None = None
    """Where a finished object leaves a row (model_version_id, ``done_key``): lets a job
    with ``skip_done`` run only on objects this model version has not seen."""


def select_objects(db: Database, task: InferenceTask, where: str | None,
                   skip_done_for: int | None = None) -> list[int]:
    """Ids of the objects to run on, on a read-only connection (``where`` is SQL);
    with ``skip_done_for`` (a model version id), only those it has no result for."""
    sql = f"SELECT id FROM {task.object_table.name}"
    if where:
        sql += f" WHERE ({where})"
    _names, rows = db.readonly_query(sql + " ORDER BY id")
    ids = [int(r[0]) for r in rows]
    if skip_done_for is not None and task.done_table is not None and task.done_key:
        key = task.done_table.c[task.done_key]
        with db.new_session() as session:
            done = set(session.execute(sa.select(key).where(
                task.done_table.c.model_version_id == skip_done_for)).scalars())
        ids = [i for i in ids if i not in done]
    return ids


def fan_out(task: InferenceTask, ctx: JobContext, spec: InferSpec) -> None:
    """Split the job into shards, commit them, ring for each, and leave them to run."""
    skip = ctx.model_version_id if spec.skip_done else None
    ids = select_objects(ctx.db, task, spec.where, skip)
    if not ids:
        ctx.finish({"objects": 0, "shards": 0}, message="no objects matched")
        return
    size = spec.shard_size or ctx.settings.shard_size
    shards = [ids[i:i + size] for i in range(0, len(ids), size)]
    with ctx.db.session() as session:
        ctx.hold(session)
        created = queue_shards(
            session, ctx, [(InferShard(task=spec.task, object_ids=tuple(s)), len(s))
                           for s in shards], ctx.model_version_id)
        session.execute(sa.update(JOB).where(JOB.c.id == ctx.job_id).values(
            worker=None, heartbeat_at=None, progress_total=len(ids),
            message=f"{len(ids)} objects in {len(shards)} shards"))
    ring(ctx.settings, ctx.db, [(job_id, InferShard.queue) for job_id in created])


def queue_shards(session: Session, ctx: JobContext, shards: Sequence[tuple[JobSpec, int]],
                 model_version_id: int | None = None) -> list[int]:
    """Insert one queued child job of ``ctx``'s job per (spec, object count), in the
    caller's transaction; their ids, to ring once it commits."""
    now = utcnow()
    return list(session.execute(sa.insert(JOB).returning(JOB.c.id), [
        {"kind": spec.kind, "queue": spec.queue, "state": "queued", "parent_id": ctx.job_id,
         "shard_index": i, "model_version_id": model_version_id,
         "parameters": spec.to_params(), "progress_total": count, "max_attempts": 3,
         "created_at": now, "attempts": 0, "progress_done": 0}
        for i, (spec, count) in enumerate(shards)]).scalars().all())


def run_shard(tasks: Mapping[str, InferenceTask], ctx: JobContext, spec: InferShard) -> None:
    """Predict for this shard's objects, then write them and finish in one transaction."""
    task = tasks.get(spec.task)
    if task is None:
        raise ValueError(f"no inference for task {spec.task!r} (known: {', '.join(tasks)})")
    ids: Sequence[int] = spec.object_ids
    with ctx.db.new_session() as session:
        version = session.get(ModelVersion, ctx.model_version_id)
    if version is None:
        raise ValueError(f"model version {ctx.model_version_id} does not exist")
    model = task.load(ctx.settings, version)
    rows: list[dict[str, Any]] = []
    for start in range(0, len(ids), CHUNK):
        with ctx.db.new_session() as session:
            rows += task.predict(model, session, list(ids[start:start + CHUNK]))
        ctx.progress(min(start + CHUNK, len(ids)), len(ids))
    version_id = int(version.id)

    def write(session: Session) -> None:
        task.write(ctx.db, session, version_id, rows)

    ctx.finish({"objects": len(ids), "written": len(rows)}, write,
               message=f"{len(rows)} predictions written")
