"""Structural parameters a renderer needs, derived from a toy galaxy's history.

Light is rest-frame optical in Lsun from a two-population mass-to-light ratio:
stars older than ~100 Myr at ``M/L = 1.2``, rising by 40% per Gyr after the blue
nugget as the quenched populations fade, the last 100 Myr of star formation at
``M/L = 0.125`` (so ``8e8 Lsun`` per Msun/yr). The light is split into a compact
spheroid (central stars, central star formation and ex-situ stars), an exponential
disk, star-forming clumps in the disk, a star-forming ring (after the blue nugget),
tidal features and a second nucleus (a companion before coalescence). A major merger
of mass ratio ``mu`` heats the disk: its intrinsic thickness moves a fraction ``0.5 mu``
of the way to round, and leaves the disk off-centre (``disk_offset_kpc`` along the
merger axis) while its tidal features fade. Sizes in kpc.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from galcat.models.simulation.timeline import Curves, Schedule, random_axis

OLD_MASS_TO_LIGHT = 1.2
FADING_PER_GYR = 0.4
YOUNG_LIGHT_PER_SFR = 8e8
NUCLEUS_CONTACT_KPC = 1.5
MERGER_HEATING = 0.5

Vector = tuple[float, float, float]


@dataclass(frozen=True)
class Morphology:
    """A galaxy's drawn structural constants (kpc, Gyr, dimensionless shares)."""

    disk_scale_kpc: float
    bulge_r_eff_kpc: float
    bulge_shrink: float
    bulge_axis_ratio: float
    thickness_pre: float
    thickness_post: float
    clump_share: float
    max_clumps: int
    clump_sigma_kpc: float
    ring_radius_factor: float
    tidal_share: float
    tau_tidal_gyr: float
    tidal_length_kpc: float
    approach_gyr: float
    sink_gyr: float
    approach_offset_kpc: float
    lopsided_kpc: float
    spin_axis: Vector


def draw_morphology(rng: np.random.Generator) -> Morphology:
    """Random structural constants of one galaxy."""
    return Morphology(
        disk_scale_kpc=rng.uniform(1.5, 2.5), bulge_r_eff_kpc=rng.uniform(0.8, 1.3),
        bulge_shrink=rng.uniform(0.35, 0.55), bulge_axis_ratio=rng.uniform(0.75, 0.95),
        thickness_pre=rng.uniform(0.3, 0.45), thickness_post=rng.uniform(0.18, 0.3),
        clump_share=rng.uniform(0.4, 0.7), max_clumps=int(rng.integers(4, 11)),
        clump_sigma_kpc=rng.uniform(0.3, 0.5), ring_radius_factor=rng.uniform(2.0, 3.0),
        tidal_share=rng.uniform(0.3, 0.45), tau_tidal_gyr=rng.uniform(0.6, 1.2),
        tidal_length_kpc=rng.uniform(2.0, 4.0), approach_gyr=rng.uniform(0.2, 0.35),
        sink_gyr=rng.uniform(0.25, 0.5), approach_offset_kpc=rng.uniform(4.0, 8.0),
        lopsided_kpc=rng.uniform(0.6, 1.2), spin_axis=random_axis(rng))


