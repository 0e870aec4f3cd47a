"""Simulated galaxies carry their physical history: masses within 1 and 10 kpc by
component, star formation, gas inflow and outflow, the cause of the compaction and the
time since the last major merger; cameras their inclination; phase predictions the
probability of each phase, of a merger-driven compaction, and the time since a merger

The three summary columns of a snapshot (``log_mstar``, ``log_mgas``,
``sfr_msun_per_yr``) give way to the explicit ones (never filled before this revision);
``p_pre / p_compaction / p_post`` are renamed after the phases they score.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 18:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SNAPSHOT_COLUMNS = (
    'scale_factor', 'log_m_dm_1kpc', 'log_m_dm_10kpc', 'log_m_star_insitu_1kpc',
    'log_m_star_insitu_10kpc', 'log_m_star_exsitu_1kpc', 'log_m_star_exsitu_10kpc',
    'log_m_gas_1kpc', 'log_m_gas_10kpc', 'sfr_1kpc_msun_yr', 'sfr_10kpc_msun_yr',
    'inflow_msun_yr', 'outflow_msun_yr',
)
OLD_SNAPSHOT_COLUMNS = ('log_mstar', 'log_mgas', 'sfr_msun_per_yr')
PHASE_RENAMES = (('p_pre', 'p_pre_bn'), ('p_compaction', 'p_bn'), ('p_post', 'p_post_bn'))
PHASE_COLUMNS = ('p_merger_cause', 'time_since_merger_gyr', 'time_since_merger_err_gyr')


def upgrade() -> None:
    with op.batch_alter_table('simulation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolution_pc', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('manifest_sha256', sa.String(length=64), nullable=True))
    with op.batch_alter_table('snapshot', schema=None) as batch_op:
        for name in OLD_SNAPSHOT_COLUMNS:
            batch_op.drop_column(name)
        for name in SNAPSHOT_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('compaction_cause', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('time_since_merger_gyr', sa.Double(), nullable=True))
    with op.batch_alter_table('camera', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inclination_deg', sa.Double(), nullable=True))
    with op.batch_alter_table('phase_prediction', schema=None) as batch_op:
        for old, new in PHASE_RENAMES:
            batch_op.alter_column(old, new_column_name=new)
        for name in PHASE_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('phase_prediction', schema=None) as batch_op:
        for name in reversed(PHASE_COLUMNS):
            batch_op.drop_column(name)
        for old, new in PHASE_RENAMES:
            batch_op.alter_column(new, new_column_name=old)
    with op.batch_alter_table('camera', schema=None) as batch_op:
        batch_op.drop_column('inclination_deg')
    with op.batch_alter_table('snapshot', schema=None) as batch_op:
        batch_op.drop_column('time_since_merger_gyr')
        batch_op.drop_column('compaction_cause')
        for name in reversed(SNAPSHOT_COLUMNS):
            batch_op.drop_column(name)
        for name in OLD_SNAPSHOT_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Double(), nullable=True))
    with op.batch_alter_table('simulation', schema=None) as batch_op:
        batch_op.drop_column('manifest_sha256')
        batch_op.drop_column('resolution_pc')
