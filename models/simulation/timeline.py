"""Continuous toy histories of one simulated galaxy: star formation, gas, stars and dark matter.

Times are cosmic times in Gyr (astropy ``Planck18``), rates in Msun/yr, masses in
Msun. A history is a main-sequence star-formation rate ``S(t) ∝ t^p`` shaped by
three clocks drawn per galaxy: the compaction start ``t_compaction``, the blue-nugget
peak ``t_bn`` (maximum central gas and SFR) and the quenching that follows it.
Central (< 1 kpc) star formation rises from a few per cent of ``S`` to most of it
while the disk's gas flows inwards; after the peak the centre depletes and quenches
inside-out and an outer ring or disk regrows. During the compaction a fraction
``migration`` of the disk's stars moves into the central kiloparsec. Stars are
integrated from the rates, so stellar masses never decrease; mergers add ex-situ stars.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from astropy.cosmology import Planck18

MAJOR_MERGER_RATIO = 0.25
RETURN_FRACTION = 0.3
GYR_YR = 1e9
ACCRETION_FLOOR = 0.3


@functools.lru_cache(maxsize=1)
def _age_table() -> tuple[np.ndarray, np.ndarray]:
    a = np.linspace(0.03, 1.0, 4000)
    return a, np.asarray(Planck18.age(1.0 / a - 1.0).value)


def age_gyr(scale_factor: float | np.ndarray) -> np.ndarray:
    """Cosmic time (Gyr, Planck18) at ``scale_factor`` in [0.03, 1]."""
    a, t = _age_table()
    return np.asarray(np.interp(scale_factor, a, t))


@dataclass(frozen=True)
class Merger:
    """A merger's coalescence time (Gyr), stellar mass ratio, gas content and 3-D orbit axis."""

    time_gyr: float
    mass_ratio: float
    wet: bool
    axis: tuple[float, float, float]

    @property
    def major(self) -> bool:
        return self.mass_ratio > MAJOR_MERGER_RATIO


@dataclass(frozen=True)
class Schedule:
    """The drawn parameters of one galaxy's history (times Gyr, sizes kpc)."""

    history: str
    t_start: float
    t_end: float
    t_compaction: float
    t_bn: float
    bn_width: float
    log_m_star_final: float
    sfr_slope: float
    central_fraction: float
    compaction_strength: float
    disk_suppression: float
    tau_depletion: float
    tau_quench: float
    quench_floor: float
    ring_level: float
    tau_regrow: float
    t_dep_center: float
    t_dep_outer: float
    mass_loading: float
    dm_central_fraction: float
    migration: float
    mergers: tuple[Merger, ...]

    def rise(self, t: np.ndarray) -> np.ndarray:
        """0 before the compaction, smooth step to 1 at the blue-nugget peak."""
        x = np.clip((t - self.t_compaction) / (self.t_bn - self.t_compaction), 0.0, 1.0)
        return x * x * (3.0 - 2.0 * x)

    def bump(self, t: np.ndarray) -> np.ndarray:
        """Central gas/SFR enhancement: rises with the compaction, depletes after the peak."""
        return self.rise(t) * np.exp(-np.maximum(t - self.t_bn, 0.0) / self.tau_depletion)

    def quench(self, t: np.ndarray) -> np.ndarray:
        """1 before the peak, then an exponential fall to ``quench_floor``."""
        decay = np.exp(-np.maximum(t - self.t_bn, 0.0) / self.tau_quench)
        return self.quench_floor + (1.0 - self.quench_floor) * decay

    def regrow(self, t: np.ndarray) -> np.ndarray:
        """0 until the blue-nugget phase ends, then rising to 1: the outer disk or ring."""
        dt = np.maximum(t - self.t_bn - 0.5 * self.bn_width, 0.0)
        return 1.0 - np.exp(-dt / self.tau_regrow)


@dataclass(frozen=True)
class Curves:
    """Histories sampled at times ``t`` (Gyr); rates Msun/yr, masses Msun."""

    t: np.ndarray
    sfr_center: np.ndarray
    sfr_disk: np.ndarray
    sfr_ring: np.ndarray
    gas_center: np.ndarray
    gas_total: np.ndarray
    m_insitu_center: np.ndarray
    m_insitu_total: np.ndarray
    m_exsitu_center: np.ndarray
    m_exsitu_total: np.ndarray
    m_dm_1kpc: np.ndarray
    m_dm_10kpc: np.ndarray
    inflow: np.ndarray
    outflow: np.ndarray

    @property
    def sfr_total(self) -> np.ndarray:
        return self.sfr_center + self.sfr_disk + self.sfr_ring

    def at(self, times: np.ndarray) -> Curves:
        """The same histories, linearly interpolated at ``times`` (Gyr)."""
        fields = {k: np.interp(times, self.t, v) for k, v in vars(self).items() if k != "t"}
        return Curves(t=np.asarray(times, dtype=float), **fields)


