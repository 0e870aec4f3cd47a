"""Alembic migrations: the only owner of galcat's schema."""
