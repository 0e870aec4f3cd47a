"""Readers for the Parks et al. (2018) held-out test set of the DLA CNN (DeepIGM/dla_cnn).

Two gzipped JSON files describe the same 10,000 synthetic sightlines:

- truth ``test_dlas_96629_10000.json.gz``: ``{"<i>": {"nDLA": n, "sl": source sightline,
  "0": {"zabs": z, "NHI": log N_HI}, …}}`` for i = 0 … 9999;
- predictions ``test_dlas_96629_predictions.json.gz``: a list, entry i has ``id``
  ``…_ix_<i>``, ``z_qso`` and ``dlas``: absorbers with ``z_dla``, ``column_density``
  (log N_HI, bias-corrected), ``std_column_density``, ``column_density_bias_adjust``,
  ``dla_confidence``, ``type`` (DLA / SUBDLA / LYB), ``rest`` and ``spectrum`` (Å).
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

TRUTH_FILE = "test_dlas_96629_10000.json.gz"
PREDICTIONS_FILE = "test_dlas_96629_predictions.json.gz"

PARKS_TRUTH_DTYPE = np.dtype(
    [("sightline", np.int64), ("z_abs", np.float64), ("log_nhi", np.float64), ("sl", np.int64)]
)
PARKS_PREDICTION_DTYPE = np.dtype(
    [
        ("sightline", np.int64),
        ("z_qso", np.float64),
        ("z_dla", np.float64),
        ("log_nhi", np.float64),
        ("log_nhi_err", np.float64),
        ("log_nhi_bias_adjust", np.float64),
        ("confidence", np.float64),
        ("type", "U6"),
        ("wavelength_obs_aa", np.float64),
    ]
)
_ID_INDEX = re.compile(r"_ix_(\d+)$")


class Parks18FormatError(ValueError):
    """A Parks+2018 test file does not have the expected structure."""


def _load_json(path: Path) -> Any:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, EOFError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Parks18FormatError(f"{path}: not a readable gzipped JSON file ({exc})") from exc


def read_parks18_truth(path: str | Path) -> np.ndarray:
    """Inserted DLAs of the test set, one row each (``PARKS_TRUTH_DTYPE``), ordered by sightline."""
    path = Path(path)
    data = _load_json(path)
    if not isinstance(data, dict):
        raise Parks18FormatError(f"{path}: expected a JSON object keyed by sightline index")
    rows = []
    try:
        for key in sorted(data, key=int):
            entry = data[key]
            for k in range(int(entry["nDLA"])):
                dla = entry[str(k)]
                rows.append((int(key), float(dla["zabs"]), float(dla["NHI"]), int(entry["sl"])))
    except (KeyError, TypeError, ValueError) as exc:
        raise Parks18FormatError(f"{path}: sightline {key!r} is malformed ({exc!r})") from exc
    return np.array(rows, dtype=PARKS_TRUTH_DTYPE)


def read_parks18_predictions(path: str | Path) -> tuple[np.ndarray, int]:
    """(predicted absorbers as ``PARKS_PREDICTION_DTYPE``, number of sightlines searched).

    The sightline index is taken from each entry's ``id`` suffix ``_ix_<i>`` and must
    equal its position in the list.
    """
    path = Path(path)
    data = _load_json(path)
    if not isinstance(data, list):
        raise Parks18FormatError(f"{path}: expected a JSON list of sightlines")
    rows = []
    for position, entry in enumerate(data):
        try:
            match = _ID_INDEX.search(str(entry["id"]))
            if match is None or int(match.group(1)) != position:
                raise Parks18FormatError(
                    f"{path}: entry {position} has id {entry['id']!r}, "
                    f"expected the suffix _ix_{position}"
                )
            for dla in entry["dlas"]:
                rows.append(
                    (
                        position,
                        float(entry["z_qso"]),
                        float(dla["z_dla"]),
                        float(dla["column_density"]),
                        float(dla["std_column_density"]),
                        float(dla["column_density_bias_adjust"]),
                        float(dla["dla_confidence"]),
                        str(dla["type"]),
                        float(dla["spectrum"]),
                    )
                )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, Parks18FormatError):
                raise
            raise Parks18FormatError(f"{path}: entry {position} is malformed ({exc!r})") from exc
    return np.array(rows, dtype=PARKS_PREDICTION_DTYPE), len(data)


def read_parks18_redshifts(path: str | Path) -> np.ndarray:
    """Quasar redshift of every sightline of the predictions file, in list order (also
    those where the CNN reported nothing)."""
    path = Path(path)
    data = _load_json(path)
    if not isinstance(data, list):
        raise Parks18FormatError(f"{path}: expected a JSON list of sightlines")
    try:
        return np.array([float(entry["z_qso"]) for entry in data])
    except (KeyError, TypeError, ValueError) as exc:
        raise Parks18FormatError(f"{path}: an entry has no numeric z_qso ({exc!r})") from exc
