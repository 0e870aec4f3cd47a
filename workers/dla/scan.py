"""``galcat scan dla``: the quick look. Spectrum files in, a DLA table out, no database.

Same model and the same post-processing (``models.dla.pipeline.find_dlas``) as the
``infer dla`` job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from galcat.catalog.formats.registry import find_files
from galcat.catalog.formats.spectra import SpectrumFormatError, SpectrumRecord, read_spectrum
from galcat.catalog.formats.tables import write_table
from galcat.catalog.pixels import highest_snr
from galcat.catalog.release.definitions import DLA_ABSORBERS, DLA_SIGHTLINES
from galcat.catalog.settings import Settings
from galcat.workers.model_io import ModelNotFound, OpenedModel, open_model

RELEASE_COLUMNS = {c.name: c for table in (DLA_SIGHTLINES, DLA_ABSORBERS) for c in table.columns}
"""The quick look's columns carry the units and descriptions of the release's columns of
the same name (declared once, in :mod:`galcat.catalog.release.definitions`)."""


@dataclass
class ScanResult:
    absorbers_path: Path
    sightlines_path: Path
    n_spectra: int = 0
    n_absorbers: int = 0
    n_repeats: int = 0
    """Spectra set aside because another observation of the quasar has higher S/N."""
    errors: list[str] = field(default_factory=list)


def best_observations(observations: Sequence[tuple[int | None, float | None]]) -> list[int]:
    """Indices (in input order) of the spectra to search, given (thing_id, median S/N) of
    each: of several observations of one quasar (same positive THING_ID) only the one
    with the highest S/N, by the rule ``infer dla`` uses; spectra without a THING_ID are
    all kept."""
    identified = [i for i, (thing_id, _) in enumerate(observations) if thing_id and thing_id > 0]
    chosen = highest_snr([observations[i] for i in identified])
    kept = set(range(len(observations))) - set(identified)
    return sorted(kept | {identified[k] for k in chosen.values()})


def open_dla(settings: Settings, reference: str | Path | None = None
             ) -> tuple[Any, Any, OpenedModel]:
    """(window model, network config, opened model) of the DLA model ``reference`` names
    (see :func:`galcat.workers.model_io.open_model`; None: the shipped model)."""
    from galcat.models.dla.network import NetworkConfig

    opened = open_model(settings, reference, "dla")
    network = opened.hyperparameters.get("network")
    if network is None:
        raise ModelNotFound(f"{opened.label}: a DLA model needs its network settings; give "
                            "an exported model folder (with model.json) or a registry reference")
    return opened.model, NetworkConfig.from_dict(network), opened


def default_refinement() -> Any:
    """The Voigt refinement's default settings (``--refine``)."""
    from galcat.models.dla.refine import RefineConfig

    return RefineConfig()


def scan_dla(paths: Sequence[str | Path], out: Path, model: Any, network: Any,
             z_qso: float | None = None, batch: int = 64, refine: Any | None = None) -> ScanResult:
    """Search every readable spectrum, each quasar once (its highest-S/N observation);
    unreadable files are reported, the rest scanned. ``refine``: a ``RefineConfig`` to
    refine every candidate by a Voigt-profile fit."""
    from galcat.models.dla.pipeline import find_dlas

    result = ScanResult(out, out.with_name(f"{out.stem}_sightlines{out.suffix}"))
    records: list[SpectrumRecord] = []
    for path in find_files("spectrum", paths):
        try:
            records.append(read_spectrum(path, z_qso=z_qso))
        except SpectrumFormatError as exc:
            result.errors.append(str(exc))
    chosen = best_observations([(r.thing_id, r.snr_median) for r in records])
    result.n_repeats = len(records) - len(chosen)
    records = [records[k] for k in chosen]
    absorber_rows: list[dict[str, Any]] = []
    sightline_rows: list[dict[str, Any]] = []
    for start in range(0, len(records), batch):
        chunk = records[start:start + batch]
        catalog = find_dlas(model, network, [(r.loglam, r.flux, r.ivar, r.z_qso) for r in chunk],
                            refine=refine)
        for i, record in enumerate(chunk):
            ident = _identity(record)
            source = Path(record.source_path).name
            summary = catalog.sightlines[i]
            found = catalog.absorbers[catalog.absorbers["sightline"] == i]
            sightline_rows.append({**ident, "z_min": float(summary["z_search_min"]),
                                   "z_max": float(summary["z_search_max"]),
                                   "snr": float(summary["snr"]), "n_absorbers": int(found.size),
                                   "source_file": source})
            absorber_rows += [{**ident, "z_dla": float(a["z_dla"]), "log_nhi": float(a["log_nhi"]),
                               "log_nhi_err": float(a["log_nhi_err"]),
                               "z_dla_err": float(a["z_dla_err"]), "p_dla": float(a["p_dla"]),
                               "confidence": float(a["confidence"]), "type": str(a["type"]),
                               "source_file": source} for a in found]
    result.n_spectra = len(records)
    out.parent.mkdir(parents=True, exist_ok=True)
    result.n_absorbers = len(absorber_rows)
    write_table(_table(absorber_rows, ABSORBER_COLUMNS), result.absorbers_path)
    write_table(_table(sightline_rows, SIGHTLINE_COLUMNS), result.sightlines_path)
    return result


IDENTITY_COLUMNS = ["plate", "mjd", "fiber", "thing_id", "ra", "dec", "z_qso"]
ABSORBER_COLUMNS = [*IDENTITY_COLUMNS, "z_dla", "log_nhi", "log_nhi_err", "z_dla_err", "p_dla",
                    "confidence", "type", "source_file"]
SIGHTLINE_COLUMNS = [*IDENTITY_COLUMNS, "z_min", "z_max", "snr", "n_absorbers", "source_file"]


def _identity(record: SpectrumRecord) -> dict[str, Any]:
    return {"plate": record.plate if record.plate is not None else -1,
            "mjd": record.mjd if record.mjd is not None else -1,
            "fiber": record.fiber if record.fiber is not None else -1,
            "thing_id": record.thing_id if record.thing_id is not None else -1,
            "ra": float(record.ra_deg), "dec": float(record.dec_deg),
            "z_qso": float(record.z_qso)}


def _table(rows: list[dict[str, Any]], columns: list[str]) -> Any:
    from astropy.table import Table

    table = Table(rows=[[r[c] for c in columns] for r in rows], names=columns) if rows else \
        Table(names=columns, dtype=[_dtype(c) for c in columns])
    for name in table.colnames:
        column = RELEASE_COLUMNS.get(name)
        if column is not None:
            table[name].unit = column.unit or None
            table[name].description = column.description
    table["source_file"].description = "File the spectrum was read from"
    return table


def _dtype(column: str) -> str:
    if column in ("plate", "mjd", "fiber", "thing_id", "n_absorbers"):
        return "i8"
    return "U16" if column in ("type", "source_file") else "f8"
