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
from galcat.models.shipped import ShippedModel, shipped_model

ABSORBER_UNITS = {"ra": "deg", "dec": "deg", "log_nhi": "dex(cm-2)", "log_nhi_err": "dex"}


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


def load_shipped_dla(folder: Path | None = None) -> tuple[Any, Any, ShippedModel]:
    """(window model, network config, record) of a shipped or exported DLA model."""
    import keras

    from galcat.models.dla.network import NetworkConfig
    from galcat.workers.model_io import configure_backend

    shipped = ShippedModel.read(folder) if folder else shipped_model("dla")
    configure_backend()
    model = keras.saving.load_model(shipped.verified_weights(), safe_mode=True, compile=False)
    return model, NetworkConfig.from_dict(shipped.record["hyperparameters"]["network"]), shipped


def scan_dla(paths: Sequence[str | Path], out: Path, model_dir: Path | None = None,
             z_qso: float | None = None, batch: int = 64) -> ScanResult:
    """Search every readable spectrum, each quasar once (its highest-S/N observation);
    unreadable files are reported, the rest scanned."""
    from galcat.models.dla.pipeline import find_dlas

    model, network, _ = load_shipped_dla(model_dir)
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
        catalog = find_dlas(model, network, [(r.loglam, r.flux, r.ivar, r.z_qso) for r in chunk])
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
                               "confidence": float(a["confidence"]), "type": str(a["type"]),
                               "source_file": source} for a in found]
    result.n_spectra = len(records)
    out.parent.mkdir(parents=True, exist_ok=True)
    result.n_absorbers = len(absorber_rows)
    write_table(_table(absorber_rows, ABSORBER_COLUMNS), result.absorbers_path)
    write_table(_table(sightline_rows, SIGHTLINE_COLUMNS), result.sightlines_path)
    return result


IDENTITY_COLUMNS = ["plate", "mjd", "fiber", "thing_id", "ra", "dec", "z_qso"]
ABSORBER_COLUMNS = [*IDENTITY_COLUMNS, "z_dla", "log_nhi", "log_nhi_err", "confidence", "type",
                    "source_file"]
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
    for name, unit in ABSORBER_UNITS.items():
        if name in table.colnames:
            table[name].unit = unit
    return table


def _dtype(column: str) -> str:
    if column in ("plate", "mjd", "fiber", "thing_id", "n_absorbers"):
        return "i8"
    return "U16" if column in ("type", "source_file") else "f8"
