"""Damaged galaxy images (truncated, bits flipped, a header value set to junk, another kind
of file under an image's name): reading one raises a clear error naming the file or returns
a consistent record; ingesting one beside a good image loads the good one and either loads
the damaged one whole or refuses it with an error naming the file, never raises, and never
keeps any of a refused image (pixels, galaxy, labels). A damaged noise map, mask or PSF
refuses only the image it belongs to."""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from astropy.io import fits
from conftest import shared_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image as Pil

from galcat.catalog.db import Database
from galcat.catalog.formats.errors import InputError
from galcat.catalog.formats.image_groups import ImageGroup, read_group
from galcat.catalog.formats.images import ImageFormatError
from galcat.catalog.formats.profile_writer import write_profile_fits
from galcat.catalog.ingest.images import ingest_images
from galcat.catalog.schema import Galaxy, Image, ImagePixels, Label
from galcat.workers.galaxy.scan import write_mock_galaxies

SEED = 7
GOOD = f"mock_{SEED}_00000.fits"
STEM = f"mock_{SEED}_00001"
FITS_KEYS = [b"SIMPLE", b"BITPIX", b"NAXIS", b"NAXIS1", b"NAXIS2", b"NAXIS3", b"EXTEND",
             b"BSCALE", b"BZERO", b"BLANK", b"XTENSION", b"PCOUNT", b"GCOUNT", b"END",
             b"CRVAL1", b"CD1_1", b"CTYPE1", b"MAGZERO", b"EXTNAME", b"IMAGETYP"]
FITS_JUNK = [b"-1", b"0", b"3", b"99999999999", b"-32", b"64", b"-64", b"'x", b"T", b"F",
             b"1.5", b"NaN", b"inf", b"1E400", b"", b"'IMAGE   '", b"'BINTABLE'", b"'RMS'",
             b"'IVAR'", b"(1, 2)"]
NPY_JUNK = [b"()", b"(0,)", b"(48,)", b"(40, 49)", b"(1, 40, 48, 1)", b"(-1, 48)",
            b"(99999999, 99999999)", b"'x'", b"(40, 48, 0)", b"(40, 48", b"(1, 1)"]
NPY_DTYPES = [b"'|O'", b"'<c8'", b"'<U4'", b"'>f8'", b"'|b1'", b"'<m8[s]'", b"'|V4'", b"'x'"]
SIZES = [0, 1, 40, 4096, 65535, 100_000, 2**31 - 1]
CARD = re.compile(rb"[A-Z0-9_ -]{8}= |END {77}")


class Damaged:
    """A damaged file's bytes, shown in failure reports by how they were damaged."""

    def __init__(self, data: bytes, how: str) -> None:
        self.data, self.how = data, how

    def __repr__(self) -> str:
        return f"<{self.how}: {len(self.data)} bytes>"


class Files(dict[str, bytes]):
    """Good files by name, shown in failure reports by their names only."""

    def __repr__(self) -> str:
        return f"<files {', '.join(self)}>"


def _cards(data: bytes) -> list[int]:
    """Offsets of the keyword cards of every header of a FITS file."""
    return [m.start() for m in CARD.finditer(data) if m.start() % 80 == 0]


def _damage_fits_header(draw: st.DrawFn, data: bytearray) -> tuple[bytes, str]:
    cards, edits = _cards(bytes(data)), []
    for _ in range(draw(st.integers(1, 3))):
        card = draw(st.sampled_from(cards))
        value = draw(st.sampled_from(FITS_JUNK))
        key = draw(st.sampled_from([b"", *FITS_KEYS]))
        if key:
            data[card:card + 80] = (key.ljust(8) + b"= " + value).ljust(80)[:80]
        else:
            data[card + 10:card + 80] = value.ljust(70)[:70]
        edits.append(f"{bytes(data[card:card + 8]).decode(errors='replace').strip()}={value!r}"
                     f" at {card}")
    return bytes(data), f"FITS header cards set to junk: {', '.join(edits)}"


def _damage_npy_header(draw: st.DrawFn, data: bytearray) -> tuple[bytes, str]:
    end = data.index(b"\n") + 1
    header = bytes(data[:end])
    start = header.index(b"'shape': ") + len(b"'shape': ")
    stop = header.index(b")", start) + 1
    shape = draw(st.sampled_from(NPY_JUNK))
    new = header[:start] + shape + header[stop:]
    dtype = draw(st.sampled_from([b"'<f4'", *NPY_DTYPES]))
    new = new.replace(b"'<f4'", dtype)
    return (new[:end].ljust(end) + bytes(data[end:]),
            f"npy header shape set to {shape!r}, dtype to {dtype!r}")


