"""Toy histories of simulated galaxies: compaction, blue nugget, quenching, snapshot by snapshot.

In the spirit of the VELA zoom-in simulations (Zolotov et al. 2015; Huertas-Company
et al. 2018, ApJ 858, 114): a gas-rich star-forming disk is compacted into a
"blue nugget" (peak central gas and star formation), which then quenches
inside-out while a disk or ring regrows around it. The compaction is driven by a
gas inflow (``compaction``; minor mergers, if any, far from it, and possibly an
early major merger well before it), by a wet major merger (``merger``, mass ratio
0.25–1, coalescence at the compaction start), or by a gentler, later inflow with
no mergers at all (``quiet``). Snapshots are spaced evenly in scale factor.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from galcat.models.simulation.structure import Vector, draw_morphology, structure
from galcat.models.simulation.timeline import Merger, Schedule, age_gyr, integrate, random_axis

HISTORIES = ("compaction", "merger", "quiet")
PHASES = ("pre-BN", "BN", "post-BN")
CAUSES = ("inflow", "merger")


@dataclass(frozen=True)
class SnapshotTruth:
    """What the simulation knows about one snapshot (log masses in log10 Msun, rates Msun/yr).

    Gas and star formation are inside spheres of 1 and 10 kpc; inflow and outflow
    cross the 10 kpc shell. Ex-situ log masses are 0 while there are no ex-situ stars.
    ``compaction_cause`` is None before the compaction starts; ``time_since_merger_gyr``
    counts from the last major merger (mass ratio > 0.25), None before the first.
    The remaining fields describe the light for rendering (:mod:`.structure`): light
    fractions sum to 1, sizes are kpc, axes are unit vectors in the simulation box.
    """

    snapshot_index: int
    scale_factor: float
    redshift: float
    time_gyr: float
    log_m_dm_1kpc: float
    log_m_dm_10kpc: float
    log_m_star_insitu_1kpc: float
    log_m_star_insitu_10kpc: float
    log_m_star_exsitu_1kpc: float
    log_m_star_exsitu_10kpc: float
    log_m_gas_1kpc: float
    log_m_gas_10kpc: float
    sfr_1kpc_msun_yr: float
    sfr_10kpc_msun_yr: float
    inflow_msun_yr: float
    outflow_msun_yr: float
    phase: str
    compaction_cause: str | None
    time_since_merger_gyr: float | None
    events: tuple[dict[str, Any], ...]
    log_l_opt_lsun: float
    bulge_light_fraction: float
    disk_light_fraction: float
    clump_light_fraction: float
    ring_light_fraction: float
    tidal_light_fraction: float
    nucleus_light_fraction: float
    bulge_r_eff_kpc: float
    bulge_sersic_n: float
    bulge_axis_ratio: float
    disk_scale_kpc: float
    disk_thickness: float
    n_clumps: int
    clump_sigma_kpc: float
    ring_radius_kpc: float
    tidal_length_kpc: float
    nucleus_offset_kpc: float
    disk_offset_kpc: float
    spin_axis: Vector
    merger_axis: Vector

    @property
    def log_m_star_10kpc(self) -> float:
        """log10 of all stars (in situ plus ex situ) within 10 kpc, Msun."""
        return float(np.log10(10.0**self.log_m_star_insitu_10kpc
                              + 10.0**self.log_m_star_exsitu_10kpc))


@dataclass(frozen=True)
class SimulatedGalaxy:
    """One galaxy's history: its snapshots and the blue-nugget time (Gyr) they are scored on."""

    name: str
    history: str
    seed: int
    snapshots: tuple[SnapshotTruth, ...]
    bn_time_gyr: float


def snapshot_record(s: SnapshotTruth) -> dict[str, Any]:
    """A JSON-able dict of every field (tuples become lists)."""
    record = dataclasses.asdict(s)
    record["events"] = [dict(e) for e in s.events]
    record["spin_axis"], record["merger_axis"] = list(s.spin_axis), list(s.merger_axis)
    return record


def _lead_gyr(rng: np.random.Generator, history: str) -> float:
    lo, hi = {"compaction": (0.2, 0.5), "merger": (0.05, 0.2), "quiet": (0.4, 0.8)}[history]
    return float(rng.uniform(lo, hi))


