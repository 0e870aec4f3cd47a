"""Linear matter power spectrum in h⁻¹ Mpc units: the Eisenstein & Hu (1998) no-wiggle
transfer function, a primordial tilt n_s, normalised to σ₈, grown with the linear growth
factor of the cosmology.

The transfer function is EH98 eqs. (26)–(31): the zero-baryon shape with the baryon
suppression of the shape parameter, Γ_eff(k) = Ω_m h [α_Γ + (1 − α_Γ)/(1 + (0.43 k s)⁴)],
and no acoustic oscillations. Cosmological parameters (Om0, Ob0, H0, Tcmb0, Ok0) come
from ``astropy.cosmology.<name>``; n_s and σ₈ from its ``meta`` (Planck18: 0.9665,
0.8102), with those Planck18 values when the meta lacks them.

The growth factor is the exact growing mode for matter + Λ (+ curvature) (Heath 1977),
D(a) ∝ E(a) ∫₀ᵃ da′ / (a′ E(a′))³, integrated numerically and normalised to D(z=0) = 1;
radiation is neglected. The growth rate is f = Ω_m(z)^0.55 (Linder 2005).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import integrate

from galcat.models.environment.cosmology import DEFAULT_COSMOLOGY

PLANCK18_N_S = 0.9665
PLANCK18_SIGMA_8 = 0.8102
SIGMA_8_RADIUS_MPC_H = 8.0


@lru_cache(maxsize=8)
def cosmological_parameters(name: str) -> Mapping[str, float]:
    """Om0, Ob0, Ok0, h, Tcmb0 (K), n_s and sigma8 of ``astropy.cosmology.<name>``."""
    from astropy import cosmology

    try:
        cosmo = getattr(cosmology, name)
    except AttributeError:
        raise ValueError(f"unknown cosmology {name!r}: give the name of a cosmology in "
                         "astropy.cosmology, e.g. 'Planck18' or 'WMAP9'") from None
    meta = dict(cosmo.meta)
    return MappingProxyType({"Om0": float(cosmo.Om0), "Ob0": float(cosmo.Ob0 or 0.0),
            "Ok0": float(cosmo.Ok0), "h": float(cosmo.H0.value) / 100.0,
            "Tcmb0": float(cosmo.Tcmb0.value) or 2.7255,
            "n_s": float(meta.get("n", PLANCK18_N_S)),
            "sigma8": float(meta.get("sigma8", PLANCK18_SIGMA_8))})


def eisenstein_hu_no_wiggle(k_h_mpc: ArrayLike,
                            cosmology: str = DEFAULT_COSMOLOGY) -> NDArray[np.float64]:
    """EH98 no-wiggle transfer function T(k), with k in h Mpc⁻¹ (T → 1 as k → 0)."""
    p = cosmological_parameters(cosmology)
    k = np.asarray(k_h_mpc, dtype=float)
    h, om, fb = p["h"], p["Om0"], p["Ob0"] / p["Om0"]
    omh2, obh2 = om * h * h, p["Ob0"] * h * h
    theta = p["Tcmb0"] / 2.7
    sound_horizon_mpc = 44.5 * np.log(9.83 / omh2) / np.sqrt(1.0 + 10.0 * obh2 ** 0.75)
    alpha_gamma = (1.0 - 0.328 * np.log(431.0 * omh2) * fb
                   + 0.38 * np.log(22.3 * omh2) * fb * fb)
    k_mpc = k * h
    gamma_eff = om * h * (alpha_gamma + (1.0 - alpha_gamma)
                          / (1.0 + (0.43 * k_mpc * sound_horizon_mpc) ** 4))
    q = k * theta * theta / gamma_eff
    l0 = np.log(2.0 * np.e + 1.8 * q)
    c0 = 14.2 + 731.0 / (1.0 + 62.5 * q)
    return l0 / (l0 + c0 * q * q)


def _tophat_window(x: NDArray[np.float64]) -> NDArray[np.float64]:
    small = x < 1e-3
    xs = np.where(small, 1.0, x)
    w = 3.0 * (np.sin(xs) - xs * np.cos(xs)) / xs ** 3
    return np.where(small, 1.0 - x * x / 10.0, w)


_LN_K = np.linspace(np.log(1e-5), np.log(1e3), 8001)


def _sigma_squared(shape_power: NDArray[np.float64], radius_mpc_h: float) -> float:
    k = np.exp(_LN_K)
    integrand = k ** 3 * shape_power * _tophat_window(k * radius_mpc_h) ** 2 / (2 * np.pi ** 2)
    return float(integrate.simpson(integrand, x=_LN_K))


@lru_cache(maxsize=8)
def _amplitude(cosmology: str) -> float:
    """A in P(k, z=0) = A k^n_s T²(k), fixed by σ₈."""
    p = cosmological_parameters(cosmology)
    k = np.exp(_LN_K)
    shape = k ** p["n_s"] * eisenstein_hu_no_wiggle(k, cosmology) ** 2
    return p["sigma8"] ** 2 / _sigma_squared(shape, SIGMA_8_RADIUS_MPC_H)


def _efunc(a: NDArray[np.float64], om: float, ok: float) -> NDArray[np.float64]:
    return np.sqrt(om / a ** 3 + ok / a ** 2 + (1.0 - om - ok))


def _growth_unnormalised(z: NDArray[np.float64], om: float, ok: float) -> NDArray[np.float64]:
    def integrand(a: float) -> float:
        return float((a * _efunc(np.asarray(a), om, ok)) ** -3)

    a = 1.0 / (1.0 + z)
    integral = np.array([integrate.quad(integrand, 0.0, ai, epsabs=0.0, epsrel=1e-10)[0]
                         for ai in a.ravel()]).reshape(a.shape)
    return 2.5 * om * _efunc(a, om, ok) * integral


def growth_factor(z: ArrayLike, cosmology: str = DEFAULT_COSMOLOGY) -> NDArray[np.float64]:
    """Linear growth factor D(z), normalised to D(0) = 1 (dimensionless)."""
    p = cosmological_parameters(cosmology)
    zz = np.asarray(z, dtype=float)
    today = _growth_unnormalised(np.zeros(1), p["Om0"], p["Ok0"])[0]
    return _growth_unnormalised(zz, p["Om0"], p["Ok0"]) / today


def growth_rate(z: ArrayLike, cosmology: str = DEFAULT_COSMOLOGY) -> NDArray[np.float64]:
    """Linear growth rate f = d ln D / d ln a ≈ Ω_m(z)^0.55 (dimensionless)."""
    p = cosmological_parameters(cosmology)
    a = 1.0 / (1.0 + np.asarray(z, dtype=float))
    omega_m = p["Om0"] / a ** 3 / _efunc(a, p["Om0"], p["Ok0"]) ** 2
    return omega_m ** 0.55


def linear_power_spectrum(k_h_mpc: ArrayLike, cosmology: str = DEFAULT_COSMOLOGY,
                          z: float = 0.0) -> NDArray[np.float64]:
    """Linear matter power spectrum P(k, z) in (h⁻¹ Mpc)³ at wavenumbers k in h Mpc⁻¹."""
    k = np.asarray(k_h_mpc, dtype=float)
    p = cosmological_parameters(cosmology)
    d = float(growth_factor(z, cosmology)) if z != 0.0 else 1.0
    power = (_amplitude(cosmology) * d * d * np.abs(k) ** p["n_s"]
             * eisenstein_hu_no_wiggle(np.abs(k), cosmology) ** 2)
    return np.asarray(power, dtype=float)


def sigma_tophat(radius_mpc_h: float, cosmology: str = DEFAULT_COSMOLOGY,
                 z: float = 0.0) -> float:
    """rms linear density contrast in a top-hat sphere of radius ``radius_mpc_h`` (h⁻¹ Mpc)."""
    power = linear_power_spectrum(np.exp(_LN_K), cosmology, z)
    return float(np.sqrt(_sigma_squared(power, radius_mpc_h)))
