"""Blue-nugget phase network on simulated galaxies: data set, three heads, masked losses,
scores on hand-made answers, and a safe-mode ``.keras`` round trip."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from galcat.models.galaxy.augment import d4  # noqa: E402
from galcat.models.simulation import phases, scores  # noqa: E402
from galcat.models.simulation.dataset import (  # noqa: E402
    LABEL_DTYPE,
    data_fingerprint,
    mixed_histories,
    mock_set,
)
from galcat.models.simulation.history import CAUSES, PHASES, make_history  # noqa: E402

TINY = phases.PhaseNetConfig(filters=(4, 8), dense_units=8, epochs=2, batch_size=32,
                             learning_rate=3e-3, run_eagerly=True)
HEADS = ("phase", "cause", "time_since_merger")


@pytest.fixture(scope="module")
def sim() -> Any:
    return mock_set(mixed_histories([7, 8, 9]), n_cameras=2)


@pytest.fixture(scope="module")
def trained(sim: Any) -> Any:
    return phases.train(sim.images, sim.labels, seed=3, config=TINY)


def test_mock_set_labels_follow_the_simulation_truth(sim: Any) -> None:
    assert sim.images.shape == (len(sim.labels), 64, 64) and sim.images.dtype == np.float32
    assert sim.labels.dtype == LABEL_DTYPE and sim.histories == ("compaction", "merger", "quiet")
    for g, (seed, history) in enumerate(mixed_histories([7, 8, 9])):
        truth = make_history(f"{history}-{seed}", seed, history)
        assert sim.bn_time_gyr[g] == truth.bn_time_gyr
        rows = sim.labels[sim.labels["galaxy"] == g]
        for s in truth.snapshots:
            row = rows[(rows["snapshot"] == s.snapshot_index) & (rows["camera"] == 1)][0]
            assert PHASES[row["phase"]] == s.phase and row["time_gyr"] == s.time_gyr
            assert row["cause"] == (-1 if s.compaction_cause is None
                                    else CAUSES.index(s.compaction_cause))
            if s.time_since_merger_gyr is None:
                assert np.isnan(row["time_since_merger_gyr"])
            else:
                assert row["time_since_merger_gyr"] == s.time_since_merger_gyr
    merger = sim.labels[sim.labels["galaxy"] == 1]
    assert set(merger["cause"]) == {-1, 1} and np.isfinite(merger["time_since_merger_gyr"]).any()
    assert np.isnan(sim.labels[sim.labels["galaxy"] == 2]["time_since_merger_gyr"]).all()


def test_fingerprint_is_reproducible_and_sees_every_pixel(sim: Any) -> None:
    again = mock_set([(9, "quiet")], n_cameras=2)
    assert data_fingerprint(again) == data_fingerprint(mock_set([(9, "quiet")], n_cameras=2))
    changed = again.images.copy()
    changed[5, 10, 10] += 1e-3
    altered = type(again)(changed, again.labels, again.names, again.histories, again.seeds,
                          again.bn_time_gyr)
    assert data_fingerprint(altered) != data_fingerprint(again)


def test_all_three_heads_train(sim: Any, trained: Any) -> None:
    model, history = trained
    for head in HEADS:
        losses = history[f"{head}_loss"]
        assert len(losses) == TINY.epochs and np.all(np.isfinite(losses))
    untrained, _ = phases.train(sim.images, sim.labels, seed=3, config=replace(TINY, epochs=0))
    keras.utils.set_random_seed(3)
    fresh = phases.build_phase_net(TINY)
    for head in HEADS:
        np.testing.assert_array_equal(untrained.get_layer(head).get_weights()[0],
                                      fresh.get_layer(head).get_weights()[0])
        before = untrained.get_layer(head).get_weights()[0]
        assert np.max(np.abs(model.get_layer(head).get_weights()[0] - before)) > 1e-5, head
    assert history["n_cause_defined"] == int((sim.labels["cause"] >= 0).sum())


def test_predictions_have_the_right_shapes_ranges_and_symmetry(sim: Any, trained: Any) -> None:
    model, _ = trained
    idx = slice(0, 7)
    out = phases.predict_set(model, sim.images[idx], sim.labels[idx])
    assert set(out) == {"p_pre_bn", "p_bn", "p_post_bn", "p_merger_cause",
                        "time_since_merger_gyr", "time_since_merger_err_gyr"}
    for values in out.values():
        assert values.shape == (7,) and np.all(np.isfinite(values))
    for name in ("p_pre_bn", "p_bn", "p_post_bn", "p_merger_cause"):
        assert np.all((out[name] >= 0) & (out[name] <= 1))
    np.testing.assert_allclose(out["p_pre_bn"] + out["p_bn"] + out["p_post_bn"], 1.0, atol=1e-5)
    assert np.all(out["time_since_merger_err_gyr"] > 0)
    turned = phases.predict_set(model, d4(sim.images[idx], 1, True), sim.labels[idx])
    for name, values in out.items():
        np.testing.assert_allclose(turned[name], values, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="redshift"):
        phases.predict(model, sim.images[idx])


def test_undefined_labels_give_no_loss_whatever_their_values() -> None:
    y = np.array([[55.0, 0.0], [1.0, 1.0]], dtype="float32")  # (value, defined)
    for fn, width in ((phases.masked_gaussian_nll, 2), (phases.masked_binary_crossentropy, 1)):
        a = keras.ops.convert_to_numpy(fn(y, np.array([[0.3, -1.0], [2.0, 0.5]],
                                                      "float32")[:, :width]))
        b = keras.ops.convert_to_numpy(fn(y, np.array([[-4.0, 3.0], [2.0, 0.5]],
                                                      "float32")[:, :width]))
        assert a[0] == 0.0 and b[0] == 0.0
        assert a[1] == b[1] and a[1] != 0.0
    nll = keras.ops.convert_to_numpy(phases.masked_gaussian_nll(
        np.array([[1.0, 1.0]], "float32"), np.array([[0.0, np.log(4.0)]], "float32")))
    np.testing.assert_allclose(nll, [0.5 * 1.0 / 4.0 + 0.5 * np.log(4.0)], rtol=1e-6)
    bce = keras.ops.convert_to_numpy(phases.masked_binary_crossentropy(
        np.array([[1.0, 1.0], [0.0, 1.0]], "float32"), np.array([[0.0], [2.0]], "float32")))
    np.testing.assert_allclose(bce, [np.log(2.0), np.log1p(np.exp(2.0))], rtol=1e-6)


def test_the_compiled_model_ignores_undefined_targets(sim: Any, trained: Any) -> None:
    model, _ = trained
    labels = sim.labels[:64]
    x = phases.model_inputs(sim.images[:64], redshift=labels["redshift"], use_redshift=True,
                            zero_point=labels["zero_point"],
                            psf_fwhm_arcsec=labels["psf_fwhm_arcsec"],
                            sky_sigma=labels["sky_sigma"])
    y = phases.encode_targets(labels)
    undefined = y["time_since_merger"][:, 1] == 0
    assert undefined.any() and (y["cause"][:, 1] == 0).any()
    assert np.all(y["time_since_merger"][undefined, 0] == 0.0)
    garbage = {k: v.copy() for k, v in y.items()}
    garbage["time_since_merger"][undefined, 0] = 40.0
    garbage["cause"][y["cause"][:, 1] == 0, 0] = 1.0
    a = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
    b = model.evaluate(x, garbage, batch_size=64, verbose=0, return_dict=True)
    assert a == pytest.approx(b, rel=1e-6)
    defined = {k: v.copy() for k, v in garbage.items()}
    defined["time_since_merger"][undefined, 1] = 1.0
    c = model.evaluate(x, defined, batch_size=64, verbose=0, return_dict=True)
    assert c["time_since_merger_loss"] > 10 * abs(a["time_since_merger_loss"]) + 1.0


def test_the_model_round_trips_through_a_safe_mode_keras_file(sim: Any, trained: Any,
                                                             tmp_path: Path) -> None:
    model, _ = trained
    path = tmp_path / "bn_phases.keras"
    model.save(path)
    idx = slice(0, 5)
    ref = phases.predict_set(model, sim.images[idx], sim.labels[idx])
    for compile_ in (True, False):
        loaded = keras.saving.load_model(path, safe_mode=True, compile=compile_)
        out = phases.predict_set(loaded, sim.images[idx], sim.labels[idx])
        for name, values in ref.items():
            np.testing.assert_allclose(out[name], values, atol=1e-6, rtol=1e-6)


# --- scores on hand-made answers ----------------------------------------------------------


def _hand_made(n_cameras: int = 3) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Two galaxies of 20 snapshots; BN = snapshots 8..11 (galaxy 0) and 12..13 (galaxy 1)."""
    rows = []
    windows = {0: (8, 11), 1: (12, 13)}
    times = 1.0 + 0.2 * np.arange(20)
    for g, (a, b) in windows.items():
        for s in range(20):
            phase = 0 if s < a else 1 if s <= b else 2
            cause = -1 if s < a - 2 else g
            tsm = np.nan if g == 0 or s < a - 2 else times[s] - times[a - 2]
            rows += [(g, s, c, phase, cause, tsm, 2.0, times[s], 20.0 + 50.0 * c, 25.9,
                      0.18, 0.01) for c in range(n_cameras)]
    labels = np.array(rows, dtype=LABEL_DTYPE)
    bn_true = np.array([0.5 * (times[7] + times[8] + times[11] + times[12]) / 2.0,
                        0.5 * (times[11] + times[12] + times[13] + times[14]) / 2.0])
    onehot = np.eye(3)[labels["phase"]]
    tsm_true = labels["time_since_merger_gyr"]
    pred = {"p_pre_bn": onehot[:, 0], "p_bn": onehot[:, 1], "p_post_bn": onehot[:, 2],
            "p_merger_cause": np.where(labels["cause"] == 1, 0.9, 0.1),
            "time_since_merger_gyr": np.nan_to_num(tsm_true) + 0.1,
            "time_since_merger_err_gyr": np.full(labels.size, 0.1)}
    return labels, pred, bn_true


