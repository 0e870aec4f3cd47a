"""Rotations and flips of images agree with the PA and centre conventions of the renderer."""

import numpy as np
import pytest

from galcat.models.galaxy.augment import D4_ELEMENTS, d4, d4_centre, d4_pa_deg, random_augment
from galcat.models.galaxy.render import SersicComponent, render_scene


@pytest.mark.parametrize(("k", "flip"), D4_ELEMENTS)
def test_transformed_image_is_the_render_of_transformed_parameters(k, flip):
    size = 33
    comp = SersicComponent(15.3, 17.2, 10.0, 4.0, 1.5, 0.4, 25.0)
    image = render_scene((size, size), [comp], psf_fwhm_px=2.5)
    x0, y0 = d4_centre(comp.x0, comp.y0, size, k, flip)
    moved = SersicComponent(float(x0), float(y0), comp.flux, comp.r_eff_px, comp.n, comp.q,
                            float(d4_pa_deg(comp.pa_deg, k, flip)))
    expected = render_scene((size, size), [moved], psf_fwhm_px=2.5)
    np.testing.assert_allclose(d4(image, k, flip), expected, rtol=1e-6, atol=1e-9)


def test_d4_has_eight_distinct_elements_on_an_asymmetric_image():
    rng = np.random.default_rng(0)
    img = rng.normal(size=(5, 5))
    views = {d4(img, k, f).tobytes() for k, f in D4_ELEMENTS}
    assert len(views) == 8


def test_pa_transform_known_cases():
    assert d4_pa_deg(30.0, 1, False) == pytest.approx(120.0)
    assert d4_pa_deg(30.0, 0, True) == pytest.approx(150.0)
    assert d4_pa_deg(0.0, 2, False) == pytest.approx(0.0)


def test_random_augment_is_seeded_and_preserves_flux():
    imgs = np.random.default_rng(1).random((6, 16, 16, 2)).astype(np.float32)
    a, aug_a = random_augment(imgs, np.random.default_rng(3), max_shift_px=2)
    b, _ = random_augment(imgs, np.random.default_rng(3), max_shift_px=2)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a.sum(axis=(1, 2)), imgs.sum(axis=(1, 2)), rtol=1e-5)
    assert np.all(np.abs(aug_a.shift_x) <= 2)
