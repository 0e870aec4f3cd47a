"""CLI commands that run or watch jobs; ``workers`` is imported only inside them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from galcat.catalog.cli_output import console, errors, fail
from galcat.catalog.settings import load_settings

jobs_app = typer.Typer(help="List, inspect, cancel and retry jobs.", no_args_is_help=True)
train_app = typer.Typer(help="Train a model as a queued job.", no_args_is_help=True)
infer_app = typer.Typer(help="Run a registered model over catalog objects.",
                        no_args_is_help=True)

WaitOption = Annotated[bool, typer.Option("--wait", help="Show progress until the job ends.")]
LocalOption = Annotated[bool, typer.Option("--local", help="Run in this process, no worker.")]


def worker(
    queues: Annotated[str, typer.Option(help="Comma-separated queues: gpu, cpu.")] = "gpu,cpu",
    concurrency: Annotated[int, typer.Option(help="Worker processes (1 = solo pool).")] = 1,
    name: Annotated[str | None, typer.Option(help="Celery node name.")] = None,
) -> None:
    """Start a worker that pulls jobs from the broker (runs until stopped).

    Example: galcat worker --queues gpu --concurrency 1
    """
    from galcat.workers.worker_main import start_worker

    start_worker(load_settings(), queues.split(","), concurrency, name=name)


@jobs_app.command("list")
def jobs_list(
    limit: Annotated[int, typer.Option(help="Newest N jobs.")] = 20,
    shards: Annotated[bool, typer.Option(help="Include inference shards.")] = False,
) -> None:
    """The newest jobs with their state and progress.

    Example: galcat jobs list --limit 5
    """
    from rich.table import Table

    from galcat.workers.jobs import list_jobs

    table = Table("id", "kind", "state", "progress", "attempts", "message")
    for job in list_jobs(load_settings(), limit=limit, include_shards=shards):
        progress = f"{job.done}/{job.total}" if job.total else ""
        table.add_row(str(job.id), job.kind, job.state, progress, str(job.attempts),
                      (job.error or job.message or "")[:60])
    console.print(table)


@jobs_app.command("show")
def jobs_show(job_id: Annotated[int, typer.Argument(help="Job id.")]) -> None:
    """Everything about one job.

    Example: galcat jobs show 12
    """
    from galcat.workers.jobs import JobError, JobHandle

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
    from galcat.workers.jobs import JobError, cancel

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
    from galcat.workers.jobs import JobError, retry

    try:
        handle = retry(load_settings(), job_id)
    except JobError as exc:
        fail(exc)
    _report(handle, wait)


@train_app.command("toy")
def train_toy(
    seed: Annotated[int, typer.Option(help="Random seed for data and weights.")] = 0,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 20,
    name: Annotated[str, typer.Option(help="Registry name of the model.")] = "toy",
    wait: WaitOption = False,
    local: LocalOption = False,
) -> None:
    """Train the tiny sky-position regressor that exercises the job machinery.

    Example: galcat train toy --seed 1 --wait
    """
    params = {"task": "toy", "seed": seed, "name": name, "config": {"epochs": epochs},
              "command": f"galcat train toy --seed {seed} --epochs {epochs} --name {name}"}
    submit_job("train", params, None, None, wait, local)


@train_app.command("dla")
def train_dla(
    seed: Annotated[int, typer.Option(help="Seed of mocks, weights and shuffling.")] = 1,
    sightlines: Annotated[int, typer.Option(help="Mock training sightlines.")] = 2500,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 4,
    n_eval: Annotated[int, typer.Option(help="Held-out mock sightlines scored.")] = 1000,
    name: Annotated[str, typer.Option(help="Registry name of the model.")] = "dla",
    base: Annotated[str | None, typer.Option(
        "--from", help="Continue training this model (dla@N) on fresh mocks.")] = None,
    learning_rate: Annotated[float | None, typer.Option(
        help="Adam learning rate (default 1e-3).")] = None,
    fresh_each_epoch: Annotated[bool, typer.Option(
        help="Draw --sightlines new mocks for every epoch instead of reusing one set.")] = False,
    log_nhi_loss_weight: Annotated[float | None, typer.Option(
        help="Weight of the log N_HI loss against the classifier's (default 1).")] = None,
    wait: WaitOption = False,
    local: LocalOption = False,
) -> None:
    """Train the DLA finder on seeded mock BOSS sightlines and register it.

    Example: galcat train dla --seed 1 --sightlines 2500 --epochs 4 --local
    (continue one: galcat train dla --from dla@1 --seed 2 --learning-rate 3e-4 --local)
    """
    command = (f"galcat train dla --seed {seed} --sightlines {sightlines} --epochs {epochs} "
               f"--n-eval {n_eval} --name {name}"
               + (f" --from {base}" if base else "")
               + (f" --learning-rate {learning_rate:g}" if learning_rate is not None else "")
               + (" --fresh-each-epoch" if fresh_each_epoch else "")
               + (f" --log-nhi-loss-weight {log_nhi_loss_weight:g}"
                  if log_nhi_loss_weight is not None else ""))
    params = {"task": "dla", "name": name, "n_eval": n_eval, "command": command,
              "recipe": {"seed": seed, "n_train_sightlines": sightlines, "epochs": epochs,
                         "fresh_each_epoch": fresh_each_epoch}}
    if learning_rate is not None:
        params["learning_rate"] = learning_rate
    if log_nhi_loss_weight is not None:
        params["log_nhi_loss_weight"] = log_nhi_loss_weight
    submit_job("train", params, base, None, wait, local)


@train_app.command("dla-calibration")
def train_dla_calibration(
    base: Annotated[str, typer.Option("--from", help="The DLA model to calibrate (dla@N).")],
    sightlines: Annotated[int, typer.Option(help="Mock sightlines to fit on.")] = 4000,
    seed: Annotated[int, typer.Option(help="Seed of those mocks (keep it apart from "
                                      "evaluate's 20181).")] = 777,
    n_eval: Annotated[int, typer.Option(help="Held-out mock sightlines scored.")] = 1000,
    name: Annotated[str, typer.Option(help="Registry name of the new version.")] = "dla",
    wait: WaitOption = False,
    local: LocalOption = False,
) -> None:
    """Fit a DLA model's log N_HI calibration on fresh mocks; register it as a new
    version with the same weights, so its estimates are unbiased against the truth.

    Example: galcat train dla-calibration --from dla@1 --sightlines 4000 --seed 777 --local
    """
    command = (f"galcat train dla-calibration --from {base} --sightlines {sightlines} "
               f"--seed {seed} --n-eval {n_eval} --name {name}")
    params = {"task": "dla_calibration", "name": name, "n_eval": n_eval, "command": command,
              "seed": seed, "n_sightlines": sightlines}
    submit_job("train", params, base, None, wait, local)


@infer_app.command("toy")
def infer_toy(
    model: Annotated[str, typer.Option(help="Model reference: toy, toy@latest, toy@3.")] = "toy",
    where: Annotated[str | None, typer.Option(help="SQL condition on galaxy rows.")] = None,
    shard_size: Annotated[int | None, typer.Option(help="Objects per shard.")] = None,
    wait: WaitOption = False,
    local: LocalOption = False,
) -> None:
    """Predict with the toy regressor for every galaxy matching --where.

    Example: galcat infer toy --model toy@latest --where "dec_deg > 0" --wait
    """
    submit_job("infer", {"task": "toy", "shard_size": shard_size}, model, where, wait, local)


def models_list() -> None:
    """Registered model versions with their training provenance.

    Example: galcat models list
    """
    import sqlalchemy as sa
    from rich.table import Table

    from galcat.catalog.db import get_database
    from galcat.catalog.schema import ModelVersion

    table = Table("model", "task", "weights sha256", "training fingerprint", "created", "command")
    with get_database(load_settings()).new_session() as session:
        for v in session.execute(sa.select(ModelVersion).order_by(ModelVersion.name,
                                                                   ModelVersion.version)).scalars():
            table.add_row(f"{v.name}@{v.version}", v.task, v.weights_sha256[:12],
                          (v.training_fingerprint or "")[:12], f"{v.created_at:%Y-%m-%d %H:%M}",
                          v.command or "")
    console.print(table)


def models_export(
    reference: Annotated[str, typer.Argument(help="Model reference, e.g. dla@1.")],
    out: Annotated[Path, typer.Option(help="Folder for weights + model.json.")],
) -> None:
    """Write a model version's weights and provenance record to a folder (to ship it).

    Example: galcat models export dla@1 --out models/shipped/dla
    """
    from galcat.catalog.db import get_database
    from galcat.catalog.registry import RegistryError
    from galcat.workers.registry import export_model

    settings = load_settings()
    try:
        with get_database(settings).new_session() as session:
            path = export_model(session, settings.artifacts_dir, reference, out)
    except RegistryError as exc:
        fail(exc)
    console.print(f"wrote {path}")


def submit_job(kind: str, params: dict[str, Any], model: str | None, where: str | None,
            wait: bool, local: bool) -> None:
    from galcat.catalog.registry import RegistryError
    from galcat.workers.jobs import JobError, submit

    settings = load_settings()
    try:
        if local:
            from galcat.workers.local import run_locally

            handle = run_locally(settings, kind, params, model=model, where=where)
        else:
            handle = submit(kind, model=model, where=where, parameters=params, settings=settings)
    except (JobError, RegistryError) as exc:
        fail(exc)
    _report(handle, wait or local)


def _report(handle: Any, wait: bool) -> None:
    if not wait:
        console.print(f"job {handle.id} queued; watch it with `galcat jobs show {handle.id}`")
        return
    state = handle.wait(progress=True)
    if state.state != "done":
        errors.print(f"job {handle.id} {state.state}: {state.error or state.message}",
                     markup=False, highlight=False)
        raise typer.Exit(1)
    console.print(f"job {handle.id} done: {state.message or ''}", markup=False)