def _draw_mergers(rng: np.random.Generator, history: str, t_start: float, t_end: float,
                  t_compaction: float, t_quiet_end: float) -> tuple[Merger, ...]:
    mergers: list[Merger] = []
    if history == "merger":
        mergers.append(Merger(t_compaction, float(rng.uniform(0.25, 1.0)), True,
                              random_axis(rng)))
        if rng.random() < 0.5 and t_quiet_end + 0.3 < t_end:
            mergers.append(Merger(float(rng.uniform(t_quiet_end + 0.3, t_end)),
                                  float(rng.uniform(0.05, 0.2)), False, random_axis(rng)))
    elif history == "compaction":
        if rng.random() < 0.3 and t_compaction - 1.0 > t_start + 0.1:
            mergers.append(Merger(float(rng.uniform(t_start + 0.1, t_compaction - 1.0)),
                                  float(rng.uniform(0.26, 0.5)), bool(rng.random() < 0.5),
                                  random_axis(rng)))
        for _ in range(int(rng.integers(0, 3))):
            t = float(rng.uniform(t_start, t_end))
            if t < t_compaction - 0.6 or t > t_quiet_end + 0.3:
                mergers.append(Merger(t, float(rng.uniform(0.05, 0.2)), bool(rng.random() < 0.5),
                                      random_axis(rng)))
    return tuple(sorted(mergers, key=lambda m: m.time_gyr))


def _draw_schedule(rng: np.random.Generator, history: str, times: np.ndarray) -> Schedule:
    t_start, t_end = float(times[0]), float(times[-1])
    a_lo, a_hi = (0.27, 0.42) if history == "quiet" else (0.2, 0.38)
    t_bn = float(age_gyr(rng.uniform(a_lo, a_hi)))
    i = int(np.clip(np.searchsorted(times, t_bn), 1, times.size - 1))
    neighbours = 2.0 * max(t_bn - times[i - 1], times[i] - t_bn) + 1e-6
    width = max(float(rng.uniform(0.3, 0.5)), neighbours)
    t_compaction = t_bn - 0.5 * width - _lead_gyr(rng, history)
    strength = {"compaction": (1.5, 3.0), "merger": (2.0, 4.0), "quiet": (0.8, 1.4)}[history]
    suppression = {"compaction": (0.5, 0.8), "merger": (0.6, 0.85), "quiet": (0.3, 0.5)}[history]
    migration = {"compaction": (0.3, 0.5), "merger": (0.4, 0.6), "quiet": (0.2, 0.35)}[history]
    mergers = _draw_mergers(rng, history, t_start, t_end, t_compaction, t_bn + 0.5 * width)
    return Schedule(
        history=history, t_start=t_start, t_end=t_end, t_compaction=t_compaction, t_bn=t_bn,
        bn_width=width, log_m_star_final=float(rng.uniform(9.5, 10.5)),
        sfr_slope=float(rng.uniform(1.5, 2.5)), central_fraction=float(rng.uniform(0.06, 0.14)),
        compaction_strength=float(rng.uniform(*strength)),
        disk_suppression=float(rng.uniform(*suppression)),
        tau_depletion=float(rng.uniform(0.1, 0.25)), tau_quench=float(rng.uniform(0.2, 0.5)),
        quench_floor=float(rng.uniform(0.03, 0.1)), ring_level=float(rng.uniform(0.3, 0.6)),
        tau_regrow=float(rng.uniform(0.3, 0.8)), t_dep_center=float(rng.uniform(0.25, 0.4)),
        t_dep_outer=float(rng.uniform(0.6, 1.2)), mass_loading=float(rng.uniform(0.5, 2.5)),
        dm_central_fraction=float(rng.uniform(0.02, 0.04)),
        migration=float(rng.uniform(*migration)), mergers=mergers)


def _events(s: Schedule) -> list[tuple[float, dict[str, Any]]]:
    half = 0.5 * s.bn_width
    events: list[tuple[float, dict[str, Any]]] = [
        (m.time_gyr, {"type": "merger", "time_gyr": m.time_gyr, "mass_ratio": m.mass_ratio,
                      "wet": m.wet, "major": m.major}) for m in s.mergers]
    events += [(t, {"type": kind, "time_gyr": t}) for t, kind in (
        (s.t_compaction, "compaction_start"), (s.t_bn - half, "bn_start"),
        (s.t_bn, "bn_peak"), (s.t_bn + half, "quenching_start"))]
    return sorted(events, key=lambda e: e[0])


def _log(x: float) -> float:
    return float(np.log10(max(x, 1.0)))


