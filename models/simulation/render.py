"""Mock HST F160W-like images of a simulated snapshot seen by many cameras.

Each camera sees the same 3-D galaxy (:class:`SnapshotTruth`): an oblate disk
(exponential, intrinsic thickness ``disk_thickness``), a nearly round spheroid,
clumps and a ring placed in the disk plane; tidal streaks, a second nucleus and
the disk's post-merger offset along the last merger's axis; all projected on that
camera's sky. Components are drawn with
:func:`galcat.models.galaxy.render.render_scene`; zero point, pixel scale, PSF range
and noise model (Gaussian sky of a 1σ surface-brightness limit drawn in
the profile's range) are those of :data:`HST_F160W_64`, as in the galaxy mocks.

Light to flux: ``m_AB = M_sun - 2.5 log10(L) + DM(z) - 2.5 log10(1 + z) + K`` with
``L`` the snapshot's rest-optical luminosity (Lsun), Planck18 distance modulus and a
constant colour term ``K``; sizes in kpc become pixels through Planck18's
angular-diameter distance. The luminosity distance and the ``(1 + z)`` bandwidth term
give the cosmological surface-brightness dimming.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from astropy.cosmology import Planck18

from galcat.models.galaxy.profile import HST_F160W_64, ImagingProfile
from galcat.models.galaxy.render import GaussianComponent, SersicComponent, render_scene
from galcat.models.galaxy.sersic import mag_to_flux
from galcat.models.simulation import cameras as cam
from galcat.models.simulation.history import SnapshotTruth

SUN_ABS_MAG_AB = 4.8
COLOUR_TERM_MAG = -1.5
RING_KNOTS = 16
EXPONENTIAL_R_EFF_PER_SCALE = 1.678
MIN_SIZE_PX = 0.05


@dataclass(frozen=True)
class RenderedSnapshot:
    """Images ``(n_cameras, size, size)`` float32 in profile flux units, with their cameras.

    Angles in degrees; ``inclination_deg`` is 0 face-on, 90 edge-on; ``pa_deg`` is the
    disk's major axis east of north. ``snr`` is half the flux over the noise in the
    smallest area holding half the (PSF-convolved) light.
    """

    snapshot_index: int
    images: np.ndarray
    theta_deg: np.ndarray
    phi_deg: np.ndarray
    inclination_deg: np.ndarray
    pa_deg: np.ndarray
    psf_fwhm_arcsec: np.ndarray
    sky_sigma: np.ndarray
    snr: np.ndarray
    zero_point: float
    mag_ab: float
    kpc_per_pixel: float
    noise_free: np.ndarray | None = None


@functools.lru_cache(maxsize=512)
def _distances(redshift: float) -> tuple[float, float]:
    kpc_per_arcsec = float(Planck18.kpc_proper_per_arcmin(redshift).value) / 60.0
    return float(Planck18.distmod(redshift).value), kpc_per_arcsec


def apparent_mag(s: SnapshotTruth) -> float:
    """Total AB magnitude (F160W-like) of the snapshot's light."""
    distmod, _ = _distances(s.redshift)
    return (SUN_ABS_MAG_AB - 2.5 * s.log_l_opt_lsun + distmod
            - 2.5 * math.log10(1.0 + s.redshift) + COLOUR_TERM_MAG)


def kpc_per_pixel(s: SnapshotTruth, profile: ImagingProfile = HST_F160W_64) -> float:
    """Proper kpc per pixel at the snapshot's redshift."""
    return _distances(s.redshift)[1] * profile.pixel_scale_arcsec


@dataclass(frozen=True)
class _Layout:
    """Camera-independent 3-D placements (kpc) and fluxes of the clumps, ring knots, streaks."""

    clump_xyz: np.ndarray
    clump_flux: np.ndarray
    knot_xyz: np.ndarray
    knot_flux: np.ndarray
    tail_centres: np.ndarray
    tail_dirs: np.ndarray
    tail_flux: np.ndarray


