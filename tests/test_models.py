"""Every ranking model builds, trains, keeps the dict contract and round-trips through .keras."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.conftest import RANKING_MODELS, SMALL_HPARAMS, TINY_FEATURES, tasks_for, tiny_batch


def _ds(x, y, batch=8):
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch)


@pytest.mark.parametrize("name", RANKING_MODELS)
def test_build_train_and_safe_mode_round_trip(name, tmp_path):
    tasks = tasks_for(name)
    model = zoo.create(name, TINY_FEATURES, tasks, **SMALL_HPARAMS[name])
    assert isinstance(model, zoo.MultiTaskModel)
    assert sorted(model.input) == ["dense", "history", "user"]
    x, y = tiny_batch(32, tasks=tasks)
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    history = model.fit(_ds(x, y), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    preds = model.predict(x, verbose=0)
    expected = {t["name"] for t in tasks} | ({"ctcvr"} if name == "esmm" else set())
    assert set(preds) == expected
    for p in preds.values():
        assert p.shape == (32, 1) and p.dtype == np.float32
        assert np.isfinite(p).all()
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, zoo.MultiTaskModel)
    assert loaded.architecture == name and loaded.hparams == model.hparams
    assert loaded.task_specs == model.task_specs and loaded.feature_specs == model.feature_specs
    again = loaded.predict(x, verbose=0)
    for t in preds:
        np.testing.assert_array_equal(preds[t], again[t])


def test_oov_ids_never_index_out_of_range():
    model = zoo.create("mmoe", TINY_FEATURES, tasks_for("mmoe"), **SMALL_HPARAMS["mmoe"])
    x, _ = tiny_batch(4)
    x["user"] = np.array([[-100], [7], [10**12], [3]], dtype="int64")
    x["history"] = np.array([[-1, 99, 0], [0, 0, 0], [10**9, 1, 2], [6, 6, 6]], dtype="int64")
    preds = model.predict(x, verbose=0)
    assert all(np.isfinite(v).all() for v in preds.values())


def test_oov_ids_share_the_oov_row():
    """Every out-of-vocabulary id (with one OOV bucket) gets the same prediction."""
    model = zoo.create("shared_bottom", TINY_FEATURES, tasks_for("shared_bottom"), **SMALL_HPARAMS["shared_bottom"])
    x, _ = tiny_batch(3)
    x = {k: np.repeat(v[:1], 3, axis=0) for k, v in x.items()}
    x["user"] = np.array([[-5], [7], [123456]], dtype="int64")
    preds = model.predict(x, verbose=0)
    for v in preds.values():
        np.testing.assert_allclose(v[0], v[1], rtol=0, atol=0)
        np.testing.assert_allclose(v[0], v[2], rtol=0, atol=0)


def test_esmm_ctcvr_is_the_product_of_probabilities():
    model = zoo.create("esmm", TINY_FEATURES, tasks_for("esmm"), **SMALL_HPARAMS["esmm"])
    x, _ = tiny_batch(16)
    p = model.predict(x, verbose=0)
    np.testing.assert_allclose(p["ctcvr"], p["ctr"] * p["cvr"], rtol=1e-6, atol=1e-7)
    assert {t.name: t.weight for t in model.task_specs} == {"ctr": 1.0, "cvr": 0.0, "ctcvr": 1.0}


def test_esmm_does_not_supervise_cvr_directly():
    """CVR labels exist only on clicks; ESMM must learn CVR through ctcvr on all impressions."""
    model = zoo.create("esmm", TINY_FEATURES, tasks_for("esmm"), **SMALL_HPARAMS["esmm"])
    assert [t.name for t in model.loss_tasks] == ["ctr", "ctcvr"]


def test_aitm_calibrator_adds_its_penalty_only_in_training():
    model = zoo.create("aitm", TINY_FEATURES, tasks_for("aitm"), calibrator_weight=5.0, **SMALL_HPARAMS["aitm"])
    x, _ = tiny_batch(16)
    model(x, training=True)
    assert len(model.losses) == 1 and float(model.losses[0]) >= 0.0
    out = model(x, training=True)
    penalty = 5.0 * np.mean(np.maximum(out["cvr"].numpy() - out["ctr"].numpy(), 0.0))
    np.testing.assert_allclose(float(model.losses[0]), penalty, rtol=1e-5, atol=1e-7)
    no_cal = zoo.create("aitm", TINY_FEATURES, tasks_for("aitm"), calibrator_weight=0.0, **SMALL_HPARAMS["aitm"])
    no_cal(x, training=True)
    assert not no_cal.losses


def test_mixture_experts_are_one_fused_matmul():
    model = zoo.create("mmoe", TINY_FEATURES, tasks_for("mmoe"), num_experts=5, expert_units=[6], tower_units=[4])
    banks = [layer for layer in model.layers if isinstance(layer, zoo.layers.ExpertBank)]
    assert len(banks) == 1
    assert not any(isinstance(layer, keras.layers.Dense) and "expert" in layer.name for layer in model.layers)
    kernel = banks[0].kernels[0]
    assert tuple(kernel.shape)[1] == 5 * 6


def test_gate_model_shares_layers_and_gives_distributions():
    model = zoo.create("ple", TINY_FEATURES, tasks_for("ple"), **SMALL_HPARAMS["ple"])
    gates = model.gate_model()
    x, _ = tiny_batch(8)
    out = gates.predict(x, verbose=0)
    assert set(out) == set(model.gate_layers)
    for w in out.values():
        np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-5)
    assert all(any(v is w for w in model.weights) for v in gates.weights)
    assert zoo.create("shared_bottom", TINY_FEATURES, tasks_for("shared_bottom")).gate_model() is None


def test_cross_stitch_starts_at_the_papers_initialisation():
    model = zoo.create("cross_stitch", TINY_FEATURES, tasks_for("cross_stitch"), **SMALL_HPARAMS["cross_stitch"])
    unit = model.get_layer("zoo__stitch0")
    np.testing.assert_allclose(unit.alpha.numpy(), [[0.9, 0.1], [0.1, 0.9]], atol=1e-7)


def test_single_task_shares_nothing():
    model = zoo.create("single_task", TINY_FEATURES, tasks_for("single_task"), **SMALL_HPARAMS["single_task"])
    x, y = tiny_batch(16)
    with tf.GradientTape(persistent=True) as tape:
        out = model(x, training=True)
        l1 = tf.reduce_sum(out["ctr"])
        l2 = tf.reduce_sum(out["gate"])
    g1 = tape.gradient(l1, model.trainable_variables)
    g2 = tape.gradient(l2, model.trainable_variables)
    for a, b in zip(g1, g2):
        assert a is None or b is None
