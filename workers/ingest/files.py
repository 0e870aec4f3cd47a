"""Ingest as jobs: a parent lists the files and fans them out in shards that any worker
takes; each shard loads its files exactly as ``galcat ingest`` does in one process (files
de-duplicated by sha256, each file all in or all out), so a shard redone after its worker
died skips the files it had already loaded. Workers must see the files at the same paths.

A shard's result lists every file's outcome; :func:`ingest_outcomes` gathers them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from galcat.catalog.db import Database
from galcat.catalog.formats.image_groups import group_files
from galcat.catalog.formats.registry import find_files
from galcat.catalog.ingest.images import ingest_images
from galcat.catalog.ingest.report import FileOutcome, IngestSummary
from galcat.catalog.ingest.spectra import ingest_spectra
from galcat.workers.queue.doorbell import ring
from galcat.workers.queue.lifecycle import JOB, JobContext
from galcat.workers.queue.sharding import queue_shards
from galcat.workers.queue.specs import IngestFiles, IngestShard

FILE_KIND = {"spectra": "spectrum", "images": "image"}


def shard_paths(spec: IngestFiles) -> list[list[str]]:
    """The files of ``spec`` in shards of about ``shard_files``; an image and its
    companions (weight, mask, PSF files) always share a shard."""
    files = find_files(FILE_KIND[spec.what], spec.paths)
    if spec.what == "images":
        groups, _attached = group_files(files)
        units = [[str(g.science), *(str(c) for c in g.companions.values())] for g in groups]
    else:
        units = [[str(p)] for p in files]
    shards: list[list[str]] = [[]]
    for unit in units:
        if len(shards[-1]) >= spec.shard_files:
            shards.append([])
        shards[-1] += unit
    return [s for s in shards if s]


def fan_out_files(ctx: JobContext, spec: IngestFiles) -> None:
    """List the files, queue one shard job per ``shard_files`` of them, and ring."""
    shards = shard_paths(spec)
    if not shards:
        raise ValueError(f"no {spec.what} files found in {', '.join(spec.paths)}")
    total = sum(len(s) for s in shards)
    with ctx.db.session() as session:
        ctx.hold(session)
        created = queue_shards(session, ctx, [
            (IngestShard(what=spec.what, paths=tuple(paths), survey=spec.survey,
                         z_qso=spec.z_qso), len(paths)) for paths in shards])
        session.execute(sa.update(JOB).where(JOB.c.id == ctx.job_id).values(
            worker=None, heartbeat_at=None, progress_total=total,
            message=f"{total} files in {len(shards)} shards"))
    ring(ctx.settings, ctx.db, [(job_id, IngestShard.queue) for job_id in created])


def run_ingest_shard(ctx: JobContext, spec: IngestShard) -> None:
    """Load this shard's files; a refused file is an outcome of the shard, not a failure."""
    if spec.what == "spectra":
        summary: IngestSummary = ingest_spectra(ctx.db, spec.paths, spec.survey, spec.z_qso)
    else:
        summary = ingest_images(ctx.db, spec.paths, spec.survey)
    ctx.finish({"files": [_outcome_row(f) for f in summary.files]},
               message=summary.describe())


def ingest_outcomes(db: Database, parent_id: int) -> IngestSummary:
    """Every file's outcome over the shards of ingest job ``parent_id``, in shard order."""
    with db.new_session() as session:
        results = session.execute(sa.select(JOB.c.result).where(
            JOB.c.parent_id == parent_id).order_by(JOB.c.shard_index)).scalars().all()
    return IngestSummary([FileOutcome(*row) for result in results if result
                          for row in result.get("files", [])])


def _outcome_row(outcome: FileOutcome) -> list[Any]:
    return [outcome.path, outcome.rows_loaded, outcome.rows_merged, list(outcome.errors)]
