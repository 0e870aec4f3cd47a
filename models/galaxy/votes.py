"""Simulated CANDELS-style visual classifications of mock galaxies.

CANDELS classifiers (Kartaltepe et al. 2015) tick any of five main flags per
galaxy: spheroid, disk, irregular/peculiar, point source/compact, and
unclassifiable; the catalogue gives the fraction of classifiers ticking each.
Here every galaxy is seen by a random subset of 5-10 classifiers drawn from a
fixed pool. Each pool member has a persistent bias per flag (some see disks
everywhere), and votes are Bernoulli draws around the truth-driven propensity,
which is pulled towards confusion at low signal-to-noise. A classifier who
ticks nothing ticks her single most likely flag.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logit


@dataclass(frozen=True)
class VoteModel:
    """Knobs of the classifier simulation (dimensionless unless stated)."""

    pool_size: int = 40
    min_classifiers: int = 5
    max_classifiers: int = 10
    bias_sigma: float = 0.6
    sersic_n_split: float = 2.2
    confusion_snr: float = 20.0
    unclassifiable_snr: float = 35.0
    confusion_level: float = 0.3


def bulge_disk_class(kind: np.ndarray, sersic_n: np.ndarray, b_t: np.ndarray) -> np.ndarray:
    """True class index into :data:`BD_CLASSES`; -1 for irregulars and point sources.

    Single Sérsic: ``n >= 2`` bulge, else disk. Bulge + disk: ``B/T > 0.8``
    bulge, ``B/T < 0.2`` disk, otherwise bulge+disk.
    """
    kind = np.asarray(kind)
    out = np.full(kind.shape, -1, dtype=np.int8)
    single = kind == "sersic"
    out[single & (sersic_n >= 2.0)] = 0
    out[single & (sersic_n < 2.0)] = 1
    two = kind == "bulge_disk"
    out[two & (b_t > 0.8)] = 0
    out[two & (b_t < 0.2)] = 1
    out[two & (b_t >= 0.2) & (b_t <= 0.8)] = 2
    return out


def propensities(kind: np.ndarray, sersic_n: np.ndarray, b_t: np.ndarray,
                 clump_fraction: np.ndarray, r_eff_arcsec: np.ndarray,
                 psf_fwhm_arcsec: np.ndarray, snr: np.ndarray,
                 model: VoteModel = VoteModel()) -> np.ndarray:
    """Probability (N, 5) that an unbiased classifier ticks each of :data:`CANDELS_FLAGS`."""
    kind = np.asarray(kind)
    n = np.nan_to_num(np.asarray(sersic_n, dtype=float), nan=1.0)
    bt = np.nan_to_num(np.asarray(b_t, dtype=float), nan=0.0)
    cf = np.nan_to_num(np.asarray(clump_fraction, dtype=float), nan=0.0)
    p = np.zeros((kind.size, 5))
    single, two = kind == "sersic", kind == "bulge_disk"
    irr, point = kind == "irregular", kind == "point"
    sph_single = expit((n - model.sersic_n_split) / 0.35)
    p[:, 0] = np.select([single, two, irr, point],
                        [sph_single, expit((bt - 0.4) / 0.1), 0.05, 0.15])
    p[:, 1] = np.select([single, two, irr, point],
                        [1.0 - sph_single, expit((0.6 - bt) / 0.1), 0.4, 0.02])
    p[:, 2] = np.where(irr, expit((cf - 0.15) / 0.05), 0.05)
    compact = expit((0.5 * np.asarray(psf_fwhm_arcsec) - np.asarray(r_eff_arcsec)) / 0.02)
    p[:, 3] = np.where(point, 0.95, 0.8 * compact)
    log_snr = np.log10(np.maximum(np.asarray(snr, dtype=float), 1e-3))
    p[:, 4] = expit((np.log10(model.unclassifiable_snr) - log_snr) / 0.12)
    clarity = expit((log_snr - np.log10(model.confusion_snr)) / 0.2)[:, None]
    p[:, :4] = clarity * p[:, :4] + (1.0 - clarity) * model.confusion_level
    return np.clip(p, 1e-4, 1.0 - 1e-4)


def simulate_votes(p: np.ndarray, rng: np.random.Generator, model: VoteModel = VoteModel()
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vote fractions (N, 5), number of classifiers (N,), and the expected fractions (N, 5):
    what the whole pool would vote on average, i.e. the votes without counting noise."""
    n_gal = p.shape[0]
    pool_bias = rng.normal(0.0, model.bias_sigma, size=(model.pool_size, 5))
    n_cls = np.asarray(rng.integers(model.min_classifiers, model.max_classifiers + 1, size=n_gal))
    order = np.argsort(rng.random((n_gal, model.pool_size)), axis=1)
    who = order[:, :model.max_classifiers]
    prob = expit(logit(p)[:, None, :] + pool_bias[who])
    ticks = rng.random(prob.shape) < prob
    none = ~ticks.any(axis=2)
    best = np.argmax(prob, axis=2)
    ticks[none, best[none]] = True
    active = np.arange(model.max_classifiers)[None, :] < n_cls[:, None]
    fractions = (ticks & active[:, :, None]).sum(axis=1) / n_cls[:, None]
    return (fractions.astype(np.float32), n_cls.astype(np.int8),
            expected_fractions(p, pool_bias).astype(np.float32))


def expected_fractions(p: np.ndarray, pool_bias: np.ndarray) -> np.ndarray:
    """Mean over the pool of each member's chance to tick each flag (N, 5), counting the
    rule that a member who ticks nothing ticks her most likely flag."""
    prob = expit(logit(p)[:, None, :] + pool_bias[None, :, :])
    nothing = np.prod(1.0 - prob, axis=2, keepdims=True)
    forced = np.eye(p.shape[1])[np.argmax(prob, axis=2)]
    return np.mean(prob + nothing * forced, axis=1)
