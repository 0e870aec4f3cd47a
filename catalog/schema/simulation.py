"""Simulated galaxies: one simulation, its time steps and viewing angles."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from galcat.catalog.schema.base import Base, JSONType


class Simulation(Base):
    """A simulated galaxy (e.g. one VELA run)."""

    __tablename__ = "simulation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    code: Mapped[str | None] = mapped_column(sa.String(64))
    description: Mapped[str | None] = mapped_column(sa.Text)
    resolution_pc: Mapped[float | None]
    manifest_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    extra: Mapped[dict[str, Any] | None]


class Snapshot(Base):
    """One time step of a simulation. Masses in log10 solar masses within a sphere of 1 or
    10 kpc; rates in solar masses per year (inflow and outflow through the 10 kpc shell);
    ``time_gyr`` is cosmic time; ``events`` lists what happened since the previous step."""

    __tablename__ = "snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    simulation_id: Mapped[int] = mapped_column(sa.ForeignKey("simulation.id", ondelete="CASCADE"))
    snapshot_index: Mapped[int]
    scale_factor: Mapped[float | None]
    redshift: Mapped[float] = mapped_column(index=True)
    time_gyr: Mapped[float | None]
    log_m_dm_1kpc: Mapped[float | None]
    log_m_dm_10kpc: Mapped[float | None]
    log_m_star_insitu_1kpc: Mapped[float | None]
    log_m_star_insitu_10kpc: Mapped[float | None]
    log_m_star_exsitu_1kpc: Mapped[float | None]
    log_m_star_exsitu_10kpc: Mapped[float | None]
    log_m_gas_1kpc: Mapped[float | None]
    log_m_gas_10kpc: Mapped[float | None]
    sfr_1kpc_msun_yr: Mapped[float | None]
    sfr_10kpc_msun_yr: Mapped[float | None]
    inflow_msun_yr: Mapped[float | None]
    outflow_msun_yr: Mapped[float | None]
    phase: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    compaction_cause: Mapped[str | None] = mapped_column(sa.String(16))
    time_since_merger_gyr: Mapped[float | None]
    events: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)

    __table_args__ = (sa.UniqueConstraint("simulation_id", "snapshot_index"),)


class Camera(Base):
    """One viewing angle of a snapshot (angles in degrees, in the simulation box frame)."""

    __tablename__ = "camera"

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(sa.ForeignKey("snapshot.id", ondelete="CASCADE"))
    camera_index: Mapped[int]
    theta_deg: Mapped[float | None]
    phi_deg: Mapped[float | None]
    inclination_deg: Mapped[float | None]
    """Angle between the line of sight and the galaxy's spin axis (0 = face-on)."""

    __table_args__ = (sa.UniqueConstraint("snapshot_id", "camera_index"),)
