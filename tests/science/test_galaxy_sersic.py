"""Sérsic mathematics and the pixel-integrating renderer, against independent integrals."""

import itertools
import math

import numpy as np
import pytest
from scipy import integrate

from galcat.models.galaxy.render import (
    GaussianComponent,
    SersicComponent,
    exact_pixel_flux,
    render_gaussian,
    render_scene,
    render_sersic,
)
from galcat.models.galaxy.sersic import (
    elliptical_radius,
    enclosed_fraction,
    fwhm_to_sigma,
    intensity_at_r_eff,
    log_central_intensity,
    sersic_bn,
    total_flux,
)


@pytest.mark.parametrize("n", [0.5, 1.0, 2.5, 4.0, 6.0])
def test_r_eff_encloses_half_the_light(n):
    assert enclosed_fraction(1.0, n) == pytest.approx(0.5, abs=1e-12)


def test_b_n_matches_classic_values():
    assert sersic_bn(1.0) == pytest.approx(1.678347, abs=1e-6)
    assert sersic_bn(4.0) == pytest.approx(7.669249, abs=1e-6)
    assert sersic_bn(0.5) == pytest.approx(math.log(2.0), abs=1e-12)


@pytest.mark.parametrize(("n", "q"), [(1.0, 1.0), (4.0, 0.5), (0.7, 0.3)])
def test_total_flux_is_the_integral_to_infinity(n, q):
    r_eff, flux = 3.0, 7.0
    i_e = intensity_at_r_eff(flux, r_eff, n, q)
    b = sersic_bn(n)
    radial, _ = integrate.quad(
        lambda r: i_e * math.exp(-b * ((r / r_eff) ** (1 / n) - 1)) * 2 * math.pi * q * r,
        0, np.inf, limit=400)
    assert radial == pytest.approx(flux, rel=1e-8)
    assert total_flux(i_e, r_eff, n, q) == pytest.approx(flux, rel=1e-12)


def test_position_angle_is_east_of_north():
    # PA=0: major axis along +y (north); PA=90: along -x (east, left)
    assert elliptical_radius(np.array(0.0), np.array(2.0), 0.5, 0.0) == pytest.approx(2.0)
    assert elliptical_radius(np.array(-2.0), np.array(0.0), 0.5, 90.0) == pytest.approx(2.0)
    assert elliptical_radius(np.array(-1.0), np.array(1.0), 0.5, 45.0) == pytest.approx(
        math.sqrt(2.0))
    image = render_sersic((41, 41), SersicComponent(20, 20, 1.0, 6.0, 1.0, 0.3, 30.0))
    yy, xx = np.mgrid[0:41, 0:41] - 20.0
    cov = np.cov(np.stack([xx.ravel(), yy.ravel()]), aweights=image.ravel())
    major = np.linalg.eigh(cov)[1][:, 1]
    pa = math.degrees(math.atan2(-major[0], major[1])) % 180.0
    assert pa == pytest.approx(30.0, abs=0.5)


def _quadrature_pixel(comp, px, py):
    """Adaptive quadrature of the surface brightness over one pixel (independent reference).

    Cartesian ``dblquad`` away from the centre; polar coordinates about the
    centre for the pixel that holds it, split at the corner angles.
    """
    b = float(sersic_bn(comp.n))
    log_i0 = float(log_central_intensity(comp.flux, comp.r_eff_px, comp.n, comp.q))

    def sb(dx, dy):
        r = elliptical_radius(np.array(dx), np.array(dy), comp.q, comp.pa_deg)
        return math.exp(log_i0 - b * (float(r) / comp.r_eff_px) ** (1 / comp.n))

    x1, x2, y1, y2 = px - 0.5 - comp.x0, px + 0.5 - comp.x0, py - 0.5 - comp.y0, py + 0.5 - comp.y0
    if not (x1 < 0 < x2 and y1 < 0 < y2):
        return integrate.dblquad(lambda y, x: sb(x, y), x1, x2, y1, y2,
                                 epsabs=1e-12, epsrel=1e-10)[0]

    def edge(theta):
        c, s = math.cos(theta), math.sin(theta)
        return min(x2 / c if c > 0 else x1 / c if c < 0 else np.inf,
                   y2 / s if s > 0 else y1 / s if s < 0 else np.inf)

    def ray(theta):
        c, s = math.cos(theta), math.sin(theta)
        return integrate.quad(lambda r: sb(r * c, r * s) * r, 0.0, edge(theta),
                              epsabs=1e-13, epsrel=1e-11, limit=200)[0]

    corners = sorted(math.atan2(y, x) % (2 * math.pi) for x in (x1, x2) for y in (y1, y2))
    cuts = [0.0, *corners, 2 * math.pi]
    return sum(integrate.quad(ray, a, c, epsabs=1e-12, epsrel=1e-10, limit=200)[0]
               for a, c in itertools.pairwise(cuts))