def test_a_perfect_answer_scores_perfectly() -> None:
    labels, pred, bn_true = _hand_made()
    s = scores.score_phases(pred, labels, bn_true)
    assert s["phase_accuracy_camera"] == 1.0 and s["phase_accuracy_snapshot"] == 1.0
    assert s["cause_accuracy_snapshot"] == 1.0 and s["n_snapshots"] == 40
    np.testing.assert_allclose(s["bn"]["delta_gyr"], 0.0, atol=1e-12)
    assert s["bn_max_abs_offset_t_hubble"] < 1e-12
    np.testing.assert_array_equal(np.diag(s["confusion_snapshot"]), [8 + 12, 4 + 2, 8 + 6])
    assert s["confusion_camera"].sum() == labels.size and np.count_nonzero(
        s["confusion_camera"] - np.diag(np.diag(s["confusion_camera"]))) == 0
    assert s["time_since_merger"]["median_abs_gyr"] == pytest.approx(0.1)
    assert s["time_since_merger"]["pull_std"] == pytest.approx(0.0, abs=1e-9)
    assert set(scores.missed_targets(s)) == {"time_since_merger_pull_std"}


def test_confusion_matrix_and_snapshot_medians() -> None:
    true = np.array([0, 0, 1, 1, 1, 2, 2])
    predicted = np.array([0, 1, 1, 2, 1, 2, 0])
    np.testing.assert_array_equal(scores.confusion_matrix(true, predicted),
                                  [[1, 1, 0], [0, 2, 1], [1, 0, 1]])
    first, med = scores.per_snapshot(np.array([0.1, 0.9, 0.8, 0.3, 0.2, 0.4]),
                                     np.array([1, 1, 1, 0, 0, 0]), np.array([0, 0, 0, 4, 4, 5]))
    np.testing.assert_array_equal(first, [3, 5, 0])
    np.testing.assert_allclose(med, [0.25, 0.4, 0.8])


