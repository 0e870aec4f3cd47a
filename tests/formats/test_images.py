"""Image readers on every real galaxy file we have, corrupt files, and the profile writer."""

import gzip
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA

from galcat.catalog.formats.images import (
    ImageFormatError,
    read_bands,
    read_image,
)
from galcat.catalog.formats.profile_writer import write_profile_fits
from galcat.models.galaxy.mock import make_mocks
from galcat.models.galaxy.profile import check_profile

GALAXIES = SHARED_DATA / "galaxies" if (SHARED_DATA / "galaxies").is_dir() else None
IMAGE_FILES = sorted(p for p in GALAXIES.rglob("*") if p.suffix != ".csv" and p.is_file()) \
    if GALAXIES else []


@pytest.fixture
def galaxies(shared_galaxies: Path) -> Path:
    return shared_galaxies


def test_shared_data_has_the_expected_files(galaxies):
    names = {p.name for p in IMAGE_FILES}
    assert len(IMAGE_FILES) >= 20
    assert {"galfit_sersic_n1.fits.gz", "slice.fits", "gal1_im.npy"} <= names


@pytest.mark.parametrize("path", IMAGE_FILES, ids=lambda p: p.name)
def test_every_real_file_reads(path):
    rec = read_image(path)
    assert rec.pixels.dtype == np.float32
    assert rec.pixels.ndim in (2, 3) and min(rec.pixels.shape[:2]) >= 40
    assert len(rec.sha256) == 64 and rec.source_path == str(path)
    assert np.isfinite(rec.pixels).mean() > 0.5


def test_hst_cutout_zero_point_pixel_scale_and_wcs(galaxies):
    rec = read_image(galaxies / "petrofit" / "abell_2744_dwarf_galaxy_f105w.fits.gz")
    assert rec.zero_point == pytest.approx(26.27, abs=0.01)  # F105W AB, not PHOTZPT=-21.1
    assert rec.zero_point_source == "PHOTFLAM/PHOTPLAM"
    assert rec.pixel_scale_arcsec == pytest.approx(0.06, rel=1e-4)
    assert "RA---TAN" in rec.wcs_header
    assert rec.header["FILTER"] == "F105W"
    assert rec.bands == ("F105W",)


def test_separate_rms_file_is_attached(galaxies):
    folder = galaxies / "petrofit"
    rec = read_image(folder / "abell_2744_dwarf_galaxy_f105w.fits.gz",
                     rms_path=folder / "abell_2744_dwarf_galaxy_f105w_rms.fits.gz")
    assert rec.rms is not None and rec.rms.shape == rec.pixels.shape
    assert np.all(rec.rms[np.isfinite(rec.rms)] >= 0)
    assert check_profile(rec.profile_metadata()) == ["no PSF_FWHM (arcsec) in the header"]


def test_galfit_truth_header_and_zero_point(galaxies):
    rec = read_image(galaxies / "petrofit" / "galfit_sersic_n1.fits.gz")
    assert rec.zero_point == 26.563 and rec.zero_point_source == "MAGZPT"
    assert rec.pixels.sum() == pytest.approx(10 ** (-0.4 * (20 - 26.563)), rel=1e-3)
    assert rec.header["1_RE"].startswith("30.0000")


def test_decals_bands_become_channels_with_inverse_variance_as_rms(galaxies):
    rec = read_image(galaxies / "pysersic" / "decals_dr9_cutout_59.1067_-30.4848.fits")
    assert rec.pixels.shape == (256, 256, 3) and rec.bands == ("g", "r", "z")
    assert rec.rms is not None and rec.rms.shape == (256, 256, 3)
    assert rec.pixel_scale_arcsec == pytest.approx(0.262, rel=1e-6)
    from astropy.io import fits

    ivar = fits.getdata(galaxies / "pysersic" / "decals_dr9_cutout_59.1067_-30.4848.fits", 2)
    good = ivar > 0
    np.testing.assert_allclose(rec.rms[..., 0][good], 1 / np.sqrt(ivar[good]), rtol=1e-6)
    g_only = read_image(galaxies / "pysersic" / "decals_dr9_cutout_59.1067_-30.4848.fits",
                        hdu=1)
    np.testing.assert_array_equal(g_only.pixels, rec.pixels[..., 0])


def test_statmorph_integer_segmap_and_mask_are_not_channels(galaxies):
    rec = read_image(galaxies / "statmorph" / "slice.fits")
    assert rec.pixels.shape == (162, 162)