def _unit_rates(s: Schedule, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ms = (t / s.t_end) ** s.sfr_slope
    rise, after = s.rise(t), t >= s.t_bn
    center = ms * (s.central_fraction * s.quench(t) + s.compaction_strength * s.bump(t))
    disk_shape = np.where(after, (1.0 - s.disk_suppression) * s.quench(t),
                          1.0 - s.disk_suppression * rise)
    disk = ms * (1.0 - s.central_fraction) * disk_shape
    ring = s.ring_level * (s.t_bn / s.t_end) ** s.sfr_slope * s.regrow(t)
    return center, disk, ring


def _cumulative(y: np.ndarray, t: np.ndarray) -> np.ndarray:
    steps = 0.5 * (y[1:] + y[:-1]) * np.diff(t)
    return np.concatenate([[0.0], np.cumsum(steps)])


def integrate(s: Schedule, n_grid: int = 4000) -> Curves:
    """Rates, gas and cumulative masses on a fine grid from ``t_start`` to ``t_end``."""
    t = np.linspace(s.t_start, s.t_end, n_grid)
    center, disk, ring = _unit_rates(s, t)
    keep = (1.0 - RETURN_FRACTION) * GYR_YR
    seed_mass = keep * s.t_start ** (s.sfr_slope + 1.0) / ((s.sfr_slope + 1.0)
                                                            * s.t_end ** s.sfr_slope)
    m_in = seed_mass + keep * _cumulative(center + disk + ring, t)
    m_in_c = s.central_fraction * seed_mass + keep * _cumulative(center, t)
    outer_at_bn = np.interp(np.minimum(t, s.t_bn), t, m_in - m_in_c)
    m_in_c = m_in_c + s.migration * s.rise(t) * outer_at_bn
    m_ex, m_ex_c = np.zeros_like(t), np.zeros_like(t)
    for m in sorted(s.mergers, key=lambda m: m.time_gyr):
        i = int(np.searchsorted(t, m.time_gyr))
        if i >= t.size:
            continue
        added = m.mass_ratio * (m_in[i] + m_ex[i])
        m_ex[i:] += added
        m_ex_c[i:] += (0.4 if m.major else 0.2) * added
    scale = 10.0 ** s.log_m_star_final / (m_in[-1] + m_ex[-1])

    gas_c = center * s.t_dep_center * GYR_YR
    gas = gas_c + (disk + ring) * s.t_dep_outer * GYR_YR
    sfr = center + disk + ring
    outflow = s.mass_loading * sfr
    inflow = np.maximum(np.gradient(gas, t) / GYR_YR + (1.0 - RETURN_FRACTION) * sfr + outflow,
                        ACCRETION_FLOOR * (t / s.t_end) ** s.sfr_slope)

    dm_final = 10.0 ** (10.8 + 0.4 * (s.log_m_star_final - 10.0))
    grown = np.ones_like(t)
    for m in s.mergers:
        grown += 0.5 * m.mass_ratio * (t >= m.time_gyr)
    m_dm_10 = dm_final * (t / s.t_end) * grown / grown[-1]
    m_dm_1 = m_dm_10 * s.dm_central_fraction * (1.0 + 0.4 * s.rise(t))
    return Curves(t=t, sfr_center=scale * center, sfr_disk=scale * disk, sfr_ring=scale * ring,
                  gas_center=scale * gas_c, gas_total=scale * gas,
                  m_insitu_center=scale * m_in_c, m_insitu_total=scale * m_in,
                  m_exsitu_center=scale * m_ex_c, m_exsitu_total=scale * m_ex,
                  m_dm_1kpc=m_dm_1, m_dm_10kpc=m_dm_10,
                  inflow=scale * inflow, outflow=scale * outflow)


def random_axis(rng: np.random.Generator) -> tuple[float, float, float]:
    """An isotropic random unit vector."""
    z = rng.uniform(-1.0, 1.0)
    phi = rng.uniform(0.0, 2.0 * math.pi)
    r = math.sqrt(1.0 - z * z)
    return (r * math.cos(phi), r * math.sin(phi), z)
