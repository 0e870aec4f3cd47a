"""What a worker does with one job id: claim it, read its typed spec, run its handler,
record the outcome. Which handler runs each kind is the table the worker was given."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from galcat.catalog.db import get_database
from galcat.catalog.settings import Settings
from galcat.workers.queue.lifecycle import (
    Heartbeat,
    JobBusy,
    JobCancelled,
    JobContext,
    JobLost,
    claim,
    fail,
    job_state,
)
from galcat.workers.queue.specs import JobSpec, SpecError

log = logging.getLogger("galcat.worker")


@dataclass(frozen=True)
class JobKind:
    """One job kind: its spec class and the function that runs it, ``run(ctx, spec)``."""

    spec: type[JobSpec]
    run: Callable[[JobContext, Any], None]


Handlers = Mapping[str, JobKind]


def handler_table(kinds: list[JobKind]) -> dict[str, JobKind]:
    """``kinds`` by their stored name; two kinds of one name are refused."""
    table: dict[str, JobKind] = {}
    for kind in kinds:
        if kind.spec.kind in table:
            raise ValueError(f"job kind {kind.spec.kind!r} is declared twice")
        table[kind.spec.kind] = kind
    return table


def execute(settings: Settings, job_id: int, handlers: Handlers) -> str:
    """Run job ``job_id`` here if it is still queued; return what happened."""
    db = get_database(settings)
    ctx = claim(settings, db, job_id)
    if ctx is None:
        state = job_state(db, job_id)
        if state == "queued":
            raise JobBusy(f"job {job_id} is queued but locked by another transaction")
        if state is None:
            log.warning("job %s does not exist in catalogue %s: its message is dropped",
                        job_id, db.identity)
            return "no such job"
        return "not claimed"
    with Heartbeat(ctx):
        try:
            kind = handlers.get(ctx.kind)
            if kind is None:
                raise SpecError(f"unknown job kind {ctx.kind!r} (this worker runs: "
                                f"{', '.join(sorted(handlers))})")
            kind.run(ctx, kind.spec.from_params(ctx.parameters))
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
