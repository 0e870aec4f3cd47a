"""The simulated galaxy's figure (after Huertas-Company+2018, Fig. of VELA galaxies):
network probabilities against redshift, a thin line per camera and heavy medians over
cameras, above panels of the masses and the rates within 1 and 10 kpc; the true phases
shaded and the mergers marked."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from galcat.catalog.db import Database
from galcat.catalog.registry import resolve
from galcat.catalog.schema import (
    Camera,
    Image,
    ModelVersion,
    Morphology,
    PhasePrediction,
    Simulation,
    Snapshot,
)

PHASE_COLOURS = {"pre-BN": "#dbe9f6", "BN": "#fde0c5", "post-BN": "#e5f5e0"}
MORPHOLOGY = (("p_bulge", "bulge", "tab:red"), ("p_disk", "disk", "tab:blue"),
              ("p_bulge_disk", "bulge+disk", "tab:green"))
PHASES = (("p_pre_bn", "pre-BN", "tab:blue"), ("p_bn", "BN", "tab:orange"),
          ("p_post_bn", "post-BN", "tab:green"))
MASSES = (("log_m_star_insitu", "stars in situ", "tab:red"),
          ("log_m_star_exsitu", "stars ex situ", "tab:purple"),
          ("log_m_gas", "gas", "tab:blue"), ("log_m_dm", "dark matter", "0.3"))


class FigureError(ValueError):
    """The figure cannot be drawn (no such simulation, no predictions)."""


@dataclass(frozen=True)
class Curves:
    """Per-camera probabilities: ``values[name]`` is (n_cameras, n_snapshots), NaN where a
    camera has no prediction; ``model`` names the model version."""

    model: str
    values: dict[str, np.ndarray]


@dataclass(frozen=True)
class SimulationHistory:
    """One simulated galaxy's snapshots (sorted by time) and the predictions on its cameras."""

    name: str
    redshift: np.ndarray
    snapshots: list[dict[str, Any]]
    morphology: Curves | None
    phases: Curves | None


def read_history(db: Database, name: str, morphology_model: str | None = None,
                 phase_model: str | None = None) -> SimulationHistory:
    """The snapshots of simulation ``name`` and the predictions of the given model versions
    (default: the newest version that predicted on its cameras)."""
    with db.new_session() as session:
        sim_id = session.execute(sa.select(Simulation.id).where(Simulation.name == name)
                                 ).scalar_one_or_none()
        if sim_id is None:
            known = session.execute(sa.select(Simulation.name).order_by(Simulation.name)
                                    .limit(10)).scalars().all()
            raise FigureError(f"no simulation {name!r} in the catalogue"
                              + (f" (there are: {', '.join(known)})" if known else ""))
        rows = session.execute(sa.select(Snapshot).where(Snapshot.simulation_id == sim_id)
                               .order_by(Snapshot.redshift.desc())).scalars().all()
        snapshots = [{c.name: getattr(r, c.name) for c in Snapshot.__table__.columns}
                     for r in rows]
        index = {s["id"]: i for i, s in enumerate(snapshots)}
        morphology = _curves(session, Morphology, [m[0] for m in MORPHOLOGY], sim_id, index,
                             morphology_model)
        phases = _curves(session, PhasePrediction, [p[0] for p in PHASES], sim_id, index,
                         phase_model)
    redshift = np.array([s["redshift"] for s in snapshots], float)
    return SimulationHistory(name, redshift, snapshots, morphology, phases)


def _curves(session: Session, table: Any, columns: list[str], sim_id: int,
            index: dict[int, int], reference: str | None) -> Curves | None:
    on_cameras = (sa.select(table.model_version_id)
                  .join(Image, Image.id == table.image_id)
                  .join(Camera, Camera.id == Image.camera_id)
                  .join(Snapshot, Snapshot.id == Camera.snapshot_id)
                  .where(Snapshot.simulation_id == sim_id))
    version: ModelVersion | None
    if reference is not None:
        version = resolve(session, reference)
    else:
        newest = session.execute(on_cameras.order_by(table.model_version_id.desc()).limit(1)
                                 ).scalar_one_or_none()
        if newest is None:
            return None
        version = session.get(ModelVersion, newest)
        if version is None:
            return None
    rows = session.execute(
        sa.select(Camera.camera_index, Camera.snapshot_id, *[getattr(table, c) for c in columns])
        .join(Image, Image.camera_id == Camera.id)
        .join(table, table.image_id == Image.id)
        .join(Snapshot, Snapshot.id == Camera.snapshot_id)
        .where(Snapshot.simulation_id == sim_id, table.model_version_id == version.id)).all()
    if not rows:
        raise FigureError(f"{version.name}@{version.version} has no predictions on the "
                          "cameras of this simulation; run `galcat infer` on them first")
    cameras = sorted({r[0] for r in rows})
    slot = {c: i for i, c in enumerate(cameras)}
    values = {c: np.full((len(cameras), len(index)), np.nan) for c in columns}
    for row in rows:
        for k, column in enumerate(columns):
            values[column][slot[row[0]], index[row[1]]] = row[2 + k]
    return Curves(f"{version.name}@{version.version}", values)


