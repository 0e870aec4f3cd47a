"""A pg_sphere sky index on galaxy and sightline positions, for ADQL geometry over TAP.

On PostgreSQL, where the pg_sphere extension is installed on the server and the
migrating role may create it, the extension is created and each positional table gets
a GiST index on ``spoint(radians(ra_deg), radians(dec_deg))``, the expression
queryparser's ADQL translation tests. Elsewhere (SQLite, or no pg_sphere) nothing
changes and TAP says what ADQL geometry needs.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 10:30:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ('galaxy', 'sightline')


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    available = bind.exec_driver_sql(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_sphere'").first()
    if available is None:
        return
    savepoint = bind.begin_nested()
    try:
        bind.exec_driver_sql('CREATE EXTENSION IF NOT EXISTS pg_sphere')
        savepoint.commit()
    except Exception:
        savepoint.rollback()
        return
    for table in TABLES:
        op.execute(f'CREATE INDEX IF NOT EXISTS ix_{table}_sky_spoint ON {table} '
                   'USING gist (spoint(radians(ra_deg), radians(dec_deg)))')


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in TABLES:
        op.execute(f'DROP INDEX IF EXISTS ix_{table}_sky_spoint')
