"""A clustered mock light-cone: galaxies Poisson-sampled from a log-normal density field,
with linear-theory redshift-space distortions, photometric and spectroscopic redshifts.

Field. A Gaussian field G lives on a periodic Cartesian grid of cells ``cell_mpc_h``
(h⁻¹ Mpc), in a frame rotated so the field centre lies along the grid's third axis. The
box holds the cone plus one cell, padded on each axis by the cone's own extent or
200 h⁻¹ Mpc, whichever is less, so no pair of galaxies inside the cone closer than
200 h⁻¹ Mpc sees a periodic image of the other. Modes longer than the box are absent.
The galaxy density is log-normal (Coles & Jones 1991), 1 + δ_g = exp(G − σ_G²/2), and G's
power is chosen so that 1 + δ_g has the target power b² P_lin(k, z_mid) on the grid: the
target correlation function of the grid cells ξ_g is taken to ξ_G = ln(1 + ξ_g), back to
P_G, and negative P_G (from power the log-normal model cannot carry) set to zero. The
field is one epoch, z_mid = (z_min + z_max)/2: no growth of structure along the cone.

Velocities. The linear matter field δ_m has the same phases as G and power P_lin(k, z_mid)
(the Gaussian field without bias); v(k) = i f a H δ_m(k) k/k² in km s⁻¹, with f = Ω_m^0.55
and a H at z_mid. Each galaxy takes its cell's value (nearest grid point, as for the
density), projected on its own line of sight; z_true = (1 + z_cosmo)(1 + v_los/c) − 1.
The box is long along the line of sight and narrow across it, so its modes with k_⊥ = 0
stand for a whole column |k_⊥| < π/L_⊥ of k-space; weighted by P(k_z)/k_z² they would
inflate the line-of-sight velocity variance (1.3× for the default 4° field, 2.6× for a
2° field). Each component
of the velocity of the lowest modes (|k_i| ≤ 4 fundamental modes of the narrowest axis)
therefore carries ⟨P k_j²/k⁴⟩ averaged over the mode's k-space cell rather than its
value at the cell centre, which brings the line-of-sight variance to within 5 per cent
of the continuum one (the transverse components keep a deficit from the missing modes).

Galaxies. Every cell that may overlap the cone is Poisson-sampled with mean
n̄ V_cell (1 + δ_g) and its galaxies placed uniformly inside it; those outside the field or
the z_cosmo range are dropped. The comoving density n̄ is constant, set so the expected
count is ``n_galaxies`` given the realised field: the cone's mean overdensity is zero by
construction (the integral constraint of a survey that measures n̄ from itself), and
``delta_true`` is relative to that mean.

The field is a square of side ``field_deg``: Dec within dec_center ± field/2, RA within
ra_center ± field/(2 cos dec_center) (RA is returned in [0, 360)).

Random streams are split from ``np.random.default_rng(seed)``: the density field depends
on the seed and the grid only, so specs that differ in ``n_galaxies`` or the redshift
errors share the same structures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import fft

from galcat.models.environment.cosmology import (
    C_KM_S,
    comoving_distance,
    hubble_distance_ratio,
    redshift_at_distance,
)
from galcat.models.environment.power_spectrum import (
    cosmological_parameters,
    growth_rate,
    linear_power_spectrum,
)

__all__ = ["Lightcone", "LightconeSpec", "linear_power_spectrum", "make_lightcone"]

PERIODIC_PADDING_MPC_H = 200.0
MAX_GRID_CELLS = 32 * 1024 ** 2
_CHUNK_CELLS = 2 ** 21


@dataclass(frozen=True)
class LightconeSpec:
    """What to simulate: counts, footprint (degrees), redshift range, bias, redshift errors,
    grid cell (h⁻¹ Mpc), cosmology (a name in ``astropy.cosmology``) and random seed."""

    n_galaxies: int = 100_000
    field_deg: float = 4.0
    ra_center_deg: float = 150.0
    dec_center_deg: float = 2.0
    z_min: float = 0.4
    z_max: float = 0.8
    galaxy_bias: float = 1.5
    sigma_z: float = 0.03
    outlier_fraction: float = 0.02
    spec_fraction: float = 0.10
    cell_mpc_h: float = 2.0
    cosmology: str = "Planck18"
    seed: int = 0

    def __post_init__(self) -> None:
        problems = []
        if self.n_galaxies < 0:
            problems.append(f"n_galaxies={self.n_galaxies} must be ≥ 0")
        if not 0.0 < self.field_deg <= 60.0:
            problems.append(f"field_deg={self.field_deg} must be in (0, 60]")
        if abs(self.dec_center_deg) + self.field_deg / 2 >= 89.0:
            problems.append(f"dec_center_deg={self.dec_center_deg} ± field_deg/2 must stay "
                            "within ±89° (the field may not reach a pole)")
        if not 0.0 <= self.z_min < self.z_max <= 5.0:
            problems.append(f"need 0 ≤ z_min < z_max ≤ 5, got z_min={self.z_min}, "
                            f"z_max={self.z_max}")
        if self.galaxy_bias <= 0.0:
            problems.append(f"galaxy_bias={self.galaxy_bias} must be > 0")
        if self.sigma_z < 0.0:
            problems.append(f"sigma_z={self.sigma_z} must be ≥ 0")
        for name in ("outlier_fraction", "spec_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name}={getattr(self, name)} must be in [0, 1]")
        if self.cell_mpc_h <= 0.0:
            problems.append(f"cell_mpc_h={self.cell_mpc_h} must be > 0")
        if problems:
            raise ValueError("invalid LightconeSpec: " + "; ".join(problems))

    @property
    def ra_half_width_deg(self) -> float:
        """Half the RA extent of the field, degrees of RA."""
        return self.field_deg / 2 / float(np.cos(np.radians(self.dec_center_deg)))

    @property
    def ra_range_deg(self) -> tuple[float, float]:
        """RA limits of the field, degrees (may pass below 0 or above 360 near RA = 0)."""
        return (self.ra_center_deg - self.ra_half_width_deg,
                self.ra_center_deg + self.ra_half_width_deg)

    @property
    def dec_range_deg(self) -> tuple[float, float]:
        """Dec limits of the field, degrees."""
        return (self.dec_center_deg - self.field_deg / 2, self.dec_center_deg + self.field_deg / 2)

    @property
    def solid_angle_sr(self) -> float:
        """Solid angle of the field, steradians."""
        lo, hi = np.radians(self.dec_range_deg)
        return float(np.radians(2 * self.ra_half_width_deg) * (np.sin(hi) - np.sin(lo)))

    @property
    def volume_mpc3_h3(self) -> float:
        """Comoving volume of the cone, (h⁻¹ Mpc)³."""
        chi_lo, chi_hi = comoving_distance([self.z_min, self.z_max], self.cosmology)
        return self.solid_angle_sr * float(chi_hi ** 3 - chi_lo ** 3) / 3.0


@dataclass(frozen=True, eq=False)
class Lightcone:
    """Arrays of equal length, one entry per galaxy, sorted by ``z_cosmo``.

    ``ra_deg``/``dec_deg`` in degrees; ``z_cosmo`` the cosmological (real-space) redshift;
    ``z_true`` the observed redshift with the peculiar velocity; ``z_phot`` and its stated
    1σ error ``z_phot_err`` = sigma_z (1 + z_phot); ``z_spec`` = z_true for the
    spectroscopic subset, NaN elsewhere; ``delta_true`` = 1 + δ_g of the galaxy's cell,
    relative to the cone's mean density."""

    ra_deg: NDArray[np.float64]
    dec_deg: NDArray[np.float64]
    z_cosmo: NDArray[np.float64]
    z_true: NDArray[np.float64]
    z_phot: NDArray[np.float64]
    z_phot_err: NDArray[np.float64]
    z_spec: NDArray[np.float64]
    delta_true: NDArray[np.float64]
    spec: LightconeSpec

    def __len__(self) -> int:
        return len(self.ra_deg)

    @property
    def has_spec_z(self) -> NDArray[np.bool_]:
        """True for the galaxies of the spectroscopic subset."""
        return np.isfinite(self.z_spec)


