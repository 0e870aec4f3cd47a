"""Typed prediction tables: one model version's answer for one object."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from galcat.catalog.schema.base import Base


def _model_version_fk() -> Mapped[int]:
    return mapped_column(sa.ForeignKey("model_version.id", ondelete="CASCADE"))


class SightlineSearch(Base):
    """Where one model version looked for absorbers along one sightline."""

    __tablename__ = "sightline_search"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = _model_version_fk()
    sightline_id: Mapped[int] = mapped_column(
        sa.ForeignKey("sightline.id", ondelete="CASCADE"), index=True
    )
    z_min: Mapped[float]
    z_max: Mapped[float]
    snr: Mapped[float | None]
    n_absorbers: Mapped[int] = mapped_column(default=0)

    __table_args__ = (sa.UniqueConstraint("model_version_id", "sightline_id"),)


class DlaAbsorber(Base):
    """One absorber found by one model version along one sightline."""

    __tablename__ = "dla_absorber"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = _model_version_fk()
    sightline_id: Mapped[int] = mapped_column(
        sa.ForeignKey("sightline.id", ondelete="CASCADE"), index=True
    )
    absorber_index: Mapped[int]
    z_dla: Mapped[float] = mapped_column(index=True)
    log_nhi: Mapped[float] = mapped_column(index=True)
    log_nhi_err: Mapped[float | None]
    z_dla_err: Mapped[float | None]
    p_dla: Mapped[float | None]
    confidence: Mapped[float]
    type: Mapped[str] = mapped_column(sa.String(8))

    __table_args__ = (
        sa.UniqueConstraint("model_version_id", "sightline_id", "absorber_index"),
        sa.CheckConstraint("type IN ('DLA', 'SUBDLA', 'LYB')", name="type"),
    )


class Morphology(Base):
    """CANDELS-style fractions and bulge/disk probabilities for one image."""

    __tablename__ = "morphology"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = _model_version_fk()
    image_id: Mapped[int] = mapped_column(sa.ForeignKey("image.id", ondelete="CASCADE"), index=True)
    f_spheroid: Mapped[float]
    f_disk: Mapped[float]
    f_irr: Mapped[float]
    f_ps: Mapped[float]
    f_unc: Mapped[float]
    p_bulge: Mapped[float] = mapped_column(index=True)
    p_disk: Mapped[float] = mapped_column(index=True)
    p_bulge_disk: Mapped[float]
    out_of_profile: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (sa.UniqueConstraint("model_version_id", "image_id"),)


class SersicFit(Base):
    """Single-Sérsic parameters (GALFIT conventions) for one image."""

    __tablename__ = "sersic_fit"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = _model_version_fk()
    image_id: Mapped[int] = mapped_column(sa.ForeignKey("image.id", ondelete="CASCADE"), index=True)
    mag: Mapped[float]
    mag_err: Mapped[float | None]
    r_eff_arcsec: Mapped[float]
    r_eff_err: Mapped[float | None]
    sersic_n: Mapped[float]
    sersic_n_err: Mapped[float | None]
    axis_ratio: Mapped[float]
    axis_ratio_err: Mapped[float | None]
    pa_deg: Mapped[float]
    out_of_profile: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (sa.UniqueConstraint("model_version_id", "image_id"),)


class PhasePrediction(Base):
    """Predicted evolutionary phase of a simulated galaxy image."""

    __tablename__ = "phase_prediction"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = _model_version_fk()
    image_id: Mapped[int] = mapped_column(sa.ForeignKey("image.id", ondelete="CASCADE"), index=True)
    phase: Mapped[str] = mapped_column(sa.String(32))
    p_pre_bn: Mapped[float]
    p_bn: Mapped[float]
    p_post_bn: Mapped[float]
    p_merger_cause: Mapped[float | None]
    """Probability that the compaction was caused by a merger rather than a gas inflow."""
    time_since_merger_gyr: Mapped[float | None]
    time_since_merger_err_gyr: Mapped[float | None]

    __table_args__ = (sa.UniqueConstraint("model_version_id", "image_id"),)
