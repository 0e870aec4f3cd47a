"""DLA absorbers carry a calibrated z uncertainty and the probability of being a DLA

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 12:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('dla_absorber', schema=None) as batch_op:
        batch_op.add_column(sa.Column('z_dla_err', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('p_dla', sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('dla_absorber', schema=None) as batch_op:
        batch_op.drop_column('p_dla')
        batch_op.drop_column('z_dla_err')
