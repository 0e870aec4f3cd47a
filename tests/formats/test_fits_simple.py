"""The one-image FITS reader gives what astropy gives, and leaves everything else to it."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from galcat.catalog.formats import images
from galcat.catalog.formats.fits_simple import read_simple_fits
from galcat.catalog.formats.images import ImageRecord, read_image
from galcat.workers.galaxy.scan import write_mock_galaxies


def _same(fast: ImageRecord, slow: ImageRecord) -> None:
    for name in fast.__dataclass_fields__:
        a, b = getattr(fast, name), getattr(slow, name)
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
        elif name == "wcs_header":
            assert bool(a) == bool(b)
        elif name == "centre_deg" and a is not None and b is not None:
            assert a == pytest.approx(b, abs=1e-9)
        elif name == "pixel_scale_arcsec" and a is not None and b is not None:
            assert a == pytest.approx(b, rel=1e-9)
        else:
            assert a == b, name


def _both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ImageRecord, ImageRecord]:
    fast = read_image(path)
    with monkeypatch.context() as patch:
        patch.setattr(images, "read_simple_fits", lambda raw: None)
        return fast, read_image(path)


def _raw(path: Path) -> bytes:
    raw = path.read_bytes()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def test_mock_cutouts_read_as_astropy_reads_them(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    write_mock_galaxies(10, tmp_path, 11)
    for path in sorted(tmp_path.glob("*.fits")):
        assert read_simple_fits(path.read_bytes()) is not None
        _same(*_both(path, monkeypatch))


def test_real_files_read_as_astropy_reads_them(shared_galaxies: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    for path in sorted(shared_galaxies.rglob("*.fits*")):
        try:
            slow = _both(path, monkeypatch)
        except images.ImageFormatError:
            continue
        _same(*slow)


def _write(path: Path, data: np.ndarray, cards: list[tuple], gz: bool = False) -> Path:
    header = fits.Header(cards)
    buffer = io.BytesIO()
    fits.PrimaryHDU(data, header).writeto(buffer)
    raw = buffer.getvalue()
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


CARDS = [("CTYPE1", "RA---TAN"), ("CTYPE2", "DEC--TAN"), ("CRPIX1", 4.0), ("CRPIX2", 3.5),
         ("CRVAL1", 10.5), ("CRVAL2", -45.0), ("CD1_1", -1e-4), ("CD1_2", 0.0),
         ("CD2_1", 0.0), ("CD2_2", 1e-4), ("MAGZERO", 27.0, "AB"), ("NAME", "it''s  "),
         ("QUOTE", "don't"), ("FLAG", True), ("OFF", False), ("NEG", -12), ("BIG", 1.5e300),
         ("", "a blank card"), ("HISTORY", "made by a test"), ("BAND", "r")]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_header_values_and_text_match_astropy(tmp_path: Path, dtype: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    data = np.random.default_rng(3).normal(size=(7, 9)).astype(dtype)
    data[0, 0], data[1, 1] = np.nan, -np.inf
    path = _write(tmp_path / "a.fits.gz", data, CARDS, gz=True)
    assert read_simple_fits(_raw(path)) is not None
    fast, slow = _both(path, monkeypatch)
    _same(fast, slow)
    assert fast.bands == ("r",) and fast.zero_point == 27.0 and fast.centre_deg is not None


def test_d_exponents_parse_as_astropy_parses_them(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "d.fits", np.ones((4, 4), "float32"), CARDS)
    raw = bytearray(path.read_bytes())
    card = f"{'EXPD':8}= {'1.25D+02':>20}".ljust(80).encode()
    at = raw.index(b"HISTORY")
    raw[at:at + 80] = card
    path.write_bytes(bytes(raw))
    fast, slow = _both(path, monkeypatch)
    _same(fast, slow)
    assert fast.header["EXPD"] == 125.0


@pytest.mark.parametrize("case", ["extension", "scaled", "integer", "long string", "cube",
                                  "truncated", "undefined", "sip", "duplicate"])
def test_other_files_are_left_to_astropy(tmp_path: Path, case: str) -> None:
    data = np.ones((6, 5), "float32")
    cards = list(CARDS)
    if case == "long string":
        cards.append(("LONG", "x" * 120))
    if case == "sip":
        cards[:2] = [("CTYPE1", "RA---TAN-SIP"), ("CTYPE2", "DEC--TAN-SIP")]
    header = fits.Header(cards)
    if case == "undefined":
        header["UNDEF"] = None
    if case == "duplicate":
        header.append(("NEG", 3), useblanks=False, bottom=True)
    hdus = [fits.PrimaryHDU(np.ones((2, 6, 5), "float32") if case == "cube" else
                            data.astype("int16") if case == "integer" else data, header)]
    if case == "extension":
        hdus.append(fits.ImageHDU(data, name="RMS"))
    buffer = io.BytesIO()
    fits.HDUList(hdus).writeto(buffer)
    raw = buffer.getvalue()
    if case == "truncated":
        raw = raw[:-100]
    if case == "scaled":
        at = raw.index(b"HISTORY")
        raw = raw[:at] + f"{'BSCALE':8}= {'2.0':>20}".ljust(80).encode() + raw[at + 80:]
    simple = read_simple_fits(raw)
    if case == "sip":
        assert simple is not None
        path = tmp_path / "sip.fits"
        path.write_bytes(raw)
        assert images._from_simple(path, "x", simple) is None
    else:
        assert simple is None
