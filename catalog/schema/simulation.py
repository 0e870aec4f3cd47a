"""Simulated galaxies: one simulation, its time steps and viewing angles."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from galcat.catalog.schema.base import Base


class Simulation(Base):
    """A simulated galaxy (e.g. one VELA run)."""

    __tablename__ = "simulation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    code: Mapped[str | None] = mapped_column(sa.String(64))
    description: Mapped[str | None] = mapped_column(sa.Text)
    extra: Mapped[dict[str, Any] | None]


class Snapshot(Base):
    """One time step of a simulation; masses in log10 solar masses."""

    __tablename__ = "snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    simulation_id: Mapped[int] = mapped_column(sa.ForeignKey("simulation.id", ondelete="CASCADE"))
    snapshot_index: Mapped[int]
    redshift: Mapped[float] = mapped_column(index=True)
    time_gyr: Mapped[float | None]
    log_mstar: Mapped[float | None]
    log_mgas: Mapped[float | None]
    sfr_msun_per_yr: Mapped[float | None]
    phase: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    events: Mapped[dict[str, Any] | None]

    __table_args__ = (sa.UniqueConstraint("simulation_id", "snapshot_index"),)


class Camera(Base):
    """One viewing angle of a snapshot (degrees)."""

    __tablename__ = "camera"

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(sa.ForeignKey("snapshot.id", ondelete="CASCADE"))
    camera_index: Mapped[int]
    theta_deg: Mapped[float | None]
    phi_deg: Mapped[float | None]

    __table_args__ = (sa.UniqueConstraint("snapshot_id", "camera_index"),)
