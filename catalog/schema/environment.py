"""Galaxy environments: redshifts recovered by a method version (SORT or a learned
network) and the environment measured from them, one row per (version, galaxy)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from galcat.catalog.schema.base import Base


def _model_version_fk() -> Mapped[int]:
    return mapped_column(sa.ForeignKey("model_version.id", ondelete="CASCADE"))


def _galaxy_fk() -> Mapped[int]:
    return mapped_column(sa.ForeignKey("galaxy.id", ondelete="CASCADE"), index=True)


class RedshiftEstimate(Base):
    """One method version's redshift for one galaxy: the median of its recovered values,
    their half 16–84 % width (or the posterior σ), and one realisation that keeps the
    clustering (``z_draw``); reference galaxies keep their spectroscopic redshift."""

    __tablename__ = "redshift_estimate"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = _model_version_fk()
    galaxy_id: Mapped[int] = _galaxy_fk()
    z: Mapped[float | None]
    z_err: Mapped[float | None]
    z_draw: Mapped[float | None]
    n_values: Mapped[int]
    is_reference: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (sa.UniqueConstraint("model_version_id", "galaxy_id"),)


class EnvironmentMeasure(Base):
    """Local environment of one galaxy from the redshifts one version chose: galaxies in
    a cylinder (comoving radius, ± velocity depth; the galaxy itself not counted) and the
    comoving distance to the n-th nearest neighbour, in h⁻¹ Mpc."""

    __tablename__ = "environment_measure"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = _model_version_fk()
    galaxy_id: Mapped[int] = _galaxy_fk()
    z_used: Mapped[float | None]
    cylinder_count: Mapped[int | None]
    nth_neighbour_mpc_h: Mapped[float | None]

    __table_args__ = (sa.UniqueConstraint("model_version_id", "galaxy_id"),)
