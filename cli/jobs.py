"""``galcat jobs …`` and ``galcat worker``: watch and steer queued jobs, run a worker."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from galcat.catalog.settings import load_settings
from galcat.catalog.sql import Rows
from galcat.cli.output import console, emit, fail
from galcat.cli.shared import TableFormat, WaitOption, ready_database, report_job

jobs_app = typer.Typer(help="List, inspect, cancel and retry jobs.", no_args_is_help=True)


def worker(
    queues: Annotated[str, typer.Option(help="Comma-separated queues: gpu, cpu.")] = "gpu,cpu",
    concurrency: Annotated[int, typer.Option(
        help="Worker processes, each running one job at a time; one that dies is replaced.")] = 1,
    name: Annotated[str | None, typer.Option(help="Celery node name.")] = None,
    extra_jobs: Annotated[str | None, typer.Option(
        envvar="GALCAT_EXTRA_JOBS", hidden=True,
        help="Comma-separated modules whose JOB_KINDS this worker also runs.")] = None,
) -> None:
    """Start a worker that pulls jobs from the broker (runs until stopped).

    Example: galcat worker --queues gpu --concurrency 1
    """
    from galcat.workers.handlers import CHORES, handlers_with
    from galcat.workers.queue.worker import start_worker

    modules = [m.strip() for m in (extra_jobs or "").split(",") if m.strip()]
    try:
        table = handlers_with(modules)
    except ImportError as exc:
        fail(ValueError(f"GALCAT_EXTRA_JOBS: {exc}"))
    start_worker(load_settings(), table, queues.split(","), concurrency, name=name,
                 chores=CHORES)


@jobs_app.command("list")
def jobs_list(
    limit: Annotated[int, typer.Option(help="Newest N jobs.")] = 20,
    shards: Annotated[bool, typer.Option(help="Include inference shards.")] = False,
    fmt: TableFormat = None,
) -> None:
    """The newest jobs with their state and progress.

    Example: galcat jobs list --limit 5
    """
    from galcat.workers.queue.jobs import list_jobs

    ready_database()
    jobs = list_jobs(load_settings(), limit=limit, include_shards=shards)
    emit(Rows(["id", "kind", "state", "done", "total", "attempts", "message"],
              [(j.id, j.kind, j.state, j.done, j.total, j.attempts, j.error or j.message or "")
               for j in jobs]), fmt, title="jobs")


@jobs_app.command("show")
def jobs_show(job_id: Annotated[int, typer.Argument(help="Job id.")]) -> None:
    """Everything about one job.

    Example: galcat jobs show 12
    """
    from galcat.workers.queue.jobs import JobError, JobHandle

    ready_database()
    try:
        state = JobHandle(job_id, load_settings()).status()
    except JobError as exc:
        fail(exc)
    for key, value in state.__dict__.items():
        text = json.dumps(value) if isinstance(value, dict) else str(value)
        console.print(f"{key:<12}{text}", markup=False, highlight=False)


@jobs_app.command("cancel")
def jobs_cancel(job_id: Annotated[int, typer.Argument(help="Job id.")]) -> None:
    """Cancel a job; shards not yet started never start.

    Example: galcat jobs cancel 12
    """
    from galcat.workers.queue.jobs import JobError, cancel

    ready_database()
    try:
        state = cancel(load_settings(), job_id)
    except JobError as exc:
        fail(exc)
    console.print(f"job {job_id} {state.state}")


@jobs_app.command("retry")
def jobs_retry(job_id: Annotated[int, typer.Argument(help="Job id.")], wait: WaitOption = False
               ) -> None:
    """Queue a failed or cancelled job again.

    Example: galcat jobs retry 12 --wait
    """
    from galcat.workers.queue.jobs import JobError, retry

    ready_database()
    try:
        handle = retry(load_settings(), job_id)
    except JobError as exc:
        fail(exc)
    report_job(handle, wait)