def make_history(name: str, seed: int, history: str = "compaction", *, a_start: float = 0.125,
                 a_end: float = 0.5, da: float = 0.01) -> SimulatedGalaxy:
    """One toy galaxy from scale factor ``a_start`` to ``a_end`` in steps ``da``.

    Fully determined by ``(seed, history)``; ``seed >= 0``.
    """
    if history not in HISTORIES:
        raise ValueError(f"unknown history {history!r}; choose one of {', '.join(HISTORIES)}")
    if not 0.05 <= a_start < a_end <= 1.0 or da <= 0:
        raise ValueError(f"need 0.05 <= a_start < a_end <= 1 and da > 0, got "
                         f"a_start={a_start}, a_end={a_end}, da={da}")
    rng = np.random.default_rng([seed, HISTORIES.index(history)])
    a = a_start + da * np.arange(int(np.floor((a_end - a_start) / da + 1e-9)) + 1)
    times = age_gyr(a)
    schedule = _draw_schedule(rng, history, times)
    morph = draw_morphology(rng)
    c = integrate(schedule).at(times)
    st = structure(schedule, morph, c)
    events = _events(schedule)
    majors = [m.time_gyr for m in schedule.mergers if m.major]
    half = 0.5 * schedule.bn_width
    snapshots = []
    for i, t in enumerate(times):
        lo = times[i - 1] if i else -np.inf
        last_major = max((tm for tm in majors if tm <= t), default=None)
        phase = ("pre-BN" if t < schedule.t_bn - half else
                 "BN" if t <= schedule.t_bn + half else "post-BN")
        cause = None if t < schedule.t_compaction else (
            "merger" if history == "merger" else "inflow")
        snapshots.append(SnapshotTruth(
            snapshot_index=i, scale_factor=float(a[i]), redshift=float(1.0 / a[i] - 1.0),
            time_gyr=float(t),
            log_m_dm_1kpc=_log(c.m_dm_1kpc[i]), log_m_dm_10kpc=_log(c.m_dm_10kpc[i]),
            log_m_star_insitu_1kpc=_log(c.m_insitu_center[i]),
            log_m_star_insitu_10kpc=_log(c.m_insitu_total[i]),
            log_m_star_exsitu_1kpc=_log(c.m_exsitu_center[i]),
            log_m_star_exsitu_10kpc=_log(c.m_exsitu_total[i]),
            log_m_gas_1kpc=_log(c.gas_center[i]), log_m_gas_10kpc=_log(c.gas_total[i]),
            sfr_1kpc_msun_yr=float(c.sfr_center[i]), sfr_10kpc_msun_yr=float(c.sfr_total[i]),
            inflow_msun_yr=float(c.inflow[i]), outflow_msun_yr=float(c.outflow[i]),
            phase=phase, compaction_cause=cause,
            time_since_merger_gyr=None if last_major is None else float(t - last_major),
            events=tuple(e for te, e in events if lo < te <= t),
            log_l_opt_lsun=float(st.log_l_opt_lsun[i]),
            bulge_light_fraction=float(st.bulge_light_fraction[i]),
            disk_light_fraction=float(st.disk_light_fraction[i]),
            clump_light_fraction=float(st.clump_light_fraction[i]),
            ring_light_fraction=float(st.ring_light_fraction[i]),
            tidal_light_fraction=float(st.tidal_light_fraction[i]),
            nucleus_light_fraction=float(st.nucleus_light_fraction[i]),
            bulge_r_eff_kpc=float(st.bulge_r_eff_kpc[i]),
            bulge_sersic_n=float(st.bulge_sersic_n[i]),
            bulge_axis_ratio=float(st.bulge_axis_ratio[i]),
            disk_scale_kpc=float(st.disk_scale_kpc[i]),
            disk_thickness=float(st.disk_thickness[i]), n_clumps=int(st.n_clumps[i]),
            clump_sigma_kpc=float(st.clump_sigma_kpc[i]),
            ring_radius_kpc=float(st.ring_radius_kpc[i]),
            tidal_length_kpc=float(st.tidal_length_kpc[i]),
            nucleus_offset_kpc=float(st.nucleus_offset_kpc[i]),
            disk_offset_kpc=float(st.disk_offset_kpc[i]),
            spin_axis=_vector(st.spin_axis[i]), merger_axis=_vector(st.merger_axis[i])))
    return SimulatedGalaxy(name=name, history=history, seed=seed, snapshots=tuple(snapshots),
                           bn_time_gyr=schedule.t_bn)


def _vector(v: np.ndarray) -> Vector:
    return (float(v[0]), float(v[1]), float(v[2]))
