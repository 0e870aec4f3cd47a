"""scalar predictions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 22:14:18.734247
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
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



def downgrade() -> None:
    with op.batch_alter_table('scalar_prediction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scalar_prediction_galaxy_id'))

    op.drop_table('scalar_prediction')