def plot_history(history: SimulationHistory, out: Path) -> Path:
    """Draw the figure of ``history`` into ``out`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [c for c in (history.morphology, history.phases) if c is not None]
    if not panels:
        raise FigureError(f"no predictions on the cameras of {history.name}: run "
                          "`galcat infer morphology --where \"camera_id IS NOT NULL\"` first")
    heights = [2.2] * len(panels) + [1.6, 1.6]
    fig, axes = plt.subplots(len(heights), 1, figsize=(7.5, sum(heights) + 0.8), sharex=True,
                             gridspec_kw={"height_ratios": heights})
    z = history.redshift
    for ax, curves in zip(axes, panels, strict=False):
        legend = MORPHOLOGY if curves is history.morphology else PHASES
        for column, label, colour in legend:
            values = curves.values[column]
            for line in values:
                ax.plot(z, line, color=colour, lw=0.5, alpha=0.25)
            with np.errstate(all="ignore"):
                ax.plot(z, np.nanmedian(values, axis=0), color=colour, lw=2.6, label=label)
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel("probability")
        ax.set_title(f"{curves.model}: {curves.values[legend[0][0]].shape[0]} cameras "
                     "(thin), median (heavy)", fontsize=9, loc="left")
        ax.legend(fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 0.98), ncol=3,
                  frameon=False)
    _masses(axes[len(panels)], history)
    _rates(axes[len(panels) + 1], history)
    for ax in axes:
        _phases_and_events(ax, history)
    axes[-1].set_xlabel("redshift")
    axes[-1].invert_xaxis()
    fig.suptitle(f"{history.name}\nshading: the true phase (pre-BN blue, BN orange, "
                 "post-BN green); black lines: mergers (solid: major)", fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def _column(history: SimulationHistory, name: str) -> np.ndarray:
    return np.array([np.nan if s[name] is None else s[name] for s in history.snapshots], float)


def _masses(ax: Any, history: SimulationHistory) -> None:
    for stem, label, colour in MASSES:
        for radius, style in (("1kpc", "-"), ("10kpc", "--")):
            values = _column(history, f"{stem}_{radius}")
            ax.plot(history.redshift, np.where(values > 0, values, np.nan), style,
                    color=colour, lw=1.4, label=f"{label}" if radius == "1kpc" else None)
    ax.set_ylabel("log M / M$_\\odot$")
    ax.set_title("masses within 1 kpc (solid) and 10 kpc (dashed)", fontsize=9, loc="left")
    ax.legend(fontsize=7, ncol=4, loc="lower right", frameon=False)


def _rates(ax: Any, history: SimulationHistory) -> None:
    for name, label, colour, style in (
            ("sfr_1kpc_msun_yr", "SFR < 1 kpc", "tab:red", "-"),
            ("sfr_10kpc_msun_yr", "SFR < 10 kpc", "tab:red", "--"),
            ("inflow_msun_yr", "gas inflow", "tab:blue", "-"),
            ("outflow_msun_yr", "gas outflow", "tab:cyan", "-")):
        values = _column(history, name)
        ax.plot(history.redshift, np.where(values > 0, values, np.nan), style, color=colour,
                lw=1.4, label=label)
    ax.set_yscale("log")
    ax.set_ylabel("M$_\\odot$ / yr")
    ax.set_title("rates (inflow and outflow through 10 kpc)", fontsize=9, loc="left")
    ax.legend(fontsize=7, ncol=4, loc="lower right", frameon=False)


def _phases_and_events(ax: Any, history: SimulationHistory) -> None:
    z = history.redshift
    edges = np.concatenate([[z[0]], (z[1:] + z[:-1]) / 2, [z[-1]]]) if len(z) > 1 else \
        np.array([z[0], z[0]])
    for i, snap in enumerate(history.snapshots):
        colour = PHASE_COLOURS.get(snap["phase"] or "")
        if colour:
            ax.axvspan(edges[i], edges[i + 1], color=colour, lw=0, zorder=0)
        for event in snap["events"] or []:
            if event.get("type") == "merger":
                ratio = event.get("mass_ratio")
                major = ratio is not None and ratio > 0.25
                ax.axvline(z[i], color="k", lw=1.2 if major else 0.6,
                           ls="-" if major else ":", zorder=1)