def _damage_raster_size(draw: st.DrawFn, data: bytearray) -> tuple[bytes, str]:
    """The width and height in a PNG's IHDR (CRC fixed or not) or a JPEG's SOF0 set to junk."""
    width, height = draw(st.sampled_from(SIZES)), draw(st.sampled_from(SIZES))
    if data[:4] == b"\x89PNG":
        data[16:24] = struct.pack(">II", width, height)
        if draw(st.booleans()):
            data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    else:
        sof = data.index(b"\xff\xc0")
        data[sof + 5:sof + 9] = struct.pack(">HH", height % 65536, width % 65536)
    return bytes(data), f"image size set to {width} x {height}"


@st.composite
def damaged(draw: st.DrawFn, originals: Files, source: str, wrong: Files) -> Damaged:
    """The file ``originals[source]`` truncated, with bits flipped, with a header value set
    to junk, or replaced by another kind of file."""
    kind = draw(st.sampled_from(["truncate", "flip", "header", "wrong type"]))
    if kind == "wrong type":
        name = draw(st.sampled_from(sorted(wrong)))
        return Damaged(wrong[name], f"{name} instead")
    original = originals[source]
    zipped = original[:2] == b"\x1f\x8b" and (kind == "header" or draw(st.booleans()))
    data = bytearray(gzip.decompress(original) if zipped else original)
    if kind == "truncate":
        size = draw(st.integers(0, len(data) - 1))
        out, how = bytes(data[:size]), f"truncated to {size}"
    elif kind == "flip":
        flips = draw(st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(0, 7)),
                              min_size=1, max_size=64))
        for position, bit in flips:
            data[position] ^= 1 << bit
        out, how = bytes(data), f"bits flipped at {flips}"
    elif data[:6] == b"SIMPLE":
        out, how = _damage_fits_header(draw, data)
    elif data[:6] == b"\x93NUMPY":
        out, how = _damage_npy_header(draw, data)
    else:
        out, how = _damage_raster_size(draw, data)
    return Damaged(gzip.compress(out, mtime=0) if zipped else out,
                   how + (" inside the gzip" if zipped else ""))


