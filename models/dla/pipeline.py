"""Spectra in, absorbers out: the one post-processing path shared by jobs and quick looks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .absorbers import AbsorberCatalog, PeakConfig, find_absorbers
from .dense import predict_dense
from .network import NetworkConfig
from .preprocess import prepare_sightlines
from .refine import RefineConfig, refine_catalog

Spectrum = tuple[np.ndarray, np.ndarray, np.ndarray, float]


def find_dlas(model: Any, network: NetworkConfig, spectra: Sequence[Spectrum],
              batch_size: int = 32, refine: RefineConfig | None = None) -> AbsorberCatalog:
    """Absorbers and searched ranges for spectra given as (log10 λ/Å, flux, ivar, z_qso);
    with ``refine``, each candidate's N_HI and z also from a Voigt-profile fit
    (:mod:`models.dla.refine`)."""
    prepared = prepare_sightlines(spectra, window_pixels=network.window_pixels)
    catalog = find_absorbers(predict_dense(model, network, prepared, batch_size), prepared,
                             PeakConfig.for_network(network))
    if refine is None:
        return catalog
    return refine_catalog(catalog, prepared, network.error_model, refine)
