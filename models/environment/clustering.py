"""The redshift-space two-point correlation function ξ(s) of a galaxy sample in a sky
rectangle, by the Landy–Szalay estimator with TreeCorr pair counts.

Galaxies and randoms are placed in comoving Cartesian coordinates (h⁻¹ Mpc) from their
given redshifts, so ξ from photometric redshifts is measured in photo-z space. Randoms
fill the footprint uniformly on the sphere and take their redshifts from the sample's
own, so they follow its n(z) whatever redshift estimate it carries.

Pair counts use ``bin_slop=0``: a pair of tree cells is counted in one bin only when
every pair between them falls in it, so each pair lands in exactly the bin its
separation belongs to (up to floating-point rounding at an edge).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from galcat.models.environment.cosmology import DEFAULT_COSMOLOGY, sky_to_cartesian

if TYPE_CHECKING:
    import treecorr

_EDGE_RTOL = 1e-9


@dataclass(frozen=True)
class XiEstimate:
    """ξ(s) in bins of redshift-space separation ``s`` (h⁻¹ Mpc): bin centres (geometric
    mean of the edges), edges, the Landy–Szalay estimate, its Poisson (shot-noise) error,
    and the numbers of data and random points used."""

    s_mpc_h: NDArray[np.float64]
    s_edges_mpc_h: NDArray[np.float64]
    xi: NDArray[np.float64]
    xi_err: NDArray[np.float64]
    n_data: int
    n_random: int


def default_s_edges() -> NDArray[np.float64]:
    """15 logarithmic bins from 1 to 40 h⁻¹ Mpc (16 edges)."""
    return np.geomspace(1.0, 40.0, 16)


def random_catalogue(ra_range_deg: tuple[float, float], dec_range_deg: tuple[float, float],
                     z: ArrayLike, n_random: int,
                     seed: int) -> tuple[NDArray[np.float64], NDArray[np.float64],
                                         NDArray[np.float64]]:
    """``n_random`` points (ra, dec in degrees, redshift) uniform on the sphere inside the
    rectangle, with redshifts following the sample redshifts ``z``.

    ra is uniform in [ra_min, ra_max) (a range with ra_min > ra_max wraps through 0°), dec
    uniform in sin(dec). Redshifts are ``z`` resampled with replacement plus a Gaussian
    jitter of 0.2 × Silverman's bandwidth, reflected into [min z, max z]. NaN redshifts
    are ignored.
    """
    ra_lo, ra_hi = (float(v) for v in ra_range_deg)
    dec_lo, dec_hi = (float(v) for v in dec_range_deg)
    if not -90.0 <= dec_lo < dec_hi <= 90.0:
        raise ValueError(f"dec_range_deg must be increasing within [-90, 90], "
                         f"not {dec_range_deg}")
    if ra_hi == ra_lo:
        raise ValueError(f"ra_range_deg has zero width: {ra_range_deg}")
    ra_width = (ra_hi - ra_lo) % 360.0 or 360.0
    sample = np.asarray(z, dtype=float).ravel()
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        raise ValueError("z has no finite redshift to draw the randoms' n(z) from")
    if n_random < 0:
        raise ValueError(f"n_random must be non-negative, not {n_random}")

    rng = np.random.default_rng(seed)
    ra = (ra_lo + ra_width * rng.random(n_random)) % 360.0
    sin_lo, sin_hi = np.sin(np.radians([dec_lo, dec_hi]))
    dec = np.degrees(np.arcsin(np.clip(rng.uniform(sin_lo, sin_hi, n_random), -1.0, 1.0)))
    z_random = rng.choice(sample, size=n_random, replace=True)
    z_random += 0.2 * _silverman_bandwidth(sample) * rng.standard_normal(n_random)
    return ra, dec, _reflect(z_random, float(sample.min()), float(sample.max()))


def xi_s(ra_deg: ArrayLike, dec_deg: ArrayLike, z: ArrayLike, *,
         ra_range_deg: tuple[float, float] | None = None,
         dec_range_deg: tuple[float, float] | None = None,
         s_edges_mpc_h: ArrayLike | None = None, random_factor: int = 5, seed: int = 0,
         cosmology: str = DEFAULT_COSMOLOGY, nthreads: int | None = None,
         bin_slop: float = 0.0) -> XiEstimate:
    """Landy–Szalay ξ(s) of galaxies at (ra, dec) in degrees and redshift ``z``.

    Separations ``s`` are 3-D comoving (h⁻¹ Mpc) in redshift space. ``s_edges_mpc_h``
    must be logarithmically spaced (default :func:`default_s_edges`). The footprint
    defaults to the smallest ra/dec rectangle holding the data; ``random_factor`` times
    as many randoms as galaxies are drawn (seed ``seed``) with the galaxies' own n(z).
    Galaxies with a non-finite coordinate are left out. ``nthreads`` None uses all cores.
    ``bin_slop`` > 0 lets TreeCorr place pairs within that fraction of a bin width of an
    edge approximately (with ``angle_slop`` 0), about twice as fast; 0 counts exactly.
    """
    ra, dec, redshift = (np.asarray(v, dtype=float).ravel() for v in (ra_deg, dec_deg, z))
    if not ra.shape == dec.shape == redshift.shape:
        raise ValueError(f"ra, dec and z differ in length: {ra.size}, {dec.size}, "
                         f"{redshift.size}")
    keep = np.isfinite(ra) & np.isfinite(dec) & np.isfinite(redshift)
    ra, dec, redshift = ra[keep], dec[keep], redshift[keep]
    if ra.size < 2:
        raise ValueError(f"xi_s needs at least 2 galaxies with finite ra, dec and z, "
                         f"got {ra.size}")
    if random_factor < 1:
        raise ValueError(f"random_factor must be at least 1, not {random_factor}")
    edges = default_s_edges() if s_edges_mpc_h is None else np.asarray(s_edges_mpc_h, float)
    if ra_range_deg is None:
        ra_range_deg = _ra_bounds(ra)
    if dec_range_deg is None:
        dec_range_deg = (float(dec.min()), float(dec.max()))

    n_random = random_factor * ra.size
    ra_r, dec_r, z_r = random_catalogue(ra_range_deg, dec_range_deg, redshift, n_random, seed)
    data = _catalog(sky_to_cartesian(ra, dec, redshift, cosmology))
    randoms = _catalog(sky_to_cartesian(ra_r, dec_r, z_r, cosmology))

    dd, dr, rr = (_pair_counter(edges, bin_slop) for _ in range(3))
    dd.process(data, num_threads=nthreads)
    dr.process(data, randoms, num_threads=nthreads)
    rr.process(randoms, num_threads=nthreads)
    xi, varxi = dd.calculateXi(rr=rr, dr=dr)
    return XiEstimate(s_mpc_h=np.asarray(dd.rnom, dtype=float), s_edges_mpc_h=edges,
                      xi=np.asarray(xi, dtype=float),
                      xi_err=np.sqrt(np.asarray(varxi, dtype=float)),
                      n_data=int(ra.size), n_random=int(n_random))


def pair_counts(positions_mpc_h: ArrayLike, s_edges_mpc_h: ArrayLike, *,
                nthreads: int | None = None) -> NDArray[np.float64]:
    """Number of distinct pairs of points (N, 3) in each separation bin (h⁻¹ Mpc), counted
    the way :func:`xi_s` counts DD."""
    counter = _pair_counter(np.asarray(s_edges_mpc_h, dtype=float))
    counter.process(_catalog(np.asarray(positions_mpc_h, dtype=float)), num_threads=nthreads)
    return np.asarray(counter.npairs, dtype=float)


def xi_ratio(estimate: XiEstimate, reference: XiEstimate) -> NDArray[np.float64]:
    """``estimate.xi / reference.xi`` per bin; both must share their bin edges."""
    if not (estimate.s_edges_mpc_h.shape == reference.s_edges_mpc_h.shape
            and np.allclose(estimate.s_edges_mpc_h, reference.s_edges_mpc_h,
                            rtol=_EDGE_RTOL, atol=0.0)):
        raise ValueError("the two ξ(s) estimates have different separation bins")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(estimate.xi / reference.xi, dtype=float)


def _pair_counter(edges: NDArray[np.float64],
                  bin_slop: float = 0.0) -> treecorr.NNCorrelation:
    """A TreeCorr 3-D Euclidean pair counter whose bins are exactly ``edges``."""
    import treecorr

    if edges.ndim != 1 or edges.size < 2 or not edges[0] > 0 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"separation edges must be positive and increasing, not {edges}")
    ratios = edges[1:] / edges[:-1]
    if not np.allclose(ratios, ratios[0], rtol=_EDGE_RTOL, atol=0.0):
        raise ValueError("separation edges must be logarithmically spaced (TreeCorr Log "
                         f"bins), not {edges}")
    counter = treecorr.NNCorrelation(min_sep=float(edges[0]), max_sep=float(edges[-1]),
                                     nbins=edges.size - 1, bin_type="Log", bin_slop=bin_slop,
                                     angle_slop=0.0, metric="Euclidean")
    used = np.append(counter.left_edges, counter.right_edges[-1])
    if not np.allclose(used, edges, rtol=_EDGE_RTOL, atol=0.0):
        raise RuntimeError(f"TreeCorr bins {used} do not reproduce the edges {edges}")
    return counter


def _catalog(xyz_mpc_h: NDArray[np.float64]) -> treecorr.Catalog:
    """A TreeCorr catalogue of 3-D Cartesian positions (N, 3)."""
    import treecorr

    return treecorr.Catalog(x=xyz_mpc_h[:, 0], y=xyz_mpc_h[:, 1], z=xyz_mpc_h[:, 2])


def _silverman_bandwidth(sample: NDArray[np.float64]) -> float:
    """Silverman's rule-of-thumb Gaussian kernel bandwidth of a 1-D sample."""
    q75, q25 = np.percentile(sample, [75.0, 25.0])
    spread = min(float(np.std(sample)), float(q75 - q25) / 1.349) or float(np.std(sample))
    return 0.9 * spread * sample.size ** -0.2


def _reflect(values: NDArray[np.float64], lo: float, hi: float) -> NDArray[np.float64]:
    """``values`` folded back into [lo, hi] by reflection at both ends."""
    if hi <= lo:
        return np.full_like(values, lo)
    width = hi - lo
    folded = np.mod(values - lo, 2.0 * width)
    return lo + np.where(folded > width, 2.0 * width - folded, folded)


def _ra_bounds(ra_deg: NDArray[np.float64]) -> tuple[float, float]:
    """The narrowest ra interval (degrees) holding every ``ra_deg``, as (start, end); start
    > end when it wraps through 0°."""
    ra = np.sort(np.mod(ra_deg, 360.0))
    gaps = np.diff(np.append(ra, ra[0] + 360.0))
    widest = int(np.argmax(gaps))
    if widest == ra.size - 1:
        return float(ra[0]), float(ra[-1])
    return float(ra[widest + 1]), float(ra[widest])
