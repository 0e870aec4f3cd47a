"""Pixel blobs are stored uncompressed on PostgreSQL (STORAGE EXTERNAL)

Floating-point pixels do not compress; PostgreSQL's default for large bytea values
(EXTENDED) still tries pglz on every one, which made spectrum ingest three times slower.
EXTERNAL keeps them out of line (TOAST) without compression. SQLite has no such setting.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 15:10:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BLOBS = {
    'spectrum_pixels': ('loglam', 'flux', 'ivar', 'mask'),
    'image_pixels': ('data', 'rms', 'psf'),
}


def _set_storage(storage: str) -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table, columns in BLOBS.items():
        for column in columns:
            op.execute(f'ALTER TABLE {table} ALTER COLUMN {column} SET STORAGE {storage}')


def upgrade() -> None:
    _set_storage('EXTERNAL')


def downgrade() -> None:
    _set_storage('EXTENDED')
