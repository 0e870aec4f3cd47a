"""Morphology network: exact rotation/flip invariance, valid probabilities, fine-tuning."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from galcat.models.galaxy import morphology  # noqa: E402
from galcat.models.galaxy.augment import D4_ELEMENTS, d4  # noqa: E402
from galcat.models.galaxy.mock import make_mocks  # noqa: E402
from galcat.vocabulary import CANDELS_FLAGS  # noqa: E402

TINY = morphology.MorphologyConfig(filters=(4, 8), dense_units=8, epochs=3, batch_size=32,
                                   learning_rate=3e-3, run_eagerly=True)


@pytest.fixture(scope="module")
def trained():
    mocks = make_mocks(64, seed=8)
    model, metrics = morphology.train(mocks.images, mocks.truth, seed=0, config=TINY)
    return mocks, model, metrics


def _kw(truth, idx):
    return {"psf_fwhm_arcsec": truth["psf_fwhm_arcsec"][idx], "sky_sigma": truth["sky_sigma"][idx]}


def test_loss_falls_and_outputs_are_probabilities(trained):
    mocks, model, metrics = trained
    assert metrics["loss"][-1] < metrics["loss"][0]
    out = morphology.predict(model, mocks.images[:6], **_kw(mocks.truth, slice(0, 6)))
    assert set(CANDELS_FLAGS) <= set(out)
    for flag in CANDELS_FLAGS:
        assert np.all((out[flag] >= 0) & (out[flag] <= 1))
    total = out["p_bulge"] + out["p_disk"] + out["p_bulge_disk"]
    np.testing.assert_allclose(total, 1.0, atol=1e-5)


def test_answers_are_invariant_under_rotation_and_flip(trained):
    mocks, model, _ = trained
    imgs = mocks.images[:5]
    kw = _kw(mocks.truth, slice(0, 5))
    ref = morphology.predict(model, imgs, **kw)
    for k, flip in [(1, True), (1, False), (2, True), (3, False)]:
        other = morphology.predict(model, d4(imgs, k, flip), **kw)
        for name in ref:
            np.testing.assert_allclose(other[name], ref[name], atol=1e-5, rtol=0)


def test_single_view_model_alone_is_not_invariant(trained):
    # guards the test above: without D4 averaging, a rotated input changes the answer
    mocks, model, _ = trained
    from galcat.models.galaxy.preprocess import network_inputs

    x = network_inputs(mocks.images[:5], **_kw(mocks.truth, slice(0, 5)))
    a = model(x.as_dict())["candels"]
    rotated = {"image": d4(x.image, 1, True, axes=(1, 2)), "scalars": x.scalars}
    b = model(rotated)["candels"]
    assert np.max(np.abs(keras.ops.convert_to_numpy(a) - keras.ops.convert_to_numpy(b))) > 1e-6


def test_d4_views_layer_stacks_the_eight_group_elements():
    from galcat.models.galaxy.nets import D4Views

    x = np.random.default_rng(0).normal(size=(2, 6, 6, 1)).astype("float32")
    views = keras.ops.convert_to_numpy(D4Views()(x)).reshape(8, 2, 6, 6, 1)
    expected = {d4(x, k, f, axes=(1, 2)).tobytes() for k, f in D4_ELEMENTS}
    assert {v.tobytes() for v in views} == expected


def test_finetune_head_only_keeps_the_encoder(trained):
    mocks, model, _ = trained
    labels = (mocks.truth["kind"] == "irregular").astype("float32")
    before = [w.copy() for w in model.get_layer("morph_conv0a").get_weights()]
    tuned = morphology.finetune(model, mocks.images, labels, epochs=2, seed=1,
                                run_eagerly=True, **_kw(mocks.truth, slice(None)))
    encoder = tuned.get_layer("pretrained_encoder")
    for a, b in zip(before, encoder.get_layer("morph_conv0a").get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(before, model.get_layer("morph_conv0a").get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    out = morphology.predict(tuned, mocks.images[:4], **_kw(mocks.truth, slice(0, 4)))
    assert out["head"].shape == (4, 1)
    assert np.all((out["head"] >= 0) & (out["head"] <= 1))


def test_full_finetune_moves_the_encoder(trained):
    mocks, model, _ = trained
    labels = np.stack([mocks.truth["f_disk"], mocks.truth["f_spheroid"]], axis=1)
    tuned = morphology.finetune(model, mocks.images[:32], labels[:32], train_head_only=False,
                                epochs=1, learning_rate=1e-2, run_eagerly=True,
                                **_kw(mocks.truth, slice(0, 32)))
    after = tuned.get_layer("pretrained_encoder").get_layer("morph_conv0a").get_weights()[0]
    assert not np.allclose(after, model.get_layer("morph_conv0a").get_weights()[0])


def test_objects_without_a_bulge_disk_class_add_no_class_loss():
    onehot = morphology._one_hot(np.array([0, 2, -1]))
    np.testing.assert_array_equal(onehot, [[1, 0, 0], [0, 0, 1], [0, 0, 0]])
    cce = keras.losses.CategoricalCrossentropy(reduction=None)
    probs = np.full((3, 3), 1 / 3, dtype="float32")
    losses = keras.ops.convert_to_numpy(cce(onehot, probs))
    assert losses[2] == 0.0 and losses[0] > 0
