"""Diagnostics: gradient conflict statistics, gate usage, the Keras callback and the plots."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

import zoo
from zoo.training.callbacks import BalancerCallback, TaskDiagnostics, with_zoo_callbacks
from zoo.training.diagnostics import entropy, gate_logs, gradient_logs, norms_and_cosines
from zoo.training.plots import save_training_plots

FEATURES = [{"name": "x", "kind": "dense", "dim": 5}]
TASKS = [{"name": "a", "kind": "regression"}, {"name": "b", "kind": "regression"}]


def test_norms_and_cosines_on_hand_vectors():
    norms, cos = norms_and_cosines(tf.constant([[3.0, 0.0], [-1.0, 1.0], [0.0, 0.0]]))
    np.testing.assert_allclose(norms.numpy(), [3.0, np.sqrt(2.0), 0.0], rtol=1e-6)
    np.testing.assert_allclose(cos.numpy()[0, 1], -1 / np.sqrt(2.0), rtol=1e-6)
    assert cos.numpy()[0, 2] == 0.0  # a zero gradient has no direction: 0, not NaN


def test_conflict_rate_is_the_share_of_negative_cosines():
    cos = np.zeros((4, 2, 2))
    cos[:, 0, 1] = [-0.5, 0.2, -0.1, 0.3]
    logs = gradient_logs(["a", "b"], np.ones((4, 2)), cos)
    assert logs["grad/conflict_rate/a/b"] == 0.5
    np.testing.assert_allclose(logs["grad/cos/a/b"], -0.025)
    assert logs["grad/norm/a"] == 1.0


def test_gate_entropy_shows_collapse():
    assert abs(entropy([0.25] * 4) - np.log(4)) < 1e-12
    assert entropy([1.0, 0.0, 0.0]) == 0.0
    logs = gate_logs({"zoo__gate_a": np.array([0.5, 0.5])})
    assert logs["gate/gate_a/usage/1"] == 0.5 and abs(logs["gate/gate_a/entropy"] - np.log(2)) < 1e-12


def _fit(architecture="mmoe", epochs=2, extra_callbacks=()):
    keras.utils.set_random_seed(0)
    model = zoo.create(architecture, features=FEATURES, tasks=TASKS, num_experts=3, expert_units=[4], tower_units=[3])
    model.compile(keras.optimizers.Adam(0.01), balancer="static", jit_compile=False)
    rng = np.random.default_rng(0)
    x = {"x": rng.normal(size=(64, 5)).astype("float32")}
    y = {"a": x["x"][:, :1].copy(), "b": -x["x"][:, :1].copy()}  # opposed targets
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    diag = TaskDiagnostics(data, num_batches=2)
    history = model.fit(data, epochs=epochs, verbose=0, callbacks=[*extra_callbacks, diag]).history
    return model, history


def test_callback_logs_diagnostics_into_history(tmp_path):
    _, history = _fit(epochs=2, extra_callbacks=[keras.callbacks.CSVLogger(str(tmp_path / "log.csv"))])
    for key in ("grad/cos/a/b", "grad/conflict_rate/a/b", "grad/norm/a", "grad/norm/b",
                "balancer/weight/a", "balancer/weight/b"):
        assert len(history[key]) == 2, key
    assert all(-1.0 <= c <= 1.0 for c in history["grad/cos/a/b"])
    assert all(r in (0.0, 0.5, 1.0) for r in history["grad/conflict_rate/a/b"])  # 2 measured batches
    gates = {k.split("/")[1] for k in history if k.startswith("gate/")}
    assert len(gates) == 2  # one gate per task in MMoE
    for gate in gates:
        usage = sum(np.array(history[f"gate/{gate}/usage/{e}"]) for e in range(3))
        np.testing.assert_allclose(usage, 1.0, rtol=1e-5)
        assert all(0.0 <= h <= np.log(3) + 1e-6 for h in history[f"gate/{gate}/entropy"])
    header = (tmp_path / "log.csv").read_text().splitlines()[0]
    assert "grad/cos/a/b" in header  # zoo callbacks run before other loggers


def test_zoo_callbacks_go_first_and_balancer_hook_is_added_once():
    tb = keras.callbacks.TensorBoard()
    diag = TaskDiagnostics((None, None))
    out = with_zoo_callbacks([tb, diag])
    assert isinstance(out[0], BalancerCallback) and out[1] is diag and out[2] is tb
    assert sum(isinstance(c, BalancerCallback) for c in with_zoo_callbacks(out)) == 1


def test_plots_are_written(tmp_path):
    _, history = _fit(epochs=2)
    written = save_training_plots(history, tmp_path)
    names = sorted(p.split("/")[-1] for p in written)
    assert names == ["balancer_weights.png", "gate_usage.png", "gradient_conflict.png"]
    for p in written:
        assert open(p, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert save_training_plots({"loss": [1.0]}, tmp_path / "empty") == []
