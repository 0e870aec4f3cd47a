"""Surveys and the positional tables: galaxies and quasar sightlines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from galcat.catalog.schema.base import Base, utcnow


class Survey(Base):
    """An instrument + band, or a spectrograph, or a simulation suite."""

    __tablename__ = "survey"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(16), default="catalog")
    band: Mapped[str | None] = mapped_column(sa.String(32))
    pixel_scale_arcsec: Mapped[float | None]
    zero_point_mag: Mapped[float | None]
    psf_fwhm_arcsec: Mapped[float | None]
    resolution: Mapped[float | None]
    description: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        sa.CheckConstraint(
            "kind IN ('catalog', 'imaging', 'spectroscopy', 'simulation', 'mock')", name="kind"
        ),
    )


SPARSE_GALAXY_COLUMNS = ("z_spec", "z_phot", "log_mstar")
"""Galaxy columns that many catalogues leave empty, indexed only where they hold a value."""


def present_values_index(table: str, column: str) -> sa.Index:
    """An index of ``column`` over the rows where it is not null (``ix_<table>_<column>``).

    A comparison on the column (``z_spec BETWEEN …``, ``z_spec IS NOT NULL``) uses it on
    both backends; rows loaded without the column add no entry to it, where a full index
    took one per row (``python -m bench foundation`` shows what each index costs)."""
    condition = sa.text(f"{column} IS NOT NULL")
    return sa.Index(f"ix_{table}_{column}", column, postgresql_where=condition,
                    sqlite_where=condition)


class Galaxy(Base):
    """A source with a sky position (ICRS degrees) and survey identifiers."""

    __tablename__ = "galaxy"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(sa.ForeignKey("survey.id", ondelete="RESTRICT"))
    external_id: Mapped[str] = mapped_column(sa.String(64))
    ra_deg: Mapped[float] = mapped_column(sa.Float(53))
    dec_deg: Mapped[float] = mapped_column(sa.Float(53))
    healpix_29: Mapped[int] = mapped_column(sa.BigInteger, index=True)
    z_spec: Mapped[float | None]
    z_phot: Mapped[float | None]
    z_phot_err: Mapped[float | None]
    log_mstar: Mapped[float | None]
    mag_ab: Mapped[float | None]
    extra: Mapped[dict[str, Any] | None]

    __table_args__ = (
        sa.UniqueConstraint("survey_id", "external_id"),
        *(present_values_index("galaxy", c) for c in SPARSE_GALAXY_COLUMNS),
        sa.CheckConstraint("dec_deg BETWEEN -90 AND 90", name="dec_range"),
        sa.CheckConstraint("ra_deg >= 0 AND ra_deg < 360", name="ra_range"),
    )


class Sightline(Base):
    """A quasar line of sight; its spectra are rows of ``spectrum``."""

    __tablename__ = "sightline"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(sa.ForeignKey("survey.id", ondelete="RESTRICT"))
    external_id: Mapped[str] = mapped_column(sa.String(64))
    plate: Mapped[int | None]
    mjd: Mapped[int | None]
    fiber: Mapped[int | None]
    thing_id: Mapped[int | None] = mapped_column(sa.BigInteger, index=True)
    ra_deg: Mapped[float] = mapped_column(sa.Float(53))
    dec_deg: Mapped[float] = mapped_column(sa.Float(53))
    healpix_29: Mapped[int] = mapped_column(sa.BigInteger, index=True)
    z_qso: Mapped[float | None] = mapped_column(index=True)
    extra: Mapped[dict[str, Any] | None]

    __table_args__ = (
        sa.UniqueConstraint("survey_id", "external_id"),
        sa.Index("ix_sightline_plate_mjd_fiber", "plate", "mjd", "fiber"),
        sa.CheckConstraint("dec_deg BETWEEN -90 AND 90", name="dec_range"),
        sa.CheckConstraint("ra_deg >= 0 AND ra_deg < 360", name="ra_range"),
    )
