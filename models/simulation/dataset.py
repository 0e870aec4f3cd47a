"""Training and held-out sets of mock images from many simulated galaxies, with their truth.

Each galaxy is :func:`~galcat.models.simulation.history.make_history` ``(seed, history)``,
every snapshot rendered by :func:`~galcat.models.simulation.render.render_snapshot`
with the galaxy's seed (as ``galcat mock simulation`` writes them). One row of
:attr:`SimulationSet.labels` per image (:data:`LABEL_DTYPE`): the phase index in
:data:`~galcat.models.simulation.history.PHASES`, the compaction cause (0 inflow,
1 merger, -1 before the compaction), the time since the last major merger (Gyr, NaN
before the first), and the snapshot and camera it comes from. Rendering a galaxy of
38 snapshots with 20 cameras takes a few seconds on one core; galaxies are built one
after another (no worker pool: the networks that read them want the cores).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from galcat.models.galaxy.mockset import data_fingerprint as _arrays_fingerprint
from galcat.models.simulation.history import CAUSES, PHASES, SimulatedGalaxy, make_history
from galcat.models.simulation.render import RenderedSnapshot, render_snapshot

NO_CAUSE = -1
LABEL_DTYPE = np.dtype([
    ("galaxy", "i4"), ("snapshot", "i4"), ("camera", "i4"),
    ("phase", "i1"), ("cause", "i1"), ("time_since_merger_gyr", "f8"),
    ("redshift", "f8"), ("time_gyr", "f8"), ("inclination_deg", "f8"),
    ("zero_point", "f8"), ("psf_fwhm_arcsec", "f8"), ("sky_sigma", "f8"),
])


@dataclass(frozen=True)
class SimulationSet:
    """Mock images ``(N, 64, 64)`` float32 (profile flux units) and their truth.

    ``labels`` has one :data:`LABEL_DTYPE` row per image; ``galaxy`` indexes the
    per-galaxy arrays ``names``, ``histories``, ``seeds`` and ``bn_time_gyr`` (the
    true blue-nugget time, Gyr).
    """

    images: np.ndarray
    labels: np.ndarray
    names: tuple[str, ...]
    histories: tuple[str, ...]
    seeds: tuple[int, ...]
    bn_time_gyr: np.ndarray

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def select(self, mask: np.ndarray) -> SimulationSet:
        """The images where ``mask`` (boolean or index array) holds; galaxies kept as they are."""
        return SimulationSet(self.images[mask], self.labels[mask], self.names, self.histories,
                             self.seeds, self.bn_time_gyr)


def snapshot_labels(galaxy_index: int, galaxy: SimulatedGalaxy,
                    seen: RenderedSnapshot) -> np.ndarray:
    """The :data:`LABEL_DTYPE` rows of one rendered snapshot (one per camera)."""
    truth = galaxy.snapshots[seen.snapshot_index]
    n = seen.images.shape[0]
    rows = np.zeros(n, dtype=LABEL_DTYPE)
    rows["galaxy"] = galaxy_index
    rows["snapshot"] = truth.snapshot_index
    rows["camera"] = np.arange(n)
    rows["phase"] = PHASES.index(truth.phase)
    rows["cause"] = (NO_CAUSE if truth.compaction_cause is None
                     else CAUSES.index(truth.compaction_cause))
    rows["time_since_merger_gyr"] = (np.nan if truth.time_since_merger_gyr is None
                                     else truth.time_since_merger_gyr)
    rows["redshift"] = truth.redshift
    rows["time_gyr"] = truth.time_gyr
    rows["inclination_deg"] = seen.inclination_deg
    rows["zero_point"] = seen.zero_point
    rows["psf_fwhm_arcsec"] = seen.psf_fwhm_arcsec
    rows["sky_sigma"] = seen.sky_sigma
    return rows


def mock_set(seeds_and_histories: Sequence[tuple[int, str]], n_cameras: int = 20, *,
             on_galaxy: Callable[[int, int], None] | None = None) -> SimulationSet:
    """All snapshots of the galaxies ``(seed, history)``, each seen by ``n_cameras`` cameras.

    Reproducible from its arguments; ``on_galaxy(done, total)`` reports progress.
    """
    if not seeds_and_histories:
        raise ValueError("mock_set needs at least one (seed, history) pair")
    images: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    galaxies: list[SimulatedGalaxy] = []
    for g, (seed, history) in enumerate(seeds_and_histories):
        galaxy = make_history(f"{history}-{seed}", int(seed), history)
        galaxies.append(galaxy)
        for truth in galaxy.snapshots:
            seen = render_snapshot(truth, int(seed), n_cameras=n_cameras)
            images.append(seen.images)
            labels.append(snapshot_labels(g, galaxy, seen))
        if on_galaxy is not None:
            on_galaxy(g + 1, len(seeds_and_histories))
    return SimulationSet(
        images=np.concatenate(images).astype(np.float32, copy=False),
        labels=np.concatenate(labels),
        names=tuple(x.name for x in galaxies), histories=tuple(x.history for x in galaxies),
        seeds=tuple(x.seed for x in galaxies),
        bn_time_gyr=np.array([x.bn_time_gyr for x in galaxies]))


def mixed_histories(seeds: Sequence[int], histories: Sequence[str] = ("compaction", "merger",
                                                                       "quiet"),
                    ) -> list[tuple[int, str]]:
    """``(seed, history)`` pairs cycling through ``histories``: a balanced mix."""
    return [(int(s), histories[i % len(histories)]) for i, s in enumerate(seeds)]


def data_fingerprint(sim: SimulationSet) -> str:
    """sha256 of the images, labels and blue-nugget times: the training-set fingerprint."""
    return _arrays_fingerprint(sim.images, sim.labels, sim.bn_time_gyr)
