"""The plain-TAN fast path of the image reader agrees with astropy's WCS."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from galcat.catalog.formats import images
from galcat.catalog.formats.images import _celestial_wcs, plain_tan_wcs
from galcat.workers.galaxy.scan import write_mock_galaxies


def _astropy(header: fits.Header, shape: tuple[int, ...],
             monkeypatch: pytest.MonkeyPatch) -> Any:
    with monkeypatch.context() as patch:
        patch.setattr(images, "plain_tan_wcs", lambda *_: None)
        return _celestial_wcs(header, shape)


def _world(text: str, x: float, y: float) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return WCS(fits.Header.fromstring(text)).all_pix2world([[x, y]], 0)[0]


def _agree(header: fits.Header, shape: tuple[int, ...],
           monkeypatch: pytest.MonkeyPatch) -> None:
    fast = plain_tan_wcs(header, shape)
    assert fast is not None
    scale, text, centre = fast
    ref_scale, ref_text, ref_centre = _astropy(header, shape, monkeypatch)
    assert scale == pytest.approx(ref_scale, rel=1e-9)
    assert centre is not None and ref_centre is not None
    assert abs(centre[1] - ref_centre[1]) < 1e-9
    assert abs((centre[0] - ref_centre[0] + 180.0) % 360.0 - 180.0) < 1e-9
    assert "RA---TAN" in text and len(text) % 2880 == 0
    for x, y in ((0.0, 0.0), (shape[1] - 1.0, shape[0] - 1.0), (-500.0, 1200.0)):
        got, want = _world(text, x, y), _world(ref_text, x, y)
        assert abs(got[1] - want[1]) < 1e-9
        assert abs((got[0] - want[0] + 180.0) % 360.0 - 180.0) < 1e-9


def _tan(**cards: Any) -> fits.Header:
    base = {"NAXIS": 2, "NAXIS1": 80, "NAXIS2": 60, "CTYPE1": "RA---TAN",
            "CTYPE2": "DEC--TAN", "CRPIX1": 12.3, "CRPIX2": -40.5, "CRVAL1": 359.99,
            "CRVAL2": -30.2}
    return fits.Header(list({**base, **cards}.items()))


def test_mock_cutouts_agree_with_astropy(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    write_mock_galaxies(20, tmp_path, 7)
    for path in sorted(tmp_path.glob("*.fits")):
        with fits.open(path) as hdul:
            _agree(hdul[0].header, hdul[0].data.shape, monkeypatch)


def test_real_cutouts_agree_with_astropy(shared_galaxies: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    seen = 0
    for path in sorted(shared_galaxies.rglob("*.fits*")):
        with fits.open(path) as hdul:
            for hdu in hdul:
                if hdu.data is None or hdu.data.ndim < 2:
                    continue
                if plain_tan_wcs(hdu.header, hdu.data.shape) not in (None, (None, "", None)):
                    _agree(hdu.header, hdu.data.shape, monkeypatch)
                    seen += 1
    assert seen >= 5


@pytest.mark.parametrize("cards", [
    {"CD1_1": -2e-4, "CD1_2": 1e-4, "CD2_1": 1.5e-4, "CD2_2": 2e-4},
    {"CDELT1": -3e-3, "CDELT2": 3e-3, "PC1_1": math.cos(0.3), "PC1_2": -math.sin(0.3),
     "PC2_1": math.sin(0.3), "PC2_2": math.cos(0.3)},
    {"CDELT1": -1e-2, "CDELT2": 1e-2},
    {"CDELT1": -1e-3, "CDELT2": 1e-3, "CRVAL2": 89.9, "CRVAL1": 0.0, "LONPOLE": 180.0,
     "LATPOLE": 12.0, "RADESYS": "FK5", "EQUINOX": 2000.0, "CUNIT1": "deg"},
    {"CDELT1": 5e-4, "CDELT2": 5e-4, "PC1_2": 0.2, "CRVAL2": -89.0},
])
def test_synthetic_tan_headers_agree(cards: dict[str, Any],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _agree(_tan(**cards), (60, 80), monkeypatch)


@pytest.mark.parametrize("cards", [
    {"CTYPE1": "RA---TAN-SIP", "CTYPE2": "DEC--TAN-SIP", "CDELT1": 1e-4, "A_ORDER": 2},
    {"CDELT1": 1e-4, "CDELT2": 1e-4, "PV2_1": 0.1},
    {"CDELT1": 1e-4, "CDELT2": 1e-4, "CROTA2": 30.0},
    {"CTYPE1": "DEC--TAN", "CTYPE2": "RA---TAN", "CDELT1": 1e-4, "CDELT2": 1e-4},
    {"CTYPE1": "RA---SIN", "CTYPE2": "DEC--SIN", "CDELT1": 1e-4, "CDELT2": 1e-4},
    {"CDELT1": 1e-4, "CDELT2": 1e-4, "LONPOLE": 170.0},
    {"CDELT1": 1e-4, "CDELT2": 1e-4, "CUNIT1": "arcsec"},
    {"CD1_1": 1e-4, "CD2_2": 1e-4},
    {"CD1_1": 1e-4, "CD2_2": 1e-4, "CD1_2": 0.0, "CD2_1": 0.0, "CDELT1": 2.0},
    {"CDELT1": 1e-4, "CDELT2": 1e-4, "CTYPE3": "FREQ"},
])
def test_other_headers_fall_back_to_astropy(cards: dict[str, Any]) -> None:
    assert plain_tan_wcs(_tan(**cards), (60, 80)) is None


def test_no_wcs_cards_means_no_wcs(monkeypatch: pytest.MonkeyPatch) -> None:
    header = fits.Header([("NAXIS", 2), ("NAXIS1", 8), ("NAXIS2", 8), ("MAGZERO", 25.0)])
    assert plain_tan_wcs(header, (8, 8)) == (None, "", None)
    assert _astropy(header, (8, 8), monkeypatch) == (None, "", None)
