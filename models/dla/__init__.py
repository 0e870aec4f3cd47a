"""Damped Lyα absorbers: mocks, preprocessing, the window CNN, dense inference, scoring.

Importing this package does not import Keras; the network modules import it inside
the functions that need it.
"""

from .absorbers import AbsorberCatalog, PeakConfig, find_absorbers
from .dense import DensePredictions, predict_dense
from .evaluation import DLAScore, match_nearest, score_dla_catalog
from .mock import MockConfig, MockSightlines, generate_mock_sightlines
from .network import NetworkConfig, build_window_model, train, windows_and_labels
from .preprocess import PreparedSightlines, prepare_mock, prepare_sightline, prepare_sightlines

__all__ = [
    "AbsorberCatalog",
    "DLAScore",
    "DensePredictions",
    "MockConfig",
    "MockSightlines",
    "NetworkConfig",
    "PeakConfig",
    "PreparedSightlines",
    "build_window_model",
    "find_absorbers",
    "generate_mock_sightlines",
    "match_nearest",
    "predict_dense",
    "prepare_mock",
    "prepare_sightline",
    "prepare_sightlines",
    "score_dla_catalog",
    "train",
    "windows_and_labels",
]
