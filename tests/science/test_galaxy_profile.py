"""The imaging profile: what is in, what is out, and the unit conversions behind it."""

import numpy as np
import pytest

from galcat.models.galaxy.profile import HST_F160W_64, check_profile, crop_or_pad

GOOD = {"MAGZERO": 25.94, "PSF_FWHM": 0.18, "SKYSIG": float(HST_F160W_64.sky_sigma(26.0)),
        "PIXSCALE": 0.06, "NAXIS1": 64, "NAXIS2": 64}


def test_in_profile_header_has_no_reasons():
    assert check_profile(GOOD) == []


def test_keys_are_case_insensitive_and_rms_map_replaces_skysig():
    meta = {k.lower(): v for k, v in GOOD.items() if k != "SKYSIG"}
    assert check_profile({**meta, "has_rms": True}) == []


@pytest.mark.parametrize(("change", "needle"), [
    ({"PSF_FWHM": 0.30}, "PSF_FWHM=0.300"),
    ({"PSF_FWHM": None}, "no PSF_FWHM"),
    ({"PIXSCALE": 0.03}, "pixel scale 0.0300"),
    ({"PIXSCALE": None}, "pixel scale unknown"),
    ({"MAGZERO": None}, "no AB zero point"),
    ({"SKYSIG": None}, "no noise level"),
    ({"SKYSIG": -1.0}, "not positive"),
    ({"SKYSIG": float(HST_F160W_64.sky_sigma(23.0))}, "surface-brightness limit 23.00"),
])
def test_each_departure_is_named(change, needle):
    reasons = check_profile({**GOOD, **change})
    assert len(reasons) == 1
    assert needle in reasons[0]


def test_other_zero_point_keywords_count():
    meta = {k: v for k, v in GOOD.items() if k != "MAGZERO"}
    assert check_profile({**meta, "MAGZPT": 26.5}) == []


def test_sb_limit_and_sky_sigma_are_inverse_and_use_pixel_area():
    sigma = HST_F160W_64.sky_sigma(26.0, zero_point=25.94)
    # 1 sigma per pixel spread over 0.0036 arcsec^2 is 26 mag/arcsec^2
    assert 25.94 - 2.5 * np.log10(sigma / 0.06**2) == pytest.approx(26.0)
    assert HST_F160W_64.sb_limit(sigma) == pytest.approx(26.0)
    assert HST_F160W_64.sky_sigma(25.0) / HST_F160W_64.sky_sigma(27.0) == pytest.approx(
        10**0.8)


def test_crop_or_pad_keeps_the_centre():
    big = np.zeros((70, 70))
    big[35, 35] = 1.0
    out = crop_or_pad(big, 64)
    assert out.shape == (64, 64)
    assert out[32, 32] == 1.0
    small = np.ones((3, 10, 10))
    padded = crop_or_pad(small, 64)
    assert padded.shape == (3, 64, 64)
    assert padded.sum() == 300
    assert padded[:, 27:37, 27:37].sum() == 300