@pytest.mark.parametrize(("comp", "px", "py"), [
    (SersicComponent(0.3, 0.1, 1.0, 1.67, 6.0, 0.3, 30.0), 0, 0),
    (SersicComponent(0.5, -0.49999, 1.0, 3.0, 1.0, 0.2, 10.0), 0, 0),
    (SersicComponent(0.5, -0.49999, 1.0, 3.0, 1.0, 0.2, 10.0), 1, -1),
    (SersicComponent(0.0, 0.0, 1.0, 0.5, 4.0, 1.0, 0.0), 0, 0),
    (SersicComponent(0.0, 0.0, 1.0, 0.5, 4.0, 0.7, 0.0), -1, 2),
])
def test_exact_pixel_flux_matches_adaptive_2d_quadrature_in_the_cusp(comp, px, py):
    got = exact_pixel_flux(np.array([px - comp.x0]), np.array([py - comp.y0]), comp)[0]
    assert got == pytest.approx(_quadrature_pixel(comp, px, py), rel=1e-7, abs=1e-13)


@pytest.mark.parametrize(("r_eff_px", "n", "q"), [(1.67, 6.0, 0.3), (10.0, 1.0, 0.5),
                                                  (2.0, 0.5, 0.5), (5.0, 4.0, 0.8)])
def test_adaptive_render_is_within_tolerance_of_exact(r_eff_px, n, q):
    comp = SersicComponent(30.3, 30.6, 1.0, r_eff_px, n, q, 30.0)
    image = render_sersic((61, 61), comp, rel_tol=1e-4)
    yy, xx = np.mgrid[0:61, 0:61]
    exact = exact_pixel_flux((xx - comp.x0).astype(float), (yy - comp.y0).astype(float), comp)
    err = np.abs(image - exact)
    assert np.all(err <= 1e-4 * exact + 1e-7)


def test_flux_on_a_large_stamp_is_the_enclosed_fraction():
    comp = SersicComponent(100.2, 99.7, 5.0, 4.0, 4.0, 1.0, 0.0)
    image = render_sersic((201, 201), comp)
    inscribed = 5.0 * enclosed_fraction(99.7 / 4.0, 4.0)
    circumscribed = 5.0 * enclosed_fraction(99.7 * math.sqrt(2) / 4.0, 4.0)
    assert inscribed - 1e-5 <= image.sum() <= circumscribed + 1e-5


def test_gaussian_psf_fft_matches_analytic_gaussian():
    # an n=0.5 Sérsic is a Gaussian with sigma = r_eff / sqrt(2 ln 2)
    r_eff, fwhm = 3.0, 2.8
    sersic = render_scene((48, 48), [SersicComponent(23.3, 24.1, 2.0, r_eff, 0.5, 1.0, 0.0)],
                          psf_fwhm_px=fwhm)
    sigma = r_eff / math.sqrt(2.0 * math.log(2.0))
    gauss = render_gaussian((48, 48), GaussianComponent(23.3, 24.1, 2.0, sigma),
                            float(fwhm_to_sigma(fwhm)))
    assert np.max(np.abs(sersic - gauss)) < 2e-4 * gauss.max()
    assert sersic.sum() == pytest.approx(2.0, rel=1e-6)


def test_point_source_is_the_pixel_integrated_psf():
    image = render_scene((32, 32), gaussians=[GaussianComponent(15.25, 16.4, 3.0)],
                         psf_fwhm_px=2.5)
    assert image.sum() == pytest.approx(3.0, rel=1e-9)
    yy, xx = np.mgrid[0:32, 0:32]
    assert (image * xx).sum() / image.sum() == pytest.approx(15.25, abs=1e-9)
    assert (image * yy).sum() / image.sum() == pytest.approx(16.4, abs=1e-9)


def test_kernel_psf_and_gaussian_psf_agree():
    fwhm = 3.0
    s = float(fwhm_to_sigma(fwhm))
    kernel = render_gaussian((25, 25), GaussianComponent(12.0, 12.0, 1.0, 0.0), s)
    comp = [SersicComponent(20.0, 21.0, 1.0, 4.0, 2.0, 0.6, 70.0)]
    a = render_scene((40, 40), comp, psf_fwhm_px=fwhm)
    b = render_scene((40, 40), comp, psf=kernel)
    # the sampled kernel is pixel-integrated once more: agreement to a few per cent of the peak
    assert np.max(np.abs(a - b)) < 0.05 * a.max()
    assert a.sum() == pytest.approx(b.sum(), rel=1e-3)


def test_galfit_model_image_is_reproduced_pixel_by_pixel(shared_galaxies):
    from astropy.io import fits

    path = shared_galaxies / "petrofit" / "galfit_sersic_n1.fits.gz"
    galfit = fits.getdata(path).astype(float)
    header = fits.getheader(path)
    assert header["MAGZPT"] == 26.563
    flux = 10 ** (-0.4 * (20.0 - header["MAGZPT"]))
    # GALFIT's 1-indexed (256, 256) is our 0-indexed (255, 255)
    ours = render_scene(galfit.shape, [SersicComponent(255.0, 255.0, flux, 30.0, 1.0, 1.0, 0.0)])
    rel = np.abs(ours - galfit) / galfit
    assert rel.max() < 3e-4
    assert np.median(rel) < 1e-5
