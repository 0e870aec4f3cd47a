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


class Galaxy(Base):
    """A source with a sky position (ICRS degrees) and survey identifiers."""

    __tablename__ = "galaxy"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(sa.ForeignKey("survey.id", ondelete="RESTRICT"))
    external_id: Mapped[str] = mapped_column(sa.String(64))
    ra_deg: Mapped[float] = mapped_column(sa.Float(53))
    dec_deg: Mapped[float] = mapped_column(sa.Float(53))
    healpix_29: Mapped[int] = mapped_column(sa.BigInteger, index=True)
    z_spec: Mapped[float | None] = mapped_column(index=True)
    z_phot: Mapped[float | None] = mapped_column(index=True)
    z_phot_err: Mapped[float | None]
    log_mstar: Mapped[float | None] = mapped_column(index=True)
    mag_ab: Mapped[float | None]
    extra: Mapped[dict[str, Any] | None]

    __table_args__ = (
        sa.UniqueConstraint("survey_id", "external_id"),
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