def test_camera_noise_is_outvoted_per_snapshot() -> None:
    labels, pred, bn_true = _hand_made(n_cameras=3)
    wrong = labels["camera"] == 0
    for key in ("p_pre_bn", "p_bn", "p_post_bn"):
        pred[key] = np.where(wrong, 1.0 / 3.0 + (key == "p_bn") * 1e-3, pred[key])
    s = scores.score_phases(pred, labels, bn_true)
    assert s["phase_accuracy_camera"] == pytest.approx(1.0 - 34 / 120)
    assert s["phase_accuracy_snapshot"] == 1.0 and s["bn_max_abs_offset_t_hubble"] < 1e-12


def test_bn_time_ignores_a_stray_vote_and_is_measured_in_hubble_times() -> None:
    times = np.linspace(1.0, 4.8, 20)
    p = np.tile([0.9, 0.05, 0.05], (20, 1))
    p[10:] = [0.05, 0.05, 0.9]
    p[8:10] = [0.1, 0.8, 0.1]
    p[17] = [0.1, 0.8, 0.1]
    assert scores.bn_window(times, p) == (8, 9)
    assert scores.bn_time_from_phases(times, p) == pytest.approx(0.5 * (times[7] + times[10])
                                                                 / 2 + 0.25 * (times[8] + times[9]))
    assert float(scores.hubble_time_gyr(0.0)) == pytest.approx(977.79 / 67.66, rel=1e-3)
    assert scores.redshift_at_time(3.3) == pytest.approx(2.0, abs=0.05)


def test_inclinations_fold_onto_0_to_90_degrees() -> None:
    rows = scores.accuracy_by_inclination(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]),
                                          np.array([10.0, 170.0, 120.0, 90.0]))
    assert [r["n"] for r in rows] == [2, 0, 2]
    assert rows[0]["accuracy"] == 0.5 and rows[2]["accuracy"] == 1.0 and np.isnan(
        rows[1]["accuracy"])


def test_time_since_merger_pulls() -> None:
    out = scores.time_since_merger_scores(np.array([1.0, 2.0, 0.0, 9.0]),
                                          np.array([1.0, 0.5, 2.0, 1.0]),
                                          np.array([0.0, 2.5, 1.0, np.nan]))
    assert out["n"] == 3 and out["median_abs_gyr"] == pytest.approx(1.0)
    assert out["pull_std"] == pytest.approx(np.std([1.0, -1.0, -0.5]))
    assert out["coverage_1sigma"] == 1.0
