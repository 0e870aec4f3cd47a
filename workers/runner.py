"""What a worker does with one job id: claim it, run its handler, record the outcome."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

import sqlalchemy as sa

from galcat.catalog.db import get_database
from galcat.catalog.settings import Settings
from galcat.workers.lifecycle import (
    Heartbeat,
    JobBusy,
    JobCancelled,
    JobContext,
    JobLost,
    claim,
    fail,
    job_state,
)

log = logging.getLogger("galcat.worker")


def _noop(ctx: JobContext) -> None:
    ctx.finish({"ok": True}, message="nothing to do")


def _handlers() -> dict[str, Callable[[JobContext], None]]:
    from galcat.workers.inference import fan_out, run_shard
    from galcat.workers.training import run_training

    return {"noop": _noop, "train": run_training, "infer": fan_out, "infer_shard": run_shard}


QUEUE_OF_KIND = {"noop": "cpu", "train": "gpu", "infer": "cpu", "infer_shard": "gpu"}


def execute(settings: Settings, job_id: int) -> str:
    """Run job ``job_id`` here if it is still queued; return what happened."""
    db = get_database(settings)
    ctx = claim(settings, db, job_id)
    if ctx is None:
        if job_state(db, job_id) == "queued":
            raise JobBusy(f"job {job_id} is queued but locked by another transaction")
        return "not claimed"
    handler = _handlers().get(ctx.kind)
    with Heartbeat(ctx):
        try:
            if handler is None:
                raise ValueError(f"unknown job kind {ctx.kind!r}")
            handler(ctx)
        except JobCancelled:
            return "cancelled"
        except JobLost as exc:
            log.warning("%s", exc)
            return "lost"
        except (sa.exc.OperationalError, sa.exc.InterfaceError):
            raise
        except Exception as exc:
            log.error("job %s failed:\n%s", job_id, traceback.format_exc())
            fail(ctx, f"{type(exc).__name__}: {exc}")
            return "failed"
    return "done"