def test_png_is_rgb_in_fits_orientation(galaxies, tmp_path):
    rec = read_image(galaxies / "zoobot_rings" / "J000411.19+020924.0.png")
    assert rec.pixels.shape == (424, 424, 3) and rec.bands == ("R", "G", "B")
    assert rec.pixels.min() >= 0.0 and rec.pixels.max() <= 1.0
    from PIL import Image

    arr = np.zeros((4, 5, 3), dtype=np.uint8)
    arr[0, :, 0] = 255  # top row red in the file
    Image.fromarray(arr).save(tmp_path / "top_red.png")
    got = read_image(tmp_path / "top_red.png").pixels
    assert got[-1, :, 0].min() == 1.0 and got[0].max() == 0.0


def test_npy_is_bare_pixels(galaxies):
    rec = read_image(galaxies / "pysersic" / "gal1_im.npy",
                     rms_path=galaxies / "pysersic" / "gal1_sig.npy")
    assert rec.format == "npy" and rec.zero_point is None and rec.pixel_scale_arcsec is None
    assert rec.rms is not None and rec.rms.shape == rec.pixels.shape == (121, 121)


@pytest.mark.parametrize(("name", "payload"), [
    ("random.fits", b"this is not FITS at all" * 100),
    ("empty.fits", b""),
    ("image.png", b"\x89PNG\r\n\x1a\n" + b"garbage" * 10),
    ("photo.jpg", b"\xff\xd8\xff" + b"\x00" * 20),
    ("vector.npy", None),
    ("pickle.npy", None),
])
def test_corrupt_files_raise_naming_the_file(tmp_path, name, payload):
    path = tmp_path / name
    if name == "vector.npy":
        np.save(path, np.arange(10.0))
    elif name == "pickle.npy":
        np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    else:
        path.write_bytes(payload)
    with pytest.raises(ImageFormatError, match=name):
        read_image(path)


def test_truncated_gzip_fits_raises(tmp_path):
    write_profile_fits(tmp_path / "ok.fits", np.ones((8, 8)), {"zero_point": 25.0})
    data = gzip.compress((tmp_path / "ok.fits").read_bytes())
    bad = tmp_path / "cut.fits.gz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageFormatError, match=r"cut\.fits\.gz"):
        read_image(bad)


def test_unknown_extension_is_refused(tmp_path):
    path = tmp_path / "galaxy.tiff"
    path.write_bytes(b"II*\x00")
    with pytest.raises(ImageFormatError, match="unknown image type"):
        read_image(path)


def test_mock_round_trips_through_a_profile_file(tmp_path):
    mocks = make_mocks(2, seed=4)
    t = mocks.truth[0]
    meta = {"zero_point": 25.94, "psf_fwhm_arcsec": float(t["psf_fwhm_arcsec"]),
            "sky_sigma": float(t["sky_sigma"]), "ra_deg": 150.1, "dec_deg": 2.2,
            "profile": "hst-wfc3-f160w-64", "MAG": float(t["mag"])}
    path = write_profile_fits(tmp_path / "mock.fits", mocks.images[0], meta)
    rec = read_image(path)
    np.testing.assert_array_equal(rec.pixels, mocks.images[0])
    assert rec.zero_point == 25.94 and rec.zero_point_source == "MAGZERO"
    assert rec.psf_fwhm_arcsec == pytest.approx(float(t["psf_fwhm_arcsec"]))
    assert rec.sky_sigma == pytest.approx(float(t["sky_sigma"]))
    assert rec.pixel_scale_arcsec == pytest.approx(0.06, rel=1e-9)
    assert rec.header["MAG"] == pytest.approx(float(t["mag"]))
    assert check_profile(rec.profile_metadata()) == []
    with pytest.raises(OSError):
        write_profile_fits(path, mocks.images[0], meta)


def test_writer_rms_hdu_is_read_back(tmp_path):
    img = np.arange(64 * 64, dtype=np.float32).reshape(64, 64)
    rms = np.full((64, 64), 0.5, dtype=np.float32)
    path = write_profile_fits(tmp_path / "withrms.fits", img, {"zero_point": 25.94}, rms=rms)
    rec = read_image(path)
    np.testing.assert_array_equal(rec.rms, rms)
    assert rec.pixels.shape == (64, 64)


def test_single_band_files_stack_as_channels(tmp_path):
    mocks = make_mocks(2, seed=9)
    paths = []
    for i, band in enumerate(("F125W", "F160W")):
        meta = {"zero_point": 25.94, "FILTER": band}
        paths.append(write_profile_fits(tmp_path / f"{band}.fits", mocks.images[i], meta))
    rec = read_bands(paths)
    assert rec.pixels.shape == (64, 64, 2) and rec.bands == ("F125W", "F160W")
    np.testing.assert_array_equal(rec.pixels[..., 1], mocks.images[1])
    write_profile_fits(tmp_path / "other.fits", mocks.images[0], {"zero_point": 26.0})
    with pytest.raises(ImageFormatError, match="zero point"):
        read_bands([paths[0], tmp_path / "other.fits"])
