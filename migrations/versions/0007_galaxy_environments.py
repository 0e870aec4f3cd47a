"""Galaxy environments: a galaxy's photo-z error; redshifts recovered per method version
(SORT, learned) and the environment measured from them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 07:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _keys() -> list[sa.Column]:
    return [
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('model_version_id', sa.Integer(), nullable=False),
        sa.Column('galaxy_id', sa.Integer(), nullable=False),
    ]


def _constraints(table: str) -> list[sa.Constraint]:
    return [
        sa.ForeignKeyConstraint(['galaxy_id'], ['galaxy.id'], name=op.f(f'fk_{table}_galaxy_id_galaxy'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['model_version_id'], ['model_version.id'],
                                name=op.f(f'fk_{table}_model_version_id_model_version'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{table}')),
        sa.UniqueConstraint('model_version_id', 'galaxy_id',
                            name=op.f(f'uq_{table}_model_version_id_galaxy_id')),
    ]


def upgrade() -> None:
    with op.batch_alter_table('galaxy', schema=None) as batch_op:
        batch_op.add_column(sa.Column('z_phot_err', sa.Double(), nullable=True))
    op.create_table(
        'redshift_estimate', *_keys(),
        sa.Column('z', sa.Double(), nullable=True),
        sa.Column('z_err', sa.Double(), nullable=True),
        sa.Column('z_draw', sa.Double(), nullable=True),
        sa.Column('n_values', sa.Integer(), nullable=False),
        sa.Column('is_reference', sa.Boolean(), nullable=False),
        *_constraints('redshift_estimate'))
    op.create_index(op.f('ix_redshift_estimate_galaxy_id'), 'redshift_estimate', ['galaxy_id'])
    op.create_table(
        'environment_measure', *_keys(),
        sa.Column('z_used', sa.Double(), nullable=True),
        sa.Column('cylinder_count', sa.Integer(), nullable=True),
        sa.Column('nth_neighbour_mpc_h', sa.Double(), nullable=True),
        *_constraints('environment_measure'))
    op.create_index(op.f('ix_environment_measure_galaxy_id'), 'environment_measure',
                    ['galaxy_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_environment_measure_galaxy_id'), table_name='environment_measure')
    op.drop_table('environment_measure')
    op.drop_index(op.f('ix_redshift_estimate_galaxy_id'), table_name='redshift_estimate')
    op.drop_table('redshift_estimate')
    with op.batch_alter_table('galaxy', schema=None) as batch_op:
        batch_op.drop_column('z_phot_err')