def _fits_bytes(*hdus: fits.hdu.base.ExtensionHDU) -> bytes:
    buffer = io.BytesIO()
    fits.HDUList(list(hdus)).writeto(buffer)
    return buffer.getvalue()


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _raster_bytes(array: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Pil.fromarray(array).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def mocks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two mock galaxy images and their truth catalogue (joins files to galaxies)."""
    files, truth = write_mock_galaxies(2, tmp_path_factory.mktemp("fuzz-mocks"), seed=SEED)
    return files[0], truth


@pytest.fixture(scope="module")
def originals(mocks: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Files:
    """Good images by the suffix they are written under."""
    folder = mocks[0].parent
    rng = np.random.default_rng(3)
    rms_path = tmp_path_factory.mktemp("fuzz-rms") / "with_rms.fits"
    write_profile_fits(rms_path, rng.normal(size=(48, 40)), {"zero_point": 25.0},
                       rms=np.full((48, 40), 0.5))
    galaxies = shared_data("galaxies")
    return Files({
        ".fits": (folder / f"{STEM}.fits").read_bytes(),
        "rms.fits": rms_path.read_bytes(),
        "statmorph.fits": (galaxies / "statmorph" / "slice.fits").read_bytes(),
        "decals.fits": (galaxies / "pysersic" / "decals_dr9_cutout_59.1067_-30.4848.fits"
                        ).read_bytes(),
        ".fits.gz": (galaxies / "petrofit" / "abell_2744_spiral_galaxy_f105w.fits.gz"
                     ).read_bytes(),
        ".png": _raster_bytes(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8), "PNG"),
        ".jpg": _raster_bytes(rng.integers(0, 255, (40, 48), dtype=np.uint8), "JPEG"),
        ".npy": _npy_bytes(rng.normal(size=(40, 48)).astype(np.float32)),
    })


def _negative_naxis2() -> bytes:
    """Two images, the second's NAXIS2 set to -64 (which sends astropy round in a loop)."""
    data = bytearray(_fits_bytes(fits.PrimaryHDU(np.zeros((8, 6), np.float32)),
                                 fits.ImageHDU(np.zeros((8, 6), np.float32))))
    card = data.index(b"NAXIS2  =", 2880)
    data[card:card + 80] = b"NAXIS2  = -64".ljust(80)
    return bytes(data)


@pytest.fixture(scope="module")
def wrong_types(originals: Files) -> Files:
    """Files that are not a galaxy image, or not the image their name says."""
    table = fits.BinTableHDU.from_columns([fits.Column("RA", "D", array=[1.0, 2.0])])
    return Files({
        "empty": b"", "csv": b"id,ra,dec\ng1,10.0,2.0\ng2,11.0,-3.5\n",
        "text": b"just some text\n" * 200, "fake FITS": b"SIMPLE  =  not really FITS" * 50,
        "zeros": b"\0" * 2880 * 2, "png": originals[".png"], "npy": originals[".npy"],
        "fits": originals[".fits"], "fits.gz": originals[".fits.gz"],
        "FITS table": _fits_bytes(fits.PrimaryHDU(), table),
        "integer FITS": _fits_bytes(fits.PrimaryHDU(np.arange(64, dtype=np.int16).reshape(8, 8))),
        "1-D FITS": _fits_bytes(fits.PrimaryHDU(np.zeros(16, dtype=np.float32))),
        "4-D FITS": _fits_bytes(fits.PrimaryHDU(np.zeros((2, 3, 4, 5), dtype=np.float32))),
        "empty FITS": _fits_bytes(fits.PrimaryHDU(np.zeros((0, 4), dtype=np.float32))),
        "1-D npy": _npy_bytes(np.zeros(7)), "4-D npy": _npy_bytes(np.zeros((2, 2, 2, 2))),
        "text npy": _npy_bytes(np.array(["a", "b"])),
        "complex npy": _npy_bytes(np.zeros((3, 3), dtype=complex)),
        "empty npy": _npy_bytes(np.zeros((0, 5), dtype=np.float32)),
        "noise cube beside an image": _fits_bytes(
            fits.PrimaryHDU(np.ones((8, 6), np.float32)),
            fits.ImageHDU(np.ones((2, 8, 6), np.float32), name="RMS")),
        "flat noise beside a cube": _fits_bytes(
            fits.PrimaryHDU(np.ones((2, 8, 6), np.float32)),
            fits.ImageHDU(np.ones((8, 6), np.float32), name="IVAR")),
        "negative NAXIS2 in an extension": _negative_naxis2(),
    })


@pytest.fixture(scope="module")
def companions() -> Files:
    """A good noise map, PSF and mask for a 64 x 64 mock image, by companion suffix."""
    rng = np.random.default_rng(4)
    y, x = np.mgrid[-7:8, -7:8]
    psf = np.exp(-(x**2 + y**2) / 4.0).astype(np.float32)
    return Files({
        "_rms.fits": _fits_bytes(fits.PrimaryHDU(np.full((64, 64), 0.01, np.float32))),
        "_psf.fits": _fits_bytes(fits.PrimaryHDU(psf / psf.sum())),
        "_mask.npy": _npy_bytes((rng.random((64, 64)) < 0.05).astype(np.float32)),
    })


def _count(db: Database, model: type) -> int:
    with db.new_session() as session:
        return int(session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one())


def _suffix(data: st.DataObject, source: str) -> str:
    """The damaged file's suffix: its own, or now and then another image type's."""
    own = "." + source.split(".", 1)[1] if "." in source[1:] else source
    if data.draw(st.integers(0, 5), label="renamed") == 0:
        return data.draw(st.sampled_from([".fits", ".png", ".jpg", ".npy"]), label="named as")
    return own


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_reading_a_damaged_image_fails_clearly_or_reads_consistently(
    data: st.DataObject, originals: Files, wrong_types: Files, tmp_path: Path
) -> None:
    source = data.draw(st.sampled_from(sorted(originals)), label="original")
    path = tmp_path / f"{STEM}{_suffix(data, source)}"
    raw = data.draw(damaged(originals, source, wrong_types)).data
    path.write_bytes(raw)
    try:
        record, _, extra = read_group(ImageGroup(path))
    except (ImageFormatError, InputError) as exc:
        assert str(path) in str(exc)
        return
    assert record.pixels.dtype == np.float32 and record.pixels.ndim in (2, 3)
    assert record.pixels.size > 0
    assert record.rms is None or record.rms.shape == record.pixels.shape
    assert record.sha256 == hashlib.sha256(raw).hexdigest()
    assert extra["format"] == record.format


def _stored(db: Database) -> list[sa.Row]:
    with db.new_session() as session:
        return list(session.execute(
            sa.select(Image.source_path, Image.height, Image.width, Image.channels,
                      Image.galaxy_id, ImagePixels.data, ImagePixels.rms)
            .join(ImagePixels, ImagePixels.image_id == Image.id)).all())


def _assert_whole(db: Database, loaded: set[str]) -> list[sa.Row]:
    """Exactly the ``loaded`` images are stored, each with all its pixels."""
    images = _stored(db)
    assert {Path(i.source_path).name for i in images} == loaded
    assert _count(db, Image) == _count(db, ImagePixels) == len(loaded)
    for image in images:
        size = image.height * image.width * image.channels * 4
        assert len(image.data) == size
        assert image.rms is None or len(image.rms) == size
    return images


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_damaged_image_beside_a_good_one_loads_whole_or_not_at_all(
    data: st.DataObject, mocks: tuple[Path, Path], originals: Files,
    wrong_types: Files, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    good_source, truth = mocks
    folder = tmp_path_factory.mktemp("case")
    shutil.copy(sqlite_template, folder / "galcat.sqlite")
    good = folder / GOOD
    good.write_bytes(good_source.read_bytes())
    source = data.draw(st.sampled_from(sorted(originals)), label="original")
    bad = folder / f"{STEM}{_suffix(data, source)}"
    bad.write_bytes(data.draw(damaged(originals, source, wrong_types)).data)
    catalogue = truth if data.draw(st.booleans(), label="with catalogue") else None
    db = Database.for_url(f"sqlite:///{folder / 'galcat.sqlite'}")
    try:
        summary = ingest_images(db, [bad, good], catalogue=catalogue)
        outcomes = {Path(f.path).name: f for f in summary.files}
        assert outcomes[GOOD].ok and outcomes[GOOD].rows_loaded == 1, outcomes[GOOD].errors
        if outcomes[bad.name].ok:
            assert outcomes[bad.name].rows_loaded == 1
        else:
            assert outcomes[bad.name].errors
            assert all(str(bad) in error for error in outcomes[bad.name].errors), \
                outcomes[bad.name].errors
        loaded = {name for name, outcome in outcomes.items() if outcome.ok}
        images = _assert_whole(db, loaded)
        galaxies = len(loaded) if catalogue is not None else 0
        assert _count(db, Galaxy) == _count(db, Label) == galaxies, "no galaxy of a refused file"
        assert all((image.galaxy_id is not None) == (catalogue is not None) for image in images)
    finally:
        db.dispose()


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_damaged_companion_refuses_only_its_image(
    data: st.DataObject, mocks: tuple[Path, Path], companions: Files, wrong_types: Files,
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    good_source, _ = mocks
    folder = tmp_path_factory.mktemp("case")
    shutil.copy(sqlite_template, folder / "galcat.sqlite")
    good, science = folder / GOOD, folder / f"{STEM}.fits"
    good.write_bytes(good_source.read_bytes())
    science.write_bytes((good_source.parent / science.name).read_bytes())
    role = data.draw(st.sampled_from(sorted(companions)), label="companion")
    companion = folder / f"{STEM}{role}"
    companion.write_bytes(data.draw(damaged(companions, role, wrong_types)).data)
    db = Database.for_url(f"sqlite:///{folder / 'galcat.sqlite'}")
    try:
        summary = ingest_images(db, [science, companion, good])
        assert summary.attached == {str(companion): str(science)}
        outcomes = {Path(f.path).name: f for f in summary.files}
        assert set(outcomes) == {science.name, GOOD}
        assert outcomes[GOOD].ok and outcomes[GOOD].rows_loaded == 1, outcomes[GOOD].errors
        if not outcomes[science.name].ok:
            assert all(str(companion) in error for error in outcomes[science.name].errors), \
                outcomes[science.name].errors
        _assert_whole(db, {name for name, outcome in outcomes.items() if outcome.ok})
    finally:
        db.dispose()
