"""Damaged spectrum files (truncated, bits flipped, header values mangled): reading one
raises a clear error naming the file or returns a consistent record, never anything else;
ingesting it beside a good file loads the good one and never half-writes the bad one."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from conftest import shared_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from galcat.catalog.db import Database
from galcat.catalog.formats.spectra import SpectrumFormatError, read_spectrum
from galcat.catalog.ingest.spectra import ingest_spectra
from galcat.catalog.schema import Spectrum, SpectrumPixels

GOOD = "spec-3655-55240-0002.fits"
OTHER = "spec-3655-55240-0026.fits"


@st.composite
def damaged(draw: st.DrawFn, original: bytes) -> bytes:
    """The file truncated, with bits flipped, or with a header value overwritten."""
    kind = draw(st.sampled_from(["truncate", "flip", "header"]))
    data = bytearray(original)
    if kind == "truncate":
        return bytes(data[:draw(st.integers(0, len(data) - 1))])
    if kind == "flip":
        for _ in range(draw(st.integers(1, 64))):
            position = draw(st.integers(0, len(data) - 1))
            data[position] ^= 1 << draw(st.integers(0, 7))
        return bytes(data)
    cards = [i for i in range(0, 2880 * 40, 80) if data[i + 8:i + 10] == b"= "]
    card = draw(st.sampled_from(cards))
    junk = draw(st.sampled_from([b"-1", b"99999999999", b"'x", b"T", b"1.5", b"NaN", b"",
                                 b"'BINTABLE'", b"0"]))
    data[card + 10:card + 80] = junk.ljust(70)
    return bytes(data)


@pytest.fixture(scope="module")
def originals() -> dict[str, bytes]:
    boss = shared_data("boss")
    return {name: (boss / name).read_bytes() for name in (GOOD, OTHER)}


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_reading_a_damaged_file_fails_clearly_or_reads_consistently(
    data: st.DataObject, originals: dict[str, bytes], tmp_path: Path
) -> None:
    path = tmp_path / "spec-3655-55240-0026.fits"
    path.write_bytes(data.draw(damaged(originals[OTHER])))
    try:
        record = read_spectrum(path)
    except SpectrumFormatError as exc:
        assert str(path) in str(exc)
        return
    assert record.loglam.size == record.flux.size == record.ivar.size > 0
    assert np.all(np.diff(record.loglam) > 0)


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_ingesting_a_damaged_file_beside_a_good_one(
    data: st.DataObject, originals: dict[str, bytes], sqlite_template: Path,
    tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    shutil.copy(sqlite_template, folder / "galcat.sqlite")
    (folder / GOOD).write_bytes(originals[GOOD])
    bad = folder / OTHER
    bad.write_bytes(data.draw(damaged(originals[OTHER])))
    db = Database.for_url(f"sqlite:///{folder / 'galcat.sqlite'}")
    try:
        summary = ingest_spectra(db, [folder / GOOD, bad])
        outcomes = {Path(f.path).name: f for f in summary.files}
        assert outcomes[GOOD].ok and outcomes[GOOD].rows_loaded == 1
        if not outcomes[OTHER].ok:
            assert all(OTHER in error for error in outcomes[OTHER].errors)
        with db.new_session() as session:
            spectra = session.execute(sa.select(sa.func.count()).select_from(Spectrum)).scalar()
            pixels = session.execute(sa.select(sa.func.count()).select_from(SpectrumPixels)
                                     ).scalar()
        assert spectra == pixels == summary.rows_loaded, "nothing half-written"
    finally:
        db.dispose()
