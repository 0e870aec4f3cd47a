"""The DLA finder as a platform job: sightlines in, ``dla_absorber`` and
``sightline_search`` rows out (registered as inference task ``dla``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from galcat.catalog.db import Database
from galcat.catalog.pixels import best_spectra, spectrum_arrays
from galcat.catalog.schema import DlaAbsorber, ModelVersion, Sightline, SightlineSearch
from galcat.catalog.settings import Settings
from galcat.workers.model_io import load_model
from galcat.workers.queue.sharding import InferenceTask


@dataclass(frozen=True)
class LoadedDla:
    model: Any
    network: Any


def load_dla(settings: Settings, version: ModelVersion) -> LoadedDla:
    """The version's window model and its network geometry."""
    from galcat.models.dla.network import NetworkConfig

    network = NetworkConfig.from_dict(version.hyperparameters["network"])
    return LoadedDla(load_model(settings, version), network)


def predict_dla(loaded: LoadedDla, session: Session, ids: list[int]) -> list[dict[str, Any]]:
    """One row per sightline: where it was searched and the absorbers found."""
    from galcat.models.dla.pipeline import find_dlas

    chosen = best_spectra(session, ids)
    z_qso: dict[int, float | None] = dict(session.execute(
        sa.select(Sightline.id, Sightline.z_qso).where(Sightline.id.in_(ids))).all())
    order = [i for i in ids if i in chosen and z_qso.get(i) is not None]
    spectra = []
    for sightline_id in order:
        loglam, flux, ivar = spectrum_arrays(session, chosen[sightline_id])
        spectra.append((loglam, flux, ivar, float(z_qso[sightline_id] or 0.0)))
    if not spectra:
        return []
    catalog = find_dlas(loaded.model, loaded.network, spectra)
    rows = []
    for i, sightline_id in enumerate(order):
        summary = catalog.sightlines[i]
        found = catalog.absorbers[catalog.absorbers["sightline"] == i]
        rows.append({
            "sightline_id": sightline_id,
            "z_min": float(summary["z_search_min"]), "z_max": float(summary["z_search_max"]),
            "snr": float(summary["snr"]),
            "absorbers": [
                {"absorber_index": k, "z_dla": float(a["z_dla"]), "log_nhi": float(a["log_nhi"]),
                 "log_nhi_err": float(a["log_nhi_err"]), "z_dla_err": _finite(a["z_dla_err"]),
                 "p_dla": float(a["p_dla"]), "confidence": float(a["confidence"]),
                 "type": str(a["type"])}
                for k, a in enumerate(found)],
        })
    return rows


def _finite(value: Any) -> float | None:
    return float(value) if np.isfinite(value) else None


def write_dla(db: Database, session: Session, version_id: int, rows: list[dict[str, Any]]) -> None:
    """Replace this version's absorbers of these sightlines; upsert where it looked."""
    ids = [r["sightline_id"] for r in rows]
    if not ids:
        return
    session.execute(sa.delete(DlaAbsorber).where(
        DlaAbsorber.model_version_id == version_id, DlaAbsorber.sightline_id.in_(ids)))
    absorbers = [{**a, "model_version_id": version_id, "sightline_id": r["sightline_id"]}
                 for r in rows for a in r["absorbers"]]
    if absorbers:
        session.execute(sa.insert(DlaAbsorber), absorbers)
    searches = [{"model_version_id": version_id, "sightline_id": r["sightline_id"],
                 "z_min": r["z_min"], "z_max": r["z_max"], "snr": r["snr"],
                 "n_absorbers": len(r["absorbers"])} for r in rows]
    db.upsert(session, cast(sa.Table, SightlineSearch.__table__), searches,
              key=("model_version_id", "sightline_id"))


DLA_TASK = InferenceTask(cast(sa.Table, Sightline.__table__), predict_dla, write_dla,
                             load_dla, cast(sa.Table, SightlineSearch.__table__), "sightline_id")
