"""Toy simulated galaxies: histories that keep their physics, cameras, and images that carry it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from galcat.models.galaxy.profile import HST_F160W_64
from galcat.models.galaxy.sersic import mag_to_flux
from galcat.models.simulation.cameras import (
    camera_directions,
    line_of_sight,
    projected_axis_ratio,
)
from galcat.models.simulation.history import (
    HISTORIES,
    PHASES,
    SimulatedGalaxy,
    SnapshotTruth,
    make_history,
    snapshot_record,
)
from galcat.models.simulation.render import render_snapshot

SEEDS = range(8)


@pytest.fixture(scope="module")
def galaxies() -> dict[str, list[SimulatedGalaxy]]:
    return {h: [make_history(f"{h}-{s}", s, h) for s in SEEDS] for h in HISTORIES}


def _series(g: SimulatedGalaxy, field: str) -> np.ndarray:
    return np.array([getattr(s, field) for s in g.snapshots], dtype=float)


def _events(g: SimulatedGalaxy, kind: str) -> list[tuple[int, dict]]:
    return [(s.snapshot_index, e) for s in g.snapshots for e in s.events if e["type"] == kind]


def _bn_peak(g: SimulatedGalaxy) -> SnapshotTruth:
    return max((s for s in g.snapshots if s.phase == "BN"), key=lambda s: s.sfr_1kpc_msun_yr)


def test_same_seed_same_galaxy_and_images_other_seed_differs() -> None:
    a, b = make_history("a", 3, "merger"), make_history("b", 3, "merger")
    assert a.snapshots == b.snapshots and a.bn_time_gyr == b.bn_time_gyr
    other = make_history("c", 4, "merger")
    assert other.bn_time_gyr != a.bn_time_gyr
    assert [s.log_m_star_insitu_10kpc for s in other.snapshots] != [
        s.log_m_star_insitu_10kpc for s in a.snapshots]
    snap = _bn_peak(a)
    first, again = render_snapshot(snap, 3, n_cameras=3), render_snapshot(snap, 3, n_cameras=3)
    assert np.array_equal(first.images, again.images)
    assert not np.array_equal(first.images, render_snapshot(snap, 4, n_cameras=3).images)
    assert not np.array_equal(first.images[0], first.images[1])


def test_unknown_history_names_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match="compaction, merger, quiet"):
        make_history("x", 0, "major-merger")


def test_snapshot_grid_masses_and_redshifts(galaxies: dict[str, list[SimulatedGalaxy]]) -> None:
    for gs in galaxies.values():
        for g in gs:
            z = _series(g, "redshift")
            assert len(g.snapshots) == 38 and z[0] == pytest.approx(7.0)
            assert 0.95 < z[-1] < 1.1 and np.all(np.diff(_series(g, "time_gyr")) > 0)
            assert 9.5 <= g.snapshots[-1].log_m_star_10kpc <= 10.5
            assert g.snapshots[0].time_gyr < g.bn_time_gyr < g.snapshots[-1].time_gyr


def test_every_history_runs_pre_bn_then_bn_then_post_bn(
        galaxies: dict[str, list[SimulatedGalaxy]]) -> None:
    for gs in galaxies.values():
        for g in gs:
            order = [PHASES.index(s.phase) for s in g.snapshots]
            assert order == sorted(order) and set(order) == {0, 1, 2}
            bn_times = [s.time_gyr for s in g.snapshots if s.phase == "BN"]
            assert min(bn_times) <= g.bn_time_gyr <= max(bn_times)


def test_masses_grow_and_the_centre_compacts_then_quenches(
        galaxies: dict[str, list[SimulatedGalaxy]]) -> None:
    growing = ("log_m_star_insitu_1kpc", "log_m_star_insitu_10kpc", "log_m_star_exsitu_1kpc",
               "log_m_star_exsitu_10kpc", "log_m_dm_1kpc", "log_m_dm_10kpc")
    for gs in galaxies.values():
        for g in gs:
            for field in growing:
                assert np.all(np.diff(_series(g, field)) >= 0), field
            for inner, outer in (("log_m_star_insitu_1kpc", "log_m_star_insitu_10kpc"),
                                 ("log_m_gas_1kpc", "log_m_gas_10kpc"),
                                 ("sfr_1kpc_msun_yr", "sfr_10kpc_msun_yr")):
                assert np.all(_series(g, inner) <= _series(g, outer))
            gas, sfr = _series(g, "log_m_gas_1kpc"), _series(g, "sfr_1kpc_msun_yr")
            assert g.snapshots[int(np.argmax(gas))].phase == "BN"
            assert g.snapshots[int(np.argmax(sfr))].phase == "BN"
            assert sfr[-1] < 0.2 * sfr.max()
            sfr10 = _series(g, "sfr_10kpc_msun_yr")
            assert sfr10[-1] < 0.6 * sfr10.max()
            assert np.all(_series(g, "inflow_msun_yr") > 0)
            assert np.all(_series(g, "outflow_msun_yr") > 0)
            light = sum(_series(g, f"{c}_light_fraction") for c in (
                "bulge", "disk", "clump", "ring", "tidal", "nucleus"))
            assert np.allclose(light, 1.0)


def test_compaction_cause_starts_with_the_compaction(
        galaxies: dict[str, list[SimulatedGalaxy]]) -> None:
    for history, gs in galaxies.items():
        expected = "merger" if history == "merger" else "inflow"
        for g in gs:
            (start, _), = _events(g, "compaction_start")
            causes = [s.compaction_cause for s in g.snapshots]
            assert causes == [None] * start + [expected] * (len(causes) - start)


def test_wet_major_merger_triggers_the_merger_compaction(
        galaxies: dict[str, list[SimulatedGalaxy]]) -> None:
    for g in galaxies["merger"]:
        (start, _), = _events(g, "compaction_start")
        majors = [(i, e) for i, e in _events(g, "merger") if e["major"]]
        assert majors and majors[0][0] <= start
        assert majors[0][1]["wet"] and 0.25 < majors[0][1]["mass_ratio"] <= 1.0
        assert _bn_peak(g).tidal_light_fraction > 0.02
        since = [s.time_since_merger_gyr for s in g.snapshots]
        assert since[:majors[0][0]] == [None] * majors[0][0]
        tail = slice(majors[0][0], None)
        assert np.allclose(np.diff(np.array(since[tail], dtype=float)),
                           np.diff(_series(g, "time_gyr")[tail]))


def test_quiet_galaxies_have_no_mergers(galaxies: dict[str, list[SimulatedGalaxy]]) -> None:
    for g in galaxies["quiet"]:
        assert _events(g, "merger") == []
        assert all(s.time_since_merger_gyr is None for s in g.snapshots)
        assert np.all(_series(g, "log_m_star_exsitu_10kpc") == 0.0)
        assert np.all(_series(g, "tidal_light_fraction") == 0.0)


def test_inflow_compactions_keep_major_mergers_far_away(
        galaxies: dict[str, list[SimulatedGalaxy]]) -> None:
    for g in galaxies["compaction"]:
        (start, _), = _events(g, "compaction_start")
        t_start = g.snapshots[start].time_gyr
        for i, e in _events(g, "merger"):
            assert (e["time_gyr"] < t_start - 0.6
                    or g.snapshots[i].phase == "post-BN"), e


def test_snapshot_record_is_json() -> None:
    g = make_history("j", 1, "merger")
    for s in g.snapshots:
        back = json.loads(json.dumps(snapshot_record(s)))
        assert back["phase"] == s.phase and back["snapshot_index"] == s.snapshot_index
        assert len(back["spin_axis"]) == 3 and isinstance(back["events"], list)


def test_cameras_cover_the_sphere_evenly() -> None:
    theta, phi = camera_directions(20)
    assert np.array_equal(theta, camera_directions(20)[0])
    v = line_of_sight(theta, phi)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0)
    assert np.linalg.norm(v.mean(axis=0)) < 0.05
    separation = np.degrees(np.arccos(np.clip(v @ v.T, -1.0, 1.0)))[np.triu_indices(20, 1)]
    assert separation.min() > 30.0
    assert np.all((theta >= 0) & (theta <= 180)) and np.all((phi >= 0) & (phi < 360))


def test_projected_disk_flattens_with_inclination() -> None:
    incl = np.linspace(0.0, 90.0, 10)
    q = projected_axis_ratio(incl, 0.25)
    assert q[0] == pytest.approx(1.0) and q[-1] == pytest.approx(0.25)
    assert np.all(np.diff(q) < 0)


def _moment_axis_ratio(image: np.ndarray) -> float:
    yy, xx = np.mgrid[: image.shape[0], : image.shape[1]]
    w = np.clip(image, 0.0, None) / np.clip(image, 0.0, None).sum()
    dx, dy = xx - (w * xx).sum(), yy - (w * yy).sum()
    cov = [[(w * dx * dx).sum(), (w * dx * dy).sum()], [(w * dx * dy).sum(), (w * dy * dy).sum()]]
    low, high = np.linalg.eigvalsh(cov)
    return float(np.sqrt(low / high))


def test_images_flatten_with_inclination_and_conserve_flux() -> None:
    g = make_history("disk", 2, "quiet")
    snap = [s for s in g.snapshots if s.phase == "post-BN"][4]
    r = render_snapshot(snap, 2, keep_noise_free=True)
    assert r.images.shape == (20, 64, 64) and r.images.dtype == np.float32
    assert r.noise_free is not None
    measured = np.array([_moment_axis_ratio(im) for im in r.noise_free])
    assert np.corrcoef(measured, r.inclination_deg)[0, 1] < -0.8
    flux = float(mag_to_flux(r.mag_ab, r.zero_point))
    clean = r.noise_free.sum(axis=(1, 2))
    assert np.all((clean > 0.9 * flux) & (clean <= 1.0001 * flux))
    sums = r.images.sum(axis=(1, 2))
    sum_sigma = r.sky_sigma * HST_F160W_64.size_px
    assert np.all(np.abs(sums - clean.mean()) < 5.0 * sum_sigma + 0.03 * flux)
    lo, hi = HST_F160W_64.psf_fwhm_arcsec
    assert np.all((r.psf_fwhm_arcsec >= lo) & (r.psf_fwhm_arcsec <= hi))
    assert np.median(r.snr) > 20.0


def _central_share(images: np.ndarray, kpc_per_pixel: float) -> float:
    yy, xx = np.mgrid[: images.shape[1], : images.shape[2]]
    c = (images.shape[1] - 1) / 2.0
    r_kpc = np.hypot(xx - c, yy - c) * kpc_per_pixel
    return float(np.mean(images[:, r_kpc < 1.0].sum(axis=1) / images[:, r_kpc < 8.0].sum(axis=1)))


@pytest.mark.parametrize("history", HISTORIES)
def test_blue_nuggets_are_more_concentrated_than_their_progenitors(history: str) -> None:
    for seed in (0, 1):
        g = make_history("c", seed, history)
        before = [s for s in g.snapshots if s.compaction_cause is None][-1]
        peak = _bn_peak(g)
        pre, bn = render_snapshot(before, seed, n_cameras=8), render_snapshot(peak, seed,
                                                                             n_cameras=8)
        assert (_central_share(bn.images, bn.kpc_per_pixel)
                > _central_share(pre.images, pre.kpc_per_pixel) + 0.05)
