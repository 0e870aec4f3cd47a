"""The 44 real BOSS DR12 spectra: read cleanly, metadata agree with index.csv, damage is caught."""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_data

from galcat.catalog.formats.spectra import (
    SpectrumFormatError,
    read_boss_spec,
    read_spectrum,
)


@pytest.fixture(scope="module")
def boss_dir() -> Path:
    return shared_data("boss")


@pytest.fixture(scope="module")
def index(boss_dir: Path) -> dict[str, dict[str, str]]:
    with open(boss_dir / "index.csv", newline="") as fh:
        return {row["file"]: row for row in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def records(boss_dir: Path):
    return {p.name: read_boss_spec(p) for p in sorted(boss_dir.glob("spec-*.fits"))}


def test_all_44_spectra_read_with_index_metadata(records, index) -> None:
    assert len(records) == 44 and set(records) == set(index)
    for name, rec in records.items():
        row = index[name]
        assert (rec.plate, rec.mjd, rec.fiber) == (
            int(row["plate"]),
            int(row["mjd"]),
            int(row["fiber"]),
        ), name
        assert rec.thing_id == int(row["thing_id"]), name
        assert rec.ra_deg == pytest.approx(float(row["plug_ra"]), abs=1e-6)
        assert rec.dec_deg == pytest.approx(float(row["plug_dec"]), abs=1e-6)
        assert rec.z_qso == pytest.approx(float(row["z_pipeline"]), abs=1e-4)
        assert rec.n_pixels == int(row["npix"])
        assert np.allclose(np.diff(rec.loglam), 1e-4, atol=2e-6)
        assert 3550 < rec.wavelength_aa[0] < 3700 and rec.wavelength_aa[-1] > 10000
        assert np.isfinite(rec.flux).all() and (rec.ivar >= 0).all()
        assert rec.z_qso >= 2.15


def test_brightsky_pixels_get_zero_ivar_and_others_keep_theirs(records, boss_dir) -> None:
    from astropy.io import fits

    flagged_any = False
    for name in list(records)[:10]:
        rec = records[name]
        with fits.open(boss_dir / name) as hdul:
            raw_ivar = np.asarray(hdul[1].data["IVAR"], dtype=np.float32)
        bright = (rec.and_mask >> 23) & 1 == 1
        flagged_any |= bool(bright.any())
        assert np.all(rec.ivar[bright] == 0)
        assert np.array_equal(rec.ivar[~bright], raw_ivar[~bright])
    assert flagged_any


def test_two_observations_of_one_thing_id_are_one_sightline(records) -> None:
    by_thing = defaultdict(list)
    for name, rec in records.items():
        by_thing[rec.thing_id].append(name)
    repeats = {k: sorted(v) for k, v in by_thing.items() if len(v) > 1}
    assert list(repeats.values()) == [["spec-3655-55240-0890.fits", "spec-3657-55244-0552.fits"]]
    a, b = (records[n] for n in next(iter(repeats.values())))
    assert a.ra_deg == pytest.approx(b.ra_deg, abs=1e-4)
    assert a.sha256 != b.sha256


def test_sha256_is_the_digest_of_the_file_bytes(records, boss_dir) -> None:
    name = "spec-3655-55240-0002.fits"
    assert records[name].sha256 == hashlib.sha256((boss_dir / name).read_bytes()).hexdigest()
    assert records[name].source_path == str(boss_dir / name)


def test_auto_detection_reads_boss_files(boss_dir) -> None:
    rec = read_spectrum(boss_dir / "spec-3655-55240-0030.fits")
    assert rec.file_format == "boss" and rec.fiber == 30


@pytest.mark.parametrize("keep_bytes", [100_000, 20_000, 3_000])
def test_truncated_copy_raises_naming_the_file(boss_dir, tmp_path, keep_bytes) -> None:
    data = (boss_dir / "spec-3655-55240-0002.fits").read_bytes()
    broken = tmp_path / "spec-3655-55240-0002.fits"
    broken.write_bytes(data[:keep_bytes])
    with pytest.raises(SpectrumFormatError, match=str(broken)) as err:
        read_boss_spec(broken)
    assert "truncated" in str(err.value) or "not a readable" in str(err.value)


def test_fast_specobj_decoding_agrees_with_astropy(boss_dir) -> None:
    import io

    from astropy.io import fits

    from galcat.catalog.formats.fits_rows import first_row_fields
    from galcat.catalog.formats.spectra import _SPECOBJ_KEYS

    data = (boss_dir / "spec-3657-55244-0552.fits").read_bytes()
    with fits.open(io.BytesIO(data)) as hdul:
        fast = first_row_fields(hdul, 2, data, _SPECOBJ_KEYS)
        row = hdul[2].data[0]
        assert set(fast) == set(_SPECOBJ_KEYS)
        for key in _SPECOBJ_KEYS:
            assert fast[key] == row[key], key


def test_the_fast_byte_reader_agrees_with_astropy_on_every_real_file(boss_dir: Path) -> None:
    """``read_spectrum`` decodes BOSS files straight from their bytes; astropy's reading of
    the same bytes must give the same arrays and metadata, bit for bit."""
    from galcat.catalog.formats.spectra import (
        _boss_fast,
        _boss_from_hdul,
        _open_fits,
        read_file_bytes,
    )

    files = sorted(boss_dir.glob("spec-*.fits"))
    assert len(files) == 44
    for path in files:
        data, digest = read_file_bytes(path)
        fast = _boss_fast(path, data, digest)
        assert fast is not None, path.name
        slow = _boss_from_hdul(path, _open_fits(path, data), digest, data)
        for name in ("loglam", "flux", "ivar", "and_mask"):
            assert np.array_equal(getattr(fast, name), getattr(slow, name)), (path.name, name)
        for name in ("plate", "mjd", "fiber", "thing_id", "ra_deg", "dec_deg", "z_qso", "sha256"):
            assert getattr(fast, name) == getattr(slow, name), (path.name, name)


def test_the_fast_reader_declines_what_it_does_not_handle(boss_dir: Path) -> None:
    from galcat.catalog.formats.fits_bytes import FitsLayoutError, read_hdus

    data = (boss_dir / "spec-3655-55240-0002.fits").read_bytes()
    with pytest.raises(FitsLayoutError, match="END"):
        read_hdus(data[:2000])
    with pytest.raises(FitsLayoutError, match="SIMPLE"):
        read_hdus(b"END".ljust(2880))
