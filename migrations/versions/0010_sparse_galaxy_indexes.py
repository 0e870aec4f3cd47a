"""Galaxy's z_spec, z_phot and log_mstar indexes hold only the rows with a value.

Many catalogues have no photo-z or stellar mass and most galaxies no spec-z; a full
index still took one null entry per row loaded, which made a fresh ``COPY`` slower.
A partial index (``WHERE column IS NOT NULL``) serves every comparison on the column.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 19:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("z_spec", "z_phot", "log_mstar")


def upgrade() -> None:
    for column in COLUMNS:
        condition = sa.text(f"{column} IS NOT NULL")
        op.drop_index(f"ix_galaxy_{column}", table_name="galaxy")
        op.create_index(f"ix_galaxy_{column}", "galaxy", [column], unique=False,
                        postgresql_where=condition, sqlite_where=condition)


def downgrade() -> None:
    for column in COLUMNS:
        op.drop_index(f"ix_galaxy_{column}", table_name="galaxy")
        op.create_index(f"ix_galaxy_{column}", "galaxy", [column], unique=False)
