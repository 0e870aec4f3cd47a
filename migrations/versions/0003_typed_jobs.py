"""typed jobs: one kind per job spec; the toy regressor's table goes

Job rows of the untyped era (kind ``train`` or ``infer`` with the science in
``parameters['task']``) are rewritten to the typed kinds (``train_dla``,
``infer_sersic``, ...) with their parameters renamed as the specs name them, so
``galcat jobs`` shows them, and a queued one still runs. ``scalar_prediction`` held
only the toy regressor's answers, which are test scaffolding now.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 12:00:00
"""
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOB = sa.table("job", sa.column("id", sa.Integer), sa.column("kind", sa.String),
               sa.column("parameters", sa.JSON), sa.column("model_version_id", sa.Integer))
MODEL_VERSION = sa.table("model_version", sa.column("id", sa.Integer),
                         sa.column("name", sa.String), sa.column("version", sa.Integer))
MODEL_FIELD = {"train_dla": "base", "calibrate_dla": "base", "finetune_morphology": "base",
               "infer_dla": "model", "infer_sersic": "model", "infer_morphology": "model"}
"""Where a typed spec names the model its job row points to (``model_version_id``)."""
TRAIN_KINDS = {"dla": "train_dla", "dla_calibration": "calibrate_dla",
               "sersic": "train_sersic", "morphology": "train_morphology"}
RECIPE_NAMES = {"n_train_sightlines": "sightlines", "n_validation_sightlines":
                "validation_sightlines"}
DROPPED = ("task", "command", "throttle_s", "shard_queue", "recipe", "config")


def _typed(kind: str, params: dict[str, Any], model: str | None) -> tuple[str, dict[str, Any]]:
    task = params.get("task")
    if kind == "infer_shard":
        return kind, {k: v for k, v in params.items() if k in ("task", "object_ids")}
    if kind == "infer" and task:
        kind = f"infer_{task}"
    elif kind == "train" and task:
        kind = "finetune_morphology" if task == "morphology" and params.get("labels") \
            else TRAIN_KINDS.get(str(task), f"train_{task}")
    else:
        return kind, params
    out = {k: v for k, v in params.items() if k not in DROPPED}
    for key, value in (params.get("recipe") or {}).items():
        if key != "network":
            out[RECIPE_NAMES.get(key, key)] = value
    for key, value in (params.get("config") or {}).items():
        out[key] = value
    if kind == "calibrate_dla" and "n_sightlines" in out:
        out["sightlines"] = out.pop("n_sightlines")
    if model is not None and kind in MODEL_FIELD:
        out[MODEL_FIELD[kind]] = model
    return kind, out


def _untyped(kind: str, params: dict[str, Any], model: str | None) -> tuple[str, dict[str, Any]]:
    if kind.startswith("infer_") and kind != "infer_shard":
        return "infer", {**params, "task": kind.removeprefix("infer_")}
    for task, typed in TRAIN_KINDS.items():
        if kind == typed:
            return "train", {**params, "task": task}
    if kind == "finetune_morphology":
        return "train", {**params, "task": "morphology"}
    return kind, params


def _rewrite(convert: Any) -> None:
    connection = op.get_bind()
    models = {r.id: f"{r.name}@{r.version}" for r in connection.execute(
        sa.select(MODEL_VERSION.c.id, MODEL_VERSION.c.name, MODEL_VERSION.c.version))}
    for row in connection.execute(sa.select(JOB.c.id, JOB.c.kind, JOB.c.parameters,
                                            JOB.c.model_version_id)).all():
        kind, params = convert(row.kind, dict(row.parameters or {}),
                               models.get(row.model_version_id))
        if kind != row.kind or params != (row.parameters or {}):
            connection.execute(sa.update(JOB).where(JOB.c.id == row.id)
                               .values(kind=kind, parameters=params))


def upgrade() -> None:
    _rewrite(_typed)
    with op.batch_alter_table('scalar_prediction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scalar_prediction_galaxy_id'))
    op.drop_table('scalar_prediction')


def downgrade() -> None:
    op.create_table('scalar_prediction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.Column('galaxy_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['galaxy_id'], ['galaxy.id'], name=op.f('fk_scalar_prediction_galaxy_id_galaxy'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_version.id'], name=op.f('fk_scalar_prediction_model_version_id_model_version'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scalar_prediction')),
    sa.UniqueConstraint('model_version_id', 'galaxy_id', name=op.f('uq_scalar_prediction_model_version_id_galaxy_id'))
    )
    with op.batch_alter_table('scalar_prediction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scalar_prediction_galaxy_id'), ['galaxy_id'], unique=False)
    _rewrite(_untyped)
