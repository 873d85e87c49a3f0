"""Every balancer trains a tiny MMoE inside ``fit``; task-specific and missing-label behaviour."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo

FEATURES = [{"name": "x", "kind": "dense", "dim": 6}]
TASKS = [{"name": "y1", "kind": "regression"}, {"name": "y2", "kind": "binary"}]
SPECS = {
    "static": "static",
    "uncertainty": "uncertainty",
    "dwa": "dwa",
    "gradnorm": "gradnorm",
    "pcgrad": "pcgrad",
    "cagrad": "cagrad",
    "mgda": "mgda",
    "mgda_ub": {"name": "mgda", "representation": True},
    "nash_mtl": "nash_mtl",
    "famo": "famo",
}
GRADIENT_METHODS = ["pcgrad", "cagrad", "mgda", "nash_mtl"]


def _model(balancer, optimizer=None):
    keras.utils.set_random_seed(0)
    model = zoo.create("mmoe", features=FEATURES, tasks=TASKS, num_experts=2, expert_units=[4], tower_units=[3])
    model.compile(optimizer or keras.optimizers.Adam(0.01), balancer=balancer, jit_compile=False)
    return model


def _data(n=64, missing_y2=False):
    rng = np.random.default_rng(0)
    x = {"x": rng.normal(size=(n, 6)).astype("float32")}
    y1 = (x["x"][:, :1] * 2.0).astype("float32")
    y2 = (x["x"][:, 1:2] > 0).astype("float32")
    if missing_y2:
        y2 = np.full_like(y2, np.nan)
    return x, {"y1": y1, "y2": y2}


def _task_vars(model, task):
    return [v for v in model.trainable_variables if v.path.startswith((f"zoo__tower_{task}/", f"{task}/"))]


@pytest.mark.parametrize("name", list(SPECS))
def test_balancer_trains_with_finite_losses(name):
    model = _model(SPECS[name])
    x, y = _data()
    before = [v.numpy().copy() for v in model.trainable_variables]
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0).history
    for key in ("loss", "y1_loss", "y2_loss"):
        assert np.all(np.isfinite(history[key])), (key, history[key])
    assert history["y1_loss"][-1] < history["y1_loss"][0]
    changed = [not np.allclose(b, v.numpy()) for b, v in zip(before, model.trainable_variables, strict=False)]
    assert all(changed)
    weights = [history[f"balancer/weight/{t}"] for t in ("y1", "y2")]
    assert np.all(np.isfinite(weights))


@pytest.mark.parametrize("name", GRADIENT_METHODS)
def test_task_specific_variables_get_their_own_task_gradient(name):
    lr = 0.1
    model = _model(SPECS[name], keras.optimizers.SGD(lr))
    x, y = _data(16)
    tower = _task_vars(model, "y1")
    before = [v.numpy().copy() for v in tower]
    with tf.GradientTape() as tape:
        losses = model._task_losses(y, model(x, training=True))
        own = losses[0]
    expected = tape.gradient(own, tower)
    model.train_on_batch(x, y)
    for b, v, g in zip(before, tower, expected, strict=False):
        np.testing.assert_allclose(v.numpy(), b - lr * g.numpy(), atol=1e-6)


@pytest.mark.parametrize("name", list(SPECS))
def test_task_without_labels_has_zero_loss_and_untouched_tower(name):
    model = _model(SPECS[name], keras.optimizers.SGD(0.1))
    x, y = _data(16, missing_y2=True)
    tower = _task_vars(model, "y2")
    assert tower
    before = [v.numpy().copy() for v in tower]
    logs = model.train_on_batch(x, y, return_dict=True)
    assert logs["y2_loss"] == 0.0
    assert np.isfinite(logs["loss"]) and np.isfinite(logs["y1_loss"])
    for b, v in zip(before, tower, strict=False):
        np.testing.assert_array_equal(v.numpy(), b)
    assert all(np.all(np.isfinite(v.numpy())) for v in model.trainable_variables)


def test_balancer_state_round_trips_through_keras_file_but_not_savedmodel(tmp_path):
    model = _model("uncertainty")
    x, y = _data()
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    state = model.balancer.log_vars.numpy()
    assert not np.allclose(state, 0.0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.balancer.log_vars.numpy(), state)
    assert float(loaded.balancer.adam_step.numpy()) == float(model.balancer.adam_step.numpy()) > 0
    checkpoint = tf.train.Checkpoint(model=model).write(str(tmp_path / "ckpt" / "c"))
    assert any("balancer" in name for name, _ in tf.train.list_variables(checkpoint))
    tf.saved_model.save(model, str(tmp_path / "sm"))
    names = [name for name, _ in tf.train.list_variables(str(tmp_path / "sm" / "variables" / "variables"))]
    assert names and not any("balancer" in name for name in names)


def test_gradnorm_uses_the_last_shared_layer_and_renormalises():
    model = _model("gradnorm")
    assert model.last_shared_layer().name == "zoo__experts"
    x, y = _data()
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    w = model.balancer.task_weights().numpy()
    assert abs(w.sum() - 2.0) < 1e-5 and np.all(w > 0) and not np.allclose(w, 1.0)