@dataclass(frozen=True)
class Structure:
    """Per-snapshot structure (arrays of one value per snapshot; axes ``(n, 3)``)."""

    log_l_opt_lsun: np.ndarray
    bulge_light_fraction: np.ndarray
    disk_light_fraction: np.ndarray
    clump_light_fraction: np.ndarray
    ring_light_fraction: np.ndarray
    tidal_light_fraction: np.ndarray
    nucleus_light_fraction: np.ndarray
    bulge_r_eff_kpc: np.ndarray
    bulge_sersic_n: np.ndarray
    bulge_axis_ratio: np.ndarray
    disk_scale_kpc: np.ndarray
    disk_thickness: np.ndarray
    n_clumps: np.ndarray
    clump_sigma_kpc: np.ndarray
    ring_radius_kpc: np.ndarray
    tidal_length_kpc: np.ndarray
    nucleus_offset_kpc: np.ndarray
    disk_offset_kpc: np.ndarray
    spin_axis: np.ndarray
    merger_axis: np.ndarray


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _mergers(s: Schedule, m: Morphology, t: np.ndarray) -> dict[str, np.ndarray]:
    """Tidal light share, tidal length, nucleus share and offset, spin and merger axes."""
    tidal, length = np.zeros_like(t), np.zeros_like(t)
    nucleus, offset, heating = np.zeros_like(t), np.zeros_like(t), np.zeros_like(t)
    lopsided = np.zeros_like(t)
    spin = np.tile(np.asarray(m.spin_axis), (t.size, 1))
    axis = np.tile([0.0, 0.0, 1.0], (t.size, 1))
    for g in sorted(s.mergers, key=lambda g: g.time_gyr):
        since = t - g.time_gyr
        share = m.tidal_share * math.sqrt(g.mass_ratio)
        after = since >= 0.0
        fading = np.where(after, np.exp(-np.maximum(since, 0.0) / m.tau_tidal_gyr), 0.0)
        tidal += share * fading
        started = since >= (-m.approach_gyr if g.major else 0.0)
        length = np.where(started, m.tidal_length_kpc * (1.0 + np.maximum(since, 0.0) / 0.5),
                          length)
        axis[started] = g.axis
        if not g.major:
            continue
        light = g.mass_ratio / (1.0 + g.mass_ratio)
        heating += np.where(after, MERGER_HEATING * g.mass_ratio, 0.0)
        lopsided += m.lopsided_kpc * math.sqrt(g.mass_ratio) * fading
        approach = (since < 0.0) & (since >= -m.approach_gyr)
        x_in = 1.0 + since / m.approach_gyr
        tidal += np.where(approach, 0.5 * share * x_in, 0.0)
        nucleus = np.where(approach, 0.8 * light, nucleus)
        offset = np.where(approach, m.approach_offset_kpc
                          - (m.approach_offset_kpc - NUCLEUS_CONTACT_KPC) * x_in, offset)
        sinking = after & (since < m.sink_gyr)
        x_out = since / m.sink_gyr
        nucleus = np.where(sinking, 0.5 * light * (1.0 - x_out), np.where(after, 0.0, nucleus))
        offset = np.where(sinking, NUCLEUS_CONTACT_KPC * (1.0 - x_out),
                          np.where(after, 0.0, offset))
        tilted = _unit(np.asarray(spin[-1]) + 0.8 * g.mass_ratio * np.asarray(g.axis))
        spin[after] = tilted
    return {"tidal": np.minimum(tidal, 0.4), "length": length, "nucleus": nucleus,
            "offset": offset, "spin": spin, "axis": axis, "heating": np.minimum(heating, 1.0),
            "lopsided": lopsided}


def structure(s: Schedule, m: Morphology, c: Curves) -> Structure:
    """Structure at the times of ``c`` (the histories sampled at the snapshots)."""
    t = c.t
    rise, regrow = s.rise(t), s.regrow(t)
    post = np.maximum(t - s.t_bn, 0.0)
    old_mass_to_light = OLD_MASS_TO_LIGHT * (1.0 + FADING_PER_GYR * post)
    bulge = (YOUNG_LIGHT_PER_SFR * c.sfr_center
             + (c.m_insitu_center + c.m_exsitu_total) / old_mass_to_light)
    disk_young = YOUNG_LIGHT_PER_SFR * c.sfr_disk
    clumps = m.clump_share * (1.0 - 0.8 * rise) * disk_young
    disk = (c.m_insitu_total - c.m_insitu_center) / old_mass_to_light + disk_young - clumps
    ring = YOUNG_LIGHT_PER_SFR * c.sfr_ring
    host = bulge + disk + clumps + ring
    merge = _mergers(s, m, t)
    rest = (1.0 - merge["tidal"] - merge["nucleus"]) / host

    m_star = c.m_insitu_total + c.m_exsitu_total
    exsitu_share = c.m_exsitu_total / m_star
    r_bulge = (m.bulge_r_eff_kpc * (m_star / 1e10) ** 0.2 * (1.0 - (1.0 - m.bulge_shrink) * rise)
               * (1.0 + 0.3 * post) * (1.0 + exsitu_share))
    thickness = m.thickness_pre + (m.thickness_post - m.thickness_pre) * regrow
    h = m.disk_scale_kpc * (c.m_insitu_total / 1e10) ** 0.15 * (1.0 + 0.3 * regrow)
    n_clumps = np.where(clumps > 0.0, np.rint(m.max_clumps * (1.0 - 0.8 * rise)), 0)
    return Structure(
        log_l_opt_lsun=np.log10(host),
        bulge_light_fraction=bulge * rest, disk_light_fraction=disk * rest,
        clump_light_fraction=clumps * rest, ring_light_fraction=ring * rest,
        tidal_light_fraction=merge["tidal"], nucleus_light_fraction=merge["nucleus"],
        bulge_r_eff_kpc=r_bulge, bulge_sersic_n=1.2 + 2.3 * rise + 0.6 * regrow,
        bulge_axis_ratio=0.6 + (m.bulge_axis_ratio - 0.6) * rise,
        disk_scale_kpc=h,
        disk_thickness=thickness + (1.0 - thickness) * merge["heating"],
        n_clumps=n_clumps.astype(int), clump_sigma_kpc=np.full_like(t, m.clump_sigma_kpc),
        ring_radius_kpc=m.ring_radius_factor * h, tidal_length_kpc=merge["length"],
        nucleus_offset_kpc=merge["offset"], disk_offset_kpc=merge["lopsided"],
        spin_axis=merge["spin"], merger_axis=merge["axis"])
