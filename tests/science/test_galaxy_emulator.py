"""The Sérsic emulator: photometry-preserving inputs, exact decoding, a loss that learns."""

import math
import re
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from galcat.models.galaxy import emulator  # noqa: E402
from galcat.models.galaxy.mock import make_mocks  # noqa: E402
from galcat.models.galaxy.preprocess import network_inputs  # noqa: E402

TINY = emulator.EmulatorConfig(filters=(4, 8), dense_units=16, epochs=4, batch_size=48,
                               run_eagerly=True,
                               learning_rate=3e-3)


@pytest.fixture(scope="module")
def sersic_mocks():
    return make_mocks(96, seed=5, kind_fractions={"sersic": 1.0})


def test_models_galaxy_uses_keras_ops_only():
    root = Path(emulator.__file__).parent
    for path in root.glob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(import|from)\s+(tensorflow|torch|jax)\b", text, re.M), path
        assert not re.search(r"\btf\.", text), path


def test_inputs_do_not_depend_on_the_zero_point_convention(sersic_mocks):
    img = sersic_mocks.images[:3].astype(float)
    a = network_inputs(img, zero_point=25.94, psf_fwhm_arcsec=0.18, sky_sigma=0.003)
    # the same sky in a file with MAGZERO 26.94 has 2.5x larger pixel values
    b = network_inputs(img * 10**0.4, zero_point=26.94, psf_fwhm_arcsec=0.18,
                       sky_sigma=0.003 * 10**0.4)
    np.testing.assert_allclose(a.image, b.image, atol=1e-5)
    np.testing.assert_allclose(a.scalars, b.scalars, atol=1e-5)
    np.testing.assert_allclose(a.mag_sum, b.mag_sum, atol=1e-9)


def test_brighter_galaxy_gives_different_inputs(sersic_mocks):
    img = sersic_mocks.images[:1].astype(float)
    a = network_inputs(img, zero_point=25.94, sky_sigma=0.003)
    b = network_inputs(img * 10, zero_point=25.94, sky_sigma=0.003)
    assert b.mag_sum[0] == pytest.approx(a.mag_sum[0] - 2.5)
    assert not np.allclose(a.image[..., 0], b.image[..., 0])


def test_decode_inverts_encode_exactly(sersic_mocks):
    t = sersic_mocks.truth
    mag_sum = t["mag"] + 0.05
    y = emulator.encode_targets(t, mag_sum)
    raw = np.concatenate([y, np.zeros_like(y)], axis=1).astype(np.float64)
    out = emulator.decode(raw, mag_sum)
    np.testing.assert_allclose(out["mag"], t["mag"], atol=1e-5)
    np.testing.assert_allclose(out["r_eff_arcsec"], t["r_eff_arcsec"], rtol=1e-5)
    np.testing.assert_allclose(out["sersic_n"], t["sersic_n"], rtol=1e-5)
    np.testing.assert_allclose(out["axis_ratio"], t["axis_ratio"], atol=1e-5)
    dpa = np.mod(out["pa_deg"] - t["pa_deg"] + 90, 180) - 90
    np.testing.assert_allclose(dpa, 0, atol=1e-3)
    # log sigma = 0 means one standard unit of each target
    np.testing.assert_allclose(out["mag_err"], emulator.TARGET_SCALE[0])
    np.testing.assert_allclose(out["r_eff_err"],
                               math.log(10) * t["r_eff_arcsec"] * emulator.TARGET_SCALE[1],
                               rtol=1e-4)


def test_pa_is_periodic_in_180_degrees():
    t = {"mag": np.array([20.0, 20.0]), "r_eff_arcsec": np.array([0.5, 0.5]),
         "sersic_n": np.array([1.0, 1.0]), "axis_ratio": np.array([0.5, 0.5]),
         "pa_deg": np.array([10.0, 190.0])}
    y = emulator.encode_targets(t, np.array([20.0, 20.0]))
    np.testing.assert_allclose(y[0], y[1], atol=1e-5)


def test_gaussian_nll_matches_the_formula():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(4, 6)).astype("float32")
    pred = rng.normal(size=(4, 12)).astype("float32")
    mu, log_s = pred[:, :6], pred[:, 6:]
    expected = np.mean(0.5 * ((y - mu) / np.exp(log_s)) ** 2 + log_s, axis=1)
    got = keras.ops.convert_to_numpy(emulator.gaussian_nll(y, pred))
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_tiny_training_lowers_the_loss_and_predicts_physical_units(sersic_mocks):
    t = sersic_mocks.truth
    model, metrics = emulator.train(sersic_mocks.images, t, seed=1, config=TINY)
    loss = metrics["history"]["loss"]
    assert loss[-1] < loss[0]
    assert metrics["n_validation"] == 10
    pred = emulator.predict(model, sersic_mocks.images[:7],
                            psf_fwhm_arcsec=t["psf_fwhm_arcsec"][:7], sky_sigma=t["sky_sigma"][:7])
    expected = {"mag", "mag_err", "r_eff_arcsec", "r_eff_err", "sersic_n", "sersic_n_err",
                "axis_ratio", "axis_ratio_err", "pa_deg", "pa_err_deg", "mag_sum"}
    assert expected <= set(pred)
    for v in pred.values():
        assert v.shape == (7,) and np.all(np.isfinite(v))
    assert np.all(pred["mag_err"] > 0) and np.all((pred["pa_deg"] >= 0) & (pred["pa_deg"] < 180))
    # the magnitude is anchored on the flux sum, so even a barely trained net is close
    assert np.median(np.abs(pred["mag"] - t["mag"][:7])) < 0.3


def test_saved_model_reloads_with_identical_predictions(tmp_path, sersic_mocks):
    model = emulator.build_emulator(TINY)
    path = tmp_path / "emulator.keras"
    model.save(path)
    again = keras.models.load_model(path, compile=False)
    imgs = sersic_mocks.images[:3]
    a = emulator.predict(model, imgs, sky_sigma=0.003)
    b = emulator.predict(again, imgs, sky_sigma=0.003)
    np.testing.assert_allclose(a["mag"], b["mag"], rtol=1e-6)
