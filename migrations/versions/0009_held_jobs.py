"""A job may be ``held``: written but not yet queued (an IVOA UWS job in phase PENDING,
as TAP's asynchronous queries start).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 10:05:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = "'queued', 'running', 'done', 'failed', 'cancelled'"


def _states(allowed: str) -> None:
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_job_state'), type_='check')
        batch_op.create_check_constraint(op.f('ck_job_state'), f"state IN ({allowed})")


def upgrade() -> None:
    _states(f"'held', {STATES}")


def downgrade() -> None:
    op.execute("UPDATE job SET state = 'cancelled' WHERE state = 'held'")
    _states(STATES)
