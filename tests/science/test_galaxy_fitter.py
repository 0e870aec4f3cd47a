"""The least-squares baseline recovers GALFIT's truth and the mocks' truth."""


import numpy as np
import pytest

from galcat.models.galaxy.fitter import fit_many, fit_sersic
from galcat.models.galaxy.mock import make_mocks
from galcat.models.galaxy.render import (
    GaussianComponent,
    SersicComponent,
    render_gaussian,
    render_scene,
)
from galcat.models.galaxy.sersic import fwhm_to_sigma, mag_to_flux


def test_recovers_the_galfit_model_truth(shared_galaxies):
    from astropy.io import fits

    path = shared_galaxies / "petrofit" / "galfit_sersic_n1.fits.gz"
    image = fits.getdata(path).astype(float)
    header = fits.getheader(path)
    assert image.shape == (512, 512)
    fit = fit_sersic(image, zero_point=float(header["MAGZPT"]), pixel_scale_arcsec=1.0)
    assert fit.success
    assert fit.mag == pytest.approx(20.0, abs=1e-3)
    assert fit.r_eff_arcsec == pytest.approx(30.0, rel=1e-3)  # pixel scale 1: arcsec = px
    assert fit.sersic_n == pytest.approx(1.0, abs=1e-3)
    assert fit.axis_ratio == pytest.approx(1.0, abs=1e-3)
    assert (fit.x0, fit.y0) == pytest.approx((255.0, 255.0), abs=1e-3)


def test_recovers_mock_truth_within_its_uncertainties():
    mocks = make_mocks(3, seed=21, kind_fractions={"sersic": 1.0})
    t = mocks.truth
    out = fit_many(mocks.images, zero_point=25.94, pixel_scale_arcsec=0.06,
                   psf_fwhm_arcsec=t["psf_fwhm_arcsec"], sigma=t["sky_sigma"])
    assert np.all(out["success"])
    for name in ("mag", "r_eff_arcsec", "sersic_n", "axis_ratio"):
        err_name = "mag_err" if name == "mag" else f"{name.replace('_arcsec', '')}_err"
        pull = (out[name] - t[name]) / out[err_name]
        assert np.all(np.abs(pull) < 5), (name, pull)
    assert np.all(out["chi2_nu"] < 1.2) and np.all(out["chi2_nu"] > 0.8)
    bright = t["snr"] > 100
    assert bright.sum() >= 2
    np.testing.assert_allclose(out["mag"][bright], t["mag"][bright], atol=0.01)
    np.testing.assert_allclose(out["r_eff_arcsec"][bright], t["r_eff_arcsec"][bright], rtol=0.02)
    faint = ~bright
    assert np.all(out["mag_err"][faint] > out["mag_err"][bright].max())


def test_noise_free_mock_is_recovered_exactly_with_a_pixel_kernel_psf():
    fwhm_px = 3.0
    kernel = render_gaussian((21, 21), GaussianComponent(10.0, 10.0, 1.0),
                             float(fwhm_to_sigma(fwhm_px)))
    truth = SersicComponent(30.7, 32.2, float(mag_to_flux(21.0, 25.94)), 8.0, 2.5, 0.45, 140.0)
    image = render_scene((64, 64), [truth], psf=kernel)
    fit = fit_sersic(image, zero_point=25.94, pixel_scale_arcsec=0.06, psf=kernel)
    assert fit.mag == pytest.approx(21.0, abs=1e-4)
    assert fit.r_eff_arcsec == pytest.approx(8.0 * 0.06, rel=1e-3)
    assert fit.sersic_n == pytest.approx(2.5, rel=1e-3)
    assert fit.axis_ratio == pytest.approx(0.45, abs=1e-3)
    assert fit.pa_deg == pytest.approx(140.0, abs=0.05)


def test_major_axis_swap_keeps_round_galaxies_interior():
    truth = SersicComponent(31.5, 31.5, 100.0, 6.0, 1.0, 0.98, 10.0)
    image = render_scene((64, 64), [truth], psf_fwhm_px=2.5)
    start = np.array([31.0, 32.0, 2.0, np.log10(5.0), np.log10(2.0), np.log10(1.3), 80.0])
    fit = fit_sersic(image, zero_point=25.94, pixel_scale_arcsec=0.06, psf_fwhm_arcsec=0.15,
                     initial=start)
    assert fit.axis_ratio == pytest.approx(0.98, abs=2e-3)
    assert fit.r_eff_arcsec == pytest.approx(0.36, rel=2e-3)
