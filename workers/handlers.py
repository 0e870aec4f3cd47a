"""Which function runs each job kind: the one explicit table a worker is started with.

A kind is its spec class (:mod:`galcat.workers.queue.specs`) and its handler,
``run(ctx, spec)``. Inference kinds fan out into ``infer_shard`` jobs, which look their
task up in :data:`INFERENCE_TASKS`. :func:`handlers` adds kinds from another module
(``JOB_KINDS`` and ``INFERENCE_TASKS`` in it), which is how tests and benches run their
toy jobs on real workers without shipping them. :data:`CHORES` is the housekeeping a
worker's reaper does besides re-queueing.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from functools import partial

from galcat.workers.dla.calibration import calibrate_dla
from galcat.workers.dla.inference import DLA_TASK
from galcat.workers.dla.training import train_dla
from galcat.workers.environment.learned import (
    REDSHIFT_TASK,
    infer_environment,
    learned_tile,
    train_environment,
)
from galcat.workers.environment.measure import measure_environment
from galcat.workers.environment.tiles import SORT_TASK, run_sort, run_tile, sort_tile
from galcat.workers.galaxy.finetune import finetune_morphology
from galcat.workers.galaxy.inference import MORPHOLOGY_TASK, SERSIC_TASK
from galcat.workers.galaxy.training import train_morphology, train_sersic
from galcat.workers.ingest.files import fan_out_files, run_ingest_shard
from galcat.workers.queue.runner import JobKind, handler_table
from galcat.workers.queue.sharding import InferenceTask, fan_out, run_shard
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
    MeasureEnvironment,
    RedshiftTile,
    SortRedshifts,
    TapQuery,
    TrainDla,
    TrainEnvironment,
    TrainMorphology,
    TrainPhases,
    TrainSersic,
)
from galcat.workers.simulation.inference import PHASES_TASK
from galcat.workers.simulation.training import train_phases
from galcat.workers.tap_query import run_tap_query, sweep_expired_answers

INFERENCE_TASKS: dict[str, InferenceTask] = {
    "dla": DLA_TASK, "sersic": SERSIC_TASK, "morphology": MORPHOLOGY_TASK,
    "phases": PHASES_TASK}
TRAINING_KINDS = (
    JobKind(TrainDla, train_dla),
    JobKind(CalibrateDla, calibrate_dla),
    JobKind(TrainSersic, train_sersic),
    JobKind(TrainMorphology, train_morphology),
    JobKind(FinetuneMorphology, finetune_morphology),
    JobKind(TrainPhases, train_phases),
    JobKind(TrainEnvironment, train_environment),
)
REDSHIFT_METHODS = {SORT_TASK: sort_tile, REDSHIFT_TASK: learned_tile}
ENVIRONMENT_KINDS = (
    JobKind(SortRedshifts, run_sort),
    JobKind(InferEnvironment, infer_environment),
    JobKind(RedshiftTile, partial(run_tile, REDSHIFT_METHODS)),
    JobKind(MeasureEnvironment, measure_environment),
)
INFERENCE_KINDS = (InferDla, InferSersic, InferMorphology, InferPhases)


def handlers(extra_kinds: Sequence[JobKind] = (),
             extra_tasks: Mapping[str, InferenceTask] | None = None) -> dict[str, JobKind]:
    """The handler table: galcat's kinds, plus ``extra_kinds`` whose shards run
    ``extra_tasks``."""
    tasks = {**INFERENCE_TASKS, **(extra_tasks or {})}
    return handler_table([
        *TRAINING_KINDS,
        *(JobKind(spec, partial(fan_out, INFERENCE_TASKS[spec.task])) for spec in INFERENCE_KINDS),
        JobKind(InferShard, partial(run_shard, tasks)),
        *ENVIRONMENT_KINDS,
        JobKind(TapQuery, run_tap_query),
        JobKind(IngestFiles, fan_out_files),
        JobKind(IngestShard, run_ingest_shard),
        *extra_kinds,
    ])


def handlers_with(module_names: Sequence[str]) -> dict[str, JobKind]:
    """The handler table with the kinds of each named module added (``JOB_KINDS``, and
    ``INFERENCE_TASKS`` if it has inference); a module that does not import is an error."""
    kinds: list[JobKind] = []
    tasks: dict[str, InferenceTask] = {}
    for name in module_names:
        module = importlib.import_module(name)
        kinds += list(module.JOB_KINDS)
        tasks.update(getattr(module, "INFERENCE_TASKS", {}))
    return handlers(kinds, tasks)


HANDLERS = handlers()
CHORES = (sweep_expired_answers,)
"""Housekeeping every worker's reaper runs on each pass."""
