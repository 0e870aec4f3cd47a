"""``galcat mock spectra``: mock quasar sightlines written as real BOSS spec files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from galcat.catalog.formats.boss_writer import write_boss_spec
from galcat.catalog.formats.spectra import SpectrumRecord

MOCK_PLATE0 = 8000
MOCK_MJD0 = 60000
MOCK_THING_ID0 = 1_500_000_000
MOCK_PER_SEED = 50_000


def write_mock_spectra(n: int, out_dir: Path, seed: int, centre_deg: tuple[float, float] =
                       (150.0, 2.0), radius_deg: float = 3.0, show_progress: bool = True
                       ) -> Path:
    """Write ``n`` mock sightlines as ``spec-PLATE-MJD-FIBER.fits`` and ``truth.ecsv``.

    Positions are uniform within ``radius_deg`` of ``centre_deg`` (RA, Dec in degrees).
    """
    from astropy.table import Table
    from rich.progress import track

    from galcat.models.dla.mock import generate_mock_sightlines

    out_dir.mkdir(parents=True, exist_ok=True)
    mock = generate_mock_sightlines(n, seed)
    rng = np.random.default_rng(seed + 1)
    r = radius_deg * np.sqrt(rng.uniform(0, 1, n))
    theta = rng.uniform(0, 2 * np.pi, n)
    dec = centre_deg[1] + r * np.sin(theta)
    ra = (centre_deg[0] + r * np.cos(theta) / np.cos(np.radians(dec))) % 360.0
    plate = MOCK_PLATE0 + np.arange(n) // 1000
    fiber = np.arange(n) % 1000 + 1
    mjd = MOCK_MJD0 + seed % 10000
    if n > MOCK_PER_SEED:
        raise ValueError(f"at most {MOCK_PER_SEED} mock sightlines per seed (THING_ID is 32-bit)")
    thing_id = MOCK_THING_ID0 + (seed % 10_000) * MOCK_PER_SEED + np.arange(n)
    indices = track(range(n), description="writing mock spectra") if show_progress else range(n)
    for i in indices:
        path = out_dir / f"spec-{plate[i]:04d}-{mjd:05d}-{fiber[i]:04d}.fits"
        loglam, flux, ivar, z_qso = mock.sightline(i)
        write_boss_spec(path, SpectrumRecord(
            plate=int(plate[i]), mjd=int(mjd), fiber=int(fiber[i]), thing_id=int(thing_id[i]),
            ra_deg=float(ra[i]), dec_deg=float(dec[i]), z_qso=z_qso,
            loglam=loglam, flux=flux.astype(np.float32), ivar=ivar.astype(np.float32),
            and_mask=np.zeros(loglam.size, np.int32), source_path=str(path), sha256=""),
            overwrite=True)
    truth = Table(mock.truth)
    idx = truth["sightline"]
    truth["plate"], truth["mjd"], truth["fiber"] = plate[idx], np.full(len(truth), mjd), fiber[idx]
    truth["thing_id"] = thing_id[idx]
    truth["z_abs"].unit = ""
    truth["log_nhi"].unit = "dex(cm-2)"
    sightlines = Table({"sightline": np.arange(n), "plate": plate, "mjd": np.full(n, mjd),
                        "fiber": fiber, "thing_id": thing_id, "ra": ra, "dec": dec,
                        "z_qso": mock.z_qso, "snr": mock.snr})
    sightlines.write(out_dir / "sightlines.ecsv", overwrite=True)
    path = out_dir / "truth.ecsv"
    truth.write(path, overwrite=True)
    return path