def _layout(s: SnapshotTruth, flux: float, rng: np.random.Generator) -> _Layout:
    spin = np.asarray(s.spin_axis)
    u, w = cam.disk_plane(spin)
    h = s.disk_scale_kpc
    r = h * rng.uniform(0.3, 2.5, s.n_clumps)
    a = rng.uniform(0.0, 2.0 * np.pi, s.n_clumps)
    height = rng.normal(0.0, s.disk_thickness * h * 0.5, s.n_clumps)
    clumps = (r[:, None] * (np.cos(a)[:, None] * u + np.sin(a)[:, None] * w)
              + height[:, None] * spin)
    shares = rng.dirichlet(np.full(s.n_clumps, 2.0)) if s.n_clumps else np.zeros(0)
    b = 2.0 * np.pi * (np.arange(RING_KNOTS) + rng.random()) / RING_KNOTS
    knots = s.ring_radius_kpc * (np.cos(b)[:, None] * u + np.sin(b)[:, None] * w)
    knot_share = rng.gamma(4.0, 0.25, RING_KNOTS)
    axis = np.asarray(s.merger_axis)
    tangent = np.cross(spin, axis)
    if np.linalg.norm(tangent) < 1e-3:
        tangent = u
    tangent = tangent / np.linalg.norm(tangent)
    bend = rng.uniform(0.5, 1.2)
    dirs = np.stack([axis + bend * tangent, -axis + bend * tangent])
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    length = s.tidal_length_kpc
    centres = np.stack([0.6 * length * dirs[0], 0.45 * length * dirs[1]])
    split = rng.uniform(0.55, 0.75)
    return _Layout(clumps, flux * s.clump_light_fraction * shares, knots,
                   flux * s.ring_light_fraction * knot_share / knot_share.sum(),
                   centres, dirs, flux * s.tidal_light_fraction * np.array([split, 1 - split]))


def _scene(s: SnapshotTruth, lay: _Layout, flux: float, los: np.ndarray, x_axis: np.ndarray,
           y_axis: np.ndarray, centre: tuple[float, float], kpc_px: float,
           ) -> tuple[list[SersicComponent], list[GaussianComponent]]:
    spin = np.asarray(s.spin_axis)
    incl = float(cam.inclination_deg(los[None], spin)[0])
    pa = float(cam.disk_position_angle_deg(los[None], spin, x_axis[None], y_axis[None])[0])
    cx, cy = centre

    def at(xyz: np.ndarray) -> np.ndarray:
        return cam.project(xyz, x_axis, y_axis) / kpc_px + np.array([cx, cy])

    shift = s.disk_offset_kpc * np.asarray(s.merger_axis)
    (dx, dy), = at(shift[None])
    sersics = [
        SersicComponent(float(dx), float(dy), flux * s.disk_light_fraction,
                        max(EXPONENTIAL_R_EFF_PER_SCALE * s.disk_scale_kpc / kpc_px, MIN_SIZE_PX),
                        1.0, float(cam.projected_axis_ratio(incl, s.disk_thickness)), pa),
        SersicComponent(cx, cy, flux * s.bulge_light_fraction,
                        max(s.bulge_r_eff_kpc / kpc_px, MIN_SIZE_PX), s.bulge_sersic_n,
                        float(cam.projected_axis_ratio(incl, s.bulge_axis_ratio)), pa)]
    if s.tidal_light_fraction > 1e-3:
        for (x, y), d, f in zip(at(lay.tail_centres), lay.tail_dirs, lay.tail_flux, strict=True):
            major, q, tail_pa = cam.elongated(d, 0.5 * s.tidal_length_kpc,
                                              0.12 * s.tidal_length_kpc, x_axis, y_axis)
            sersics.append(SersicComponent(float(x), float(y), float(f),
                                           max(major / kpc_px, MIN_SIZE_PX), 0.7, q, tail_pa))
    sigma_clump = s.clump_sigma_kpc / kpc_px
    gaussians = [GaussianComponent(float(x), float(y), float(f), sigma_clump)
                 for (x, y), f in zip(at(lay.clump_xyz + shift), lay.clump_flux, strict=True)]
    if s.ring_light_fraction > 1e-3:
        sigma_knot = 0.8 * math.pi * s.ring_radius_kpc / RING_KNOTS / kpc_px
        gaussians += [GaussianComponent(float(x), float(y), float(f), sigma_knot)
                      for (x, y), f in zip(at(lay.knot_xyz + shift), lay.knot_flux, strict=True)]
    if s.nucleus_light_fraction > 1e-3:
        (x, y), = at(s.nucleus_offset_kpc * np.asarray(s.merger_axis)[None])
        sigma = (0.25 + 0.1 * s.nucleus_offset_kpc) / kpc_px
        gaussians.append(GaussianComponent(float(x), float(y),
                                           flux * s.nucleus_light_fraction, sigma))
    return sersics, gaussians