def _rotation(ra_deg: float, dec_deg: float) -> NDArray[np.float64]:
    """Rows east, north, centre: local = R @ equatorial Cartesian."""
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    return np.array([[-np.sin(ra), np.cos(ra), 0.0],
                     [-np.sin(dec) * np.cos(ra), -np.sin(dec) * np.sin(ra), np.cos(dec)],
                     [np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)]])


def _local_to_sky(x: NDArray[np.float64], y: NDArray[np.float64], z: NDArray[np.float64],
                  rotation: NDArray[np.float64]
                  ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """RA, Dec (degrees) and comoving distance of local Cartesian positions."""
    r = rotation
    gx = r[0, 0] * x + r[1, 0] * y + r[2, 0] * z
    gy = r[0, 1] * x + r[1, 1] * y + r[2, 1] * z
    gz = r[0, 2] * x + r[1, 2] * y + r[2, 2] * z
    chi = np.sqrt(gx * gx + gy * gy + gz * gz)
    dec = np.degrees(np.arcsin(np.clip(gz / np.maximum(chi, 1e-300), -1.0, 1.0)))
    ra = np.mod(np.degrees(np.arctan2(gy, gx)), 360.0)
    return ra, dec, chi


def _ra_offset_deg(ra_deg: NDArray[np.float64], spec: LightconeSpec) -> NDArray[np.float64]:
    return np.mod(ra_deg - spec.ra_center_deg + 180.0, 360.0) - 180.0


@dataclass(frozen=True)
class _Grid:
    shape: tuple[int, int, int]
    origin: NDArray[np.float64]
    cell: float

    @property
    def n_cells(self) -> int:
        return int(np.prod(self.shape))


def _grid_for(spec: LightconeSpec, rotation: NDArray[np.float64],
              chi_range: tuple[float, float]) -> _Grid:
    ra_off = np.linspace(-spec.ra_half_width_deg, spec.ra_half_width_deg, 65)
    dec = np.linspace(*spec.dec_range_deg, 65)
    ra_g, dec_g = np.meshgrid(np.radians(spec.ra_center_deg + ra_off), np.radians(dec))
    unit = np.stack([np.cos(dec_g) * np.cos(ra_g), np.cos(dec_g) * np.sin(ra_g),
                     np.sin(dec_g)]).reshape(3, -1)
    local = rotation @ unit
    corners = np.concatenate([local * chi_range[0], local * chi_range[1]], axis=1)
    lower = corners.min(axis=1) - spec.cell_mpc_h
    extent = corners.max(axis=1) + spec.cell_mpc_h - lower
    length = extent + np.minimum(extent, PERIODIC_PADDING_MPC_H)
    n_cells = np.ceil(length / spec.cell_mpc_h).astype(int)
    shape = (fft.next_fast_len(int(n_cells[0]), real=True),
             fft.next_fast_len(int(n_cells[1]), real=True),
             fft.next_fast_len(int(n_cells[2]), real=True))
    grid = _Grid(shape=shape, origin=lower, cell=spec.cell_mpc_h)
    if grid.n_cells > MAX_GRID_CELLS:
        raise ValueError(f"the density grid would have {grid.n_cells:,} cells of "
                         f"{spec.cell_mpc_h} h⁻¹ Mpc (limit {MAX_GRID_CELLS:,}): raise "
                         "cell_mpc_h, or narrow field_deg or the redshift range")
    return grid


def _wavenumbers(grid: _Grid) -> tuple[NDArray[np.float64], ...]:
    """k along each axis (h Mpc⁻¹) on the rfftn grid, broadcastable, Nyquist modes zeroed."""
    ks = []
    for axis, n in enumerate(grid.shape):
        last = axis == 2
        k = 2 * np.pi * (fft.rfftfreq(n, grid.cell) if last else fft.fftfreq(n, grid.cell))
        if n % 2 == 0:
            k[n // 2] = 0.0
        view = [1, 1, 1]
        view[axis] = len(k)
        ks.append(k.reshape(view))
    return tuple(ks)


def _k_squared(grid: _Grid) -> NDArray[np.float64]:
    """|k|² (h² Mpc⁻²) on the rfftn grid, Nyquist modes kept."""
    k2: NDArray[np.float64] = np.zeros(1)
    for axis, n in enumerate(grid.shape):
        last = axis == 2
        k = 2 * np.pi * (fft.rfftfreq(n, grid.cell) if last else fft.fftfreq(n, grid.cell))
        view = [1, 1, 1]
        view[axis] = len(k)
        k2 = k2 + (k * k).reshape(view)
    return k2


def _velocity_cell_weights(grid: _Grid, power: Callable[[NDArray[np.float64]], NDArray],
                           reach: float = 4.0, samples: int = 6
                           ) -> tuple[tuple[NDArray[np.intp], ...], NDArray[np.float64]]:
    """Per-axis factors for the velocity of the lowest modes: √(⟨P k_j²/k⁴⟩ / P k_j²/k⁴),
    the average over the k-space cell the mode stands for. Returns the modes' rfftn
    indices and the factors, shape (3, n_modes)."""
    steps = np.array([2 * np.pi / (n * grid.cell) for n in grid.shape])
    k_axes = [2 * np.pi * (fft.rfftfreq(n, grid.cell) if axis == 2
                           else fft.fftfreq(n, grid.cell))
              for axis, n in enumerate(grid.shape)]
    near = [np.flatnonzero(np.abs(k) <= reach * steps.max()) for k in k_axes]
    index = [i.ravel() for i in np.meshgrid(*near, indexing="ij")]
    centre = np.stack([k_axes[axis][index[axis]] for axis in range(3)])
    nonzero = np.any(centre != 0.0, axis=0)
    index = [i[nonzero] for i in index]
    centre = centre[:, nonzero]
    offsets = (np.arange(samples) + 0.5) / samples - 0.5
    u = np.stack(np.meshgrid(offsets, offsets, offsets, indexing="ij")).reshape(3, -1)
    points = centre[:, :, None] + steps[:, None, None] * u[:, None, :]
    k2 = np.sum(points ** 2, axis=0)
    weight = power(np.sqrt(k2)) / k2 ** 2
    cell_mean = np.mean(points ** 2 * weight, axis=2)
    k2_centre = np.sum(centre ** 2, axis=0)
    at_centre = centre ** 2 * power(np.sqrt(k2_centre)) / k2_centre ** 2
    factor = np.sqrt(np.divide(cell_mean, at_centre, out=np.zeros_like(cell_mean),
                               where=at_centre > 0.0))
    return tuple(index), factor


def _tabulated_power(k_h_mpc: NDArray[np.float64], cosmology: str,
                     z: float) -> NDArray[np.float64]:
    """P_lin(k, z) in (h⁻¹ Mpc)³ interpolated in log–log from a fine table (rel. error
    < 1e-6); zero at k = 0."""
    k_table = np.geomspace(max(float(k_h_mpc[k_h_mpc > 0].min()), 1e-6),
                           float(k_h_mpc.max()), 4096)
    log_p = np.log(linear_power_spectrum(k_table, cosmology, z))
    power = np.zeros_like(k_h_mpc)
    positive = k_h_mpc > 0
    power[positive] = np.exp(np.interp(np.log(k_h_mpc[positive]), np.log(k_table), log_p))
    return power


def _half_grid_variance(power: NDArray[np.float64], grid: _Grid) -> float:
    """Variance (1/V) Σ_k P(k) over the full grid from P on the rfftn half grid."""
    n_last = grid.shape[2]
    weight = np.full(power.shape[2], 2.0)
    weight[0] = 1.0
    if n_last % 2 == 0:
        weight[-1] = 1.0
    return float(np.sum(power * weight) / (grid.n_cells * grid.cell ** 3))


def _lognormal_power(target: NDArray[np.float64], grid: _Grid) -> NDArray[np.float64]:
    """Power of G for which exp(G − σ²/2) has the power ``target`` on the grid."""
    v_cell = grid.cell ** 3
    xi = fft.irfftn(target, s=grid.shape, workers=-1)
    xi /= v_cell
    np.log1p(np.maximum(xi, -0.999, out=xi), out=xi)
    power = fft.rfftn(xi, workers=-1).real
    del xi
    power *= v_cell
    np.maximum(power, 0.0, out=power)
    power.flat[0] = 0.0
    return power


def _cells_in_cone(spec: LightconeSpec, grid: _Grid, rotation: NDArray[np.float64],
                   chi_range: tuple[float, float], density: NDArray[np.float64]
                   ) -> tuple[NDArray[np.int64], float]:
    """Flat indices of cells that may overlap the cone, and the mean density of the cells
    whose centres lie inside it."""
    n0, n1, n2 = grid.shape
    half_diagonal = np.sqrt(3.0) / 2 * grid.cell
    y = (grid.origin[1] + (np.arange(n1) + 0.5) * grid.cell)[None, :, None]
    z = (grid.origin[2] + (np.arange(n2) + 0.5) * grid.cell)[None, None, :]
    dec_lo, dec_hi = spec.dec_range_deg
    step = max(1, _CHUNK_CELLS // (n1 * n2))
    found, inside_sum, inside_count = [], 0.0, 0
    for i0 in range(0, n0, step):
        i = np.arange(i0, min(i0 + step, n0))
        x = (grid.origin[0] + (i + 0.5) * grid.cell)[:, None, None]
        ra, dec, chi = _local_to_sky(x, y, z, rotation)
        ra_excess = np.abs(_ra_offset_deg(ra, spec)) - spec.ra_half_width_deg
        dec_excess = np.maximum(dec_lo - dec, dec - dec_hi)
        margin_deg = np.degrees(2 * half_diagonal / np.maximum(chi - half_diagonal, 1e-9))
        near = ((chi >= chi_range[0] - half_diagonal) & (chi <= chi_range[1] + half_diagonal)
                & ((chi <= 2 * half_diagonal)
                   | ((dec_excess <= margin_deg)
                      & (ra_excess * np.cos(np.radians(dec)) <= margin_deg))))
        inside = ((chi >= chi_range[0]) & (chi <= chi_range[1])
                  & (dec_excess <= 0.0) & (ra_excess <= 0.0))
        block = density[i0:i0 + len(i)]
        inside_sum += float(block[inside].sum())
        inside_count += int(inside.sum())
        found.append(np.flatnonzero(near) + i0 * n1 * n2)
    mean_inside = inside_sum / inside_count if inside_count else 1.0
    return np.concatenate(found).astype(np.int64), mean_inside


def _photometric_redshifts(z_true: NDArray[np.float64], spec: LightconeSpec,
                           rng: np.random.Generator
                           ) -> tuple[NDArray[np.float64], NDArray[np.float64],
                                      NDArray[np.float64]]:
    n = len(z_true)
    z_phot = z_true + spec.sigma_z * (1.0 + z_true) * rng.standard_normal(n)
    outlier = rng.random(n) < spec.outlier_fraction
    z_phot[outlier] = rng.uniform(max(0.0, spec.z_min - 0.3), spec.z_max + 0.3,
                                  int(outlier.sum()))
    np.maximum(z_phot, 0.0, out=z_phot)
    z_spec = np.where(rng.random(n) < spec.spec_fraction, z_true, np.nan)
    return z_phot, spec.sigma_z * (1.0 + z_phot), z_spec


def make_lightcone(spec: LightconeSpec) -> Lightcone:
    """Simulate the galaxies of a clustered light-cone (see the module docstring)."""
    cosmological_parameters(spec.cosmology)
    field_rng, galaxy_rng, redshift_rng = np.random.default_rng(spec.seed).spawn(3)
    rotation = _rotation(spec.ra_center_deg, spec.dec_center_deg)
    chi_lo, chi_hi = (float(c) for c in comoving_distance([spec.z_min, spec.z_max],
                                                          spec.cosmology))
    grid = _grid_for(spec, rotation, (chi_lo, chi_hi))
    z_mid = 0.5 * (spec.z_min + spec.z_max)
    v_cell = grid.cell ** 3

    modes = fft.rfftn(field_rng.standard_normal(grid.shape), workers=-1)
    k2 = _k_squared(grid)
    matter_power = _tabulated_power(np.sqrt(k2), spec.cosmology, z_mid)
    gaussian_power = _lognormal_power(spec.galaxy_bias ** 2 * matter_power, grid)
    variance = _half_grid_variance(gaussian_power, grid)
    np.sqrt(gaussian_power / v_cell, out=gaussian_power)
    density = fft.irfftn(modes * gaussian_power, s=grid.shape, workers=-1)
    del gaussian_power
    density -= variance / 2
    np.exp(density, out=density)

    cells, mean_density = _cells_in_cone(spec, grid, rotation, (chi_lo, chi_hi), density)
    nbar = spec.n_galaxies / (spec.volume_mpc3_h3 * mean_density)
    counts = galaxy_rng.poisson(nbar * v_cell * density.ravel()[cells])
    galaxy_cells = np.repeat(cells, counts)
    del cells, counts
    index = np.unravel_index(galaxy_cells, grid.shape)
    local = [grid.origin[a] + (index[a] + galaxy_rng.random(len(galaxy_cells))) * grid.cell
             for a in range(3)]
    ra, dec, chi = _local_to_sky(local[0], local[1], local[2], rotation)
    z_cosmo = redshift_at_distance(chi, spec.cosmology)
    dec_lo, dec_hi = spec.dec_range_deg
    keep = ((np.abs(_ra_offset_deg(ra, spec)) <= spec.ra_half_width_deg)
            & (dec >= dec_lo) & (dec <= dec_hi)
            & (z_cosmo >= spec.z_min) & (z_cosmo <= spec.z_max))
    order = np.flatnonzero(keep)[np.argsort(z_cosmo[keep], kind="stable")]
    galaxy_cells = galaxy_cells[order]
    local = [c[order] for c in local]
    ra, dec, chi, z_cosmo = ra[order], dec[order], chi[order], z_cosmo[order]
    delta_true = density.ravel()[galaxy_cells] / mean_density
    del density

    modes *= np.sqrt(matter_power / v_cell)
    del matter_power
    k2.flat[0] = np.inf
    a_hubble = C_KM_S / float(hubble_distance_ratio(z_mid, spec.cosmology)) / (1.0 + z_mid)
    modes *= 1j * float(growth_rate(z_mid, spec.cosmology)) * a_hubble / k2
    del k2
    low_modes, low_factors = _velocity_cell_weights(
        grid, lambda k: linear_power_spectrum(k, spec.cosmology, z_mid))
    v_los = np.zeros(len(chi))
    for axis, k in enumerate(_wavenumbers(grid)):
        component = modes * k
        component[low_modes] *= low_factors[axis]
        velocity = fft.irfftn(component, s=grid.shape, workers=-1)
        del component
        v_los += velocity.ravel()[galaxy_cells] * local[axis] / np.maximum(chi, 1e-300)
        del velocity
    z_true = (1.0 + z_cosmo) * (1.0 + v_los / C_KM_S) - 1.0

    z_phot, z_phot_err, z_spec = _photometric_redshifts(z_true, spec, redshift_rng)
    return Lightcone(ra_deg=ra, dec_deg=dec, z_cosmo=z_cosmo, z_true=z_true, z_phot=z_phot,
                     z_phot_err=z_phot_err, z_spec=z_spec, delta_true=delta_true, spec=spec)