def _half_light_snr(clean: np.ndarray, sigma: float) -> float:
    flat = np.sort(clean.ravel())[::-1]
    total = flat.sum()
    if total <= 0:
        return 0.0
    area = int(np.searchsorted(np.cumsum(flat), 0.5 * total)) + 1
    return float(0.5 * total / (sigma * math.sqrt(area)))


def render_snapshot(snapshot: SnapshotTruth, seed: int, *, n_cameras: int = 20,
                    profile: ImagingProfile = HST_F160W_64, rel_tol: float = 1e-2,
                    keep_noise_free: bool = False) -> RenderedSnapshot:
    """The snapshot seen by ``n_cameras`` Fibonacci cameras, with PSF and sky noise.

    Random draws (clump and knot placement, PSF FWHM, noise level, sub-pixel centre,
    noise) depend only on ``(seed, snapshot_index)`` and the camera; ``rel_tol`` is the
    renderer's per-pixel accuracy, far below the noise.
    """
    s = snapshot
    zp = profile.magzero_default
    mag = apparent_mag(s)
    flux = float(mag_to_flux(mag, zp))
    kpc_px = kpc_per_pixel(s, profile)
    theta, phi = cam.camera_directions(n_cameras)
    los = cam.line_of_sight(theta, phi)
    x_axes, y_axes = cam.sky_axes(los)
    spin = np.asarray(s.spin_axis)
    lay = _layout(s, flux, np.random.default_rng([seed, s.snapshot_index, 0]))
    size = profile.size_px
    clean = np.empty((n_cameras, size, size))
    images = np.empty((n_cameras, size, size), dtype=np.float32)
    psf = np.empty(n_cameras)
    sky = np.empty(n_cameras)
    snr = np.empty(n_cameras)
    for k in range(n_cameras):
        rng = np.random.default_rng([seed, s.snapshot_index, 1, k])
        psf[k] = rng.uniform(*profile.psf_fwhm_arcsec)
        sky[k] = float(profile.sky_sigma(rng.uniform(*profile.sb_limit_mag_arcsec2), zp))
        cx, cy = profile.centre_px()
        centre = (cx + rng.uniform(-0.5, 0.5), cy + rng.uniform(-0.5, 0.5))
        sersics, gaussians = _scene(s, lay, flux, los[k], x_axes[k], y_axes[k], centre, kpc_px)
        clean[k] = render_scene((size, size), sersics, gaussians,
                                psf_fwhm_px=psf[k] / profile.pixel_scale_arcsec, rel_tol=rel_tol)
        images[k] = clean[k] + rng.normal(0.0, sky[k], (size, size))
        snr[k] = _half_light_snr(clean[k], sky[k])
    return RenderedSnapshot(
        snapshot_index=s.snapshot_index, images=images, theta_deg=theta, phi_deg=phi,
        inclination_deg=cam.inclination_deg(los, spin),
        pa_deg=cam.disk_position_angle_deg(los, spin, x_axes, y_axes),
        psf_fwhm_arcsec=psf, sky_sigma=sky, snr=snr, zero_point=zp, mag_ab=mag,
        kpc_per_pixel=kpc_px, noise_free=clean.astype(np.float32) if keep_noise_free else None)
